import FleetJobs
import Testing

@Suite("Profile completion scoring")
struct ProfileCompletionTests {
    @Test func anEmptyProfileScoresZeroAndAFullOneHundred() {
        #expect(ProfileCompletion().percentage == 0)
        let full = ProfileCompletion(
            firstName: "Ada",
            lastName: "Lovelace",
            headline: "Engineer",
            summary: "…",
            currentPosition: "CTO",
            yearsOfExperience: 12,
            location: "London",
            linkedinURL: "https://linkedin.com/in/ada",
            githubURL: "https://github.com/ada",
            portfolioURL: "https://ada.dev",
            preferredWorkType: "remote",
            hasSkills: true
        )
        #expect(full.percentage == 100, "the three links count as one item")
    }

    @Test func eachItemIsWorthTenPoints() {
        #expect(ProfileCompletion(firstName: "A").percentage == 10)
        #expect(ProfileCompletion(yearsOfExperience: 0).percentage == 10, "0 years is an answer")
        #expect(ProfileCompletion(githubURL: "g").percentage == 10)
        #expect(ProfileCompletion(linkedinURL: "l", portfolioURL: "p").percentage == 10)
        #expect(ProfileCompletion(hasSkills: true).percentage == 10)
        #expect(
            ProfileCompletion(firstName: "A", lastName: "B", location: "C", preferredWorkType: "D").percentage == 40
        )
    }

    @Test func blankTextIsNotPresent() {
        #expect(ProfileCompletion(firstName: "", lastName: "   ", headline: "\n\t", githubURL: " ").percentage == 0)
    }
}
