import FleetContract
import FleetCore
import Foundation

/// What the fleet remembers of the jobs that reached one enrollment (one user, one course), so the
/// enrollment ends the same whatever order its jobs are processed in.
///
/// The rule: the enrollment is what applying its jobs one by one in ``JobStamp`` order (created_at,
/// ties by id) with ``EnrollmentTransition/apply(_:progress:to:)`` would give. A `drop` processed
/// before its earlier `enroll` therefore ends dropped, not enrolled.
///
/// Replaying every job would need them all; a handful of stamps is enough: the first job that
/// creates the row (any action but `drop`), the latest progress, complete and drop, the first
/// `complete`, the enrolls since the latest drop (usually none or one: a `progress` counts only
/// after an enroll that followed the drop), and the highest progress. Merging a job into the
/// history is commutative, associative and idempotent, so duplicates and retries change nothing
/// and any processing order gives the same history.
/// A history with only drops is a tombstone: no row, but a later-processed earlier enroll reads it.
public struct EnrollmentHistory: Sendable, Equatable {
    /// The earliest job that creates the row (enroll, progress or complete). Drops before it drop nothing.
    public var firstCreate: JobStamp?
    /// The enrolls later than ``lastDrop`` (all of them while there is none), ascending.
    public var enrollsAfterDrop: [JobStamp]
    public var lastProgress: JobStamp?
    public var lastComplete: JobStamp?
    public var firstComplete: JobStamp?
    public var lastDrop: JobStamp?
    /// The highest progress any job set (a `complete` sets 100).
    public var maxProgress: Int

    public init(
        firstCreate: JobStamp? = nil,
        enrollsAfterDrop: [JobStamp] = [],
        lastProgress: JobStamp? = nil,
        lastComplete: JobStamp? = nil,
        firstComplete: JobStamp? = nil,
        lastDrop: JobStamp? = nil,
        maxProgress: Int = 0
    ) {
        self.firstCreate = firstCreate
        self.enrollsAfterDrop = enrollsAfterDrop
        self.lastProgress = lastProgress
        self.lastComplete = lastComplete
        self.firstComplete = firstComplete
        self.lastDrop = lastDrop
        self.maxProgress = maxProgress
    }

    /// The history after one more job. Recording a job twice changes nothing.
    public mutating func record(_ action: EnrollmentUpdateHandler.Action, progress: Int?, stamp: JobStamp) {
        func later(_ current: JobStamp?) -> JobStamp { max(current ?? stamp, stamp) }
        func earlier(_ current: JobStamp?) -> JobStamp { min(current ?? stamp, stamp) }
        switch action {
        case .enroll:
            if lastDrop.map({ stamp > $0 }) ?? true, !enrollsAfterDrop.contains(stamp) {
                enrollsAfterDrop.append(stamp)
                enrollsAfterDrop.sort()
            }
        case .progress:
            lastProgress = later(lastProgress)
            maxProgress = max(maxProgress, progress ?? 0)
        case .complete:
            lastComplete = later(lastComplete)
            firstComplete = earlier(firstComplete)
            maxProgress = 100
        case .drop:
            lastDrop = later(lastDrop)
            enrollsAfterDrop.removeAll { $0 <= stamp }
        }
        if action != .drop { firstCreate = earlier(firstCreate) }
    }

    /// The enrollment row these jobs make, or nil when none of them creates one (only drops).
    public var state: EnrollmentState? {
        guard let firstCreate else { return nil }
        // Drops before the row existed changed nothing.
        let drop = lastDrop.flatMap { $0 > firstCreate ? $0 : nil }
        let lastActivation = [firstCreate, enrollsAfterDrop.last, lastComplete].compactMap { $0 }.max()!
        let status: String
        if let drop, drop > lastActivation {
            status = EnrollmentState.dropped
        } else if let lastComplete, drop.map({ lastComplete > $0 }) ?? true {
            // An enroll or progress after a completion leaves it completed.
            status = EnrollmentState.completed
        } else if let lastProgress, drop == nil || enrollsAfterDrop.first.map({ lastProgress > $0 }) == true {
            // After a drop, a progress counts only once an enroll made the row active again.
            status = EnrollmentState.inProgress
        } else {
            status = EnrollmentState.enrolled
        }
        return EnrollmentState(status: status, progress: maxProgress)
    }

    /// `enrollment_date`: when the first job creating the row was created.
    public var enrolledAt: Date? { firstCreate?.createdAt }

    /// `completion_date`: when the first `complete` was created, kept after a later drop as the
    /// in-order rules keep it.
    public var completedAt: Date? { firstComplete?.createdAt }

    /// The history of a row written without one (by the fleet before it kept histories, or by
    /// another service): as if one job at its `enrollment_date` had created it and, for a completed
    /// row, one at its `completion_date` had completed it, so later jobs order against those times.
    /// A missing completion date orders the completion at the enrollment but sets no date.
    public static func legacy(_ row: EnrollmentState, enrolledAt: Date, completedAt: Date?) -> EnrollmentHistory {
        let first = JobStamp(createdAt: enrolledAt, id: "00000000-0000-0000-0000-000000000000")
        let last = JobStamp(createdAt: enrolledAt, id: "ffffffff-ffff-ffff-ffff-ffffffffffff")
        var history = EnrollmentHistory(firstCreate: first, enrollsAfterDrop: [first], maxProgress: row.progress)
        switch row.status {
        case EnrollmentState.dropped:
            history.lastDrop = last
            history.enrollsAfterDrop = []
        case EnrollmentState.completed:
            let completion = completedAt.map {
                JobStamp(createdAt: max($0, enrolledAt), id: "ffffffff-ffff-ffff-ffff-ffffffffffff")
            }
            history.lastComplete = completion ?? last
            history.firstComplete = completion
        case EnrollmentState.inProgress: history.lastProgress = last
        default: break
        }
        return history
    }
}
