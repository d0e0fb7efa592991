/// Where profile completion learns whether a user has at least one skill (MongoDB `user_skills`).
///
/// The seam for the MongoDB client, which comes in a later issue. Until then the fleet uses
/// ``NoSkillsSource``, and the skills item scores 0 for everyone.
public protocol SkillsSource: Sendable {
    func hasSkills(userId: String) async throws -> Bool
}

/// Used until the MongoDB client lands: no user has skills.
public struct NoSkillsSource: SkillsSource {
    public init() {}

    public func hasSkills(userId: String) async throws -> Bool { false }
}
