import FleetContract
import FleetCore

/// What `career.progress.recalculate` writes to a `user_career_progress` row.
public struct CareerProgress: Sendable, Equatable {
    public static let completed = "completed"
    public static let inProgress = "in_progress"

    public let completionPercentage: Int
    /// The first incomplete milestone by `order_sequence`; nil when none is incomplete.
    public let currentMilestoneId: String?
    public let status: String

    public init(completionPercentage: Int, currentMilestoneId: String?, status: String) {
        self.completionPercentage = completionPercentage
        self.currentMilestoneId = currentMilestoneId
        self.status = status
    }

    /// `completion_percentage` = round(100 * complete / total), half up; `status` completed when every
    /// milestone is. A path without milestones has nothing achieved yet: 0 and in_progress, no
    /// current milestone (a path whose milestones are still being written must not read "completed").
    public static func compute(milestones: [CareerMilestone], verifiedTenths: [String: Int]) -> CareerProgress {
        guard !milestones.isEmpty else {
            return CareerProgress(completionPercentage: 0, currentMilestoneId: nil, status: inProgress)
        }
        let ordered = milestones.sorted { lhs, rhs in
            switch (lhs.order, rhs.order) {
            case let (left?, right?) where left != right: return left < right
            case (.some, nil): return true
            case (nil, .some): return false
            default: return lhs.milestoneId < rhs.milestoneId
            }
        }
        let complete = ordered.map { $0.isComplete(verifiedTenths: verifiedTenths) }
        let done = complete.filter { $0 }.count
        let total = ordered.count
        let current = zip(ordered, complete).first { !$0.1 }?.0.milestoneId
        return CareerProgress(
            completionPercentage: (200 * done + total) / (2 * total),
            currentMilestoneId: current,
            status: done == total ? completed : inProgress
        )
    }
}
