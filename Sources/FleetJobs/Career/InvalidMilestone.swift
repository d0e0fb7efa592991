import FleetContract
import FleetCore

/// The required_skills of a milestone is not what `CONTRACT.md` item 3 describes.
public struct InvalidMilestone: Error, Sendable, Equatable, CustomStringConvertible {
    public let milestoneId: String
    public let problem: String

    public var description: String { "career_milestones \(milestoneId): required_skills \(problem)" }
}
