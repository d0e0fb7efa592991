import MongoDB

/// Where profile completion learns whether a user has at least one skill.
public protocol SkillsSource: Sendable {
    func hasSkills(userId: String) async throws -> Bool
}
