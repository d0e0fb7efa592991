/// The profile-completion score of `CONTRACT.md`: 10 points per present item, 100 at most.
public struct ProfileCompletion: Sendable, Equatable {
    public var firstName: String?
    public var lastName: String?
    public var headline: String?
    public var summary: String?
    public var currentPosition: String?
    /// Present when set, including 0 (a newcomer who said so has filled it in).
    public var yearsOfExperience: Int?
    public var location: String?
    public var linkedinURL: String?
    public var githubURL: String?
    public var portfolioURL: String?
    public var preferredWorkType: String?
    /// At least one skill in MongoDB `user_skills`.
    public var hasSkills: Bool

    public init(
        firstName: String? = nil,
        lastName: String? = nil,
        headline: String? = nil,
        summary: String? = nil,
        currentPosition: String? = nil,
        yearsOfExperience: Int? = nil,
        location: String? = nil,
        linkedinURL: String? = nil,
        githubURL: String? = nil,
        portfolioURL: String? = nil,
        preferredWorkType: String? = nil,
        hasSkills: Bool = false
    ) {
        self.firstName = firstName
        self.lastName = lastName
        self.headline = headline
        self.summary = summary
        self.currentPosition = currentPosition
        self.yearsOfExperience = yearsOfExperience
        self.location = location
        self.linkedinURL = linkedinURL
        self.githubURL = githubURL
        self.portfolioURL = portfolioURL
        self.preferredWorkType = preferredWorkType
        self.hasSkills = hasSkills
    }

    /// 0 to 100 in steps of 10. A text counts when it has a non-whitespace character.
    public var percentage: Int {
        func present(_ text: String?) -> Bool { text.map { !$0.allSatisfy(\.isWhitespace) } ?? false }
        let items = [
            present(firstName), present(lastName), present(headline), present(summary), present(currentPosition),
            yearsOfExperience != nil, present(location),
            present(linkedinURL) || present(githubURL) || present(portfolioURL),
            present(preferredWorkType), hasSkills,
        ]
        return items.filter { $0 }.count * 10
    }
}
