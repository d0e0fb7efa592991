import FleetJobs
import Testing

@Suite("Skill scoring rules")
struct SkillScoringTests {
    @Test func theVerifiedScoreIsTheMeanOverTenToOneDecimal() {
        #expect(SkillScoring.verifiedTenths(technicalScores: []) == nil)
        #expect(SkillScoring.verifiedTenths(technicalScores: [75]) == 75)
        #expect(SkillScoring.verifiedTenths(technicalScores: [0]) == 0)
        #expect(SkillScoring.verifiedTenths(technicalScores: [100, 100]) == 100)
        #expect(SkillScoring.verifiedTenths(technicalScores: [70, 71]) == 71, "70.5 rounds half away from zero")
        #expect(SkillScoring.verifiedTenths(technicalScores: [70, 70, 71]) == 70, "70.33")
        #expect(SkillScoring.verifiedTenths(technicalScores: [70, 71, 71]) == 71, "70.67")
    }

    @Test func aMeanOf74Point95RoundsUpAlthoughItIsNotExactInBinary() {
        // 20 scores averaging 74.95 (19 × 75 + 74 = 1499): 7.495 has no exact double, the integer
        // rule says 75 tenths → 7.5 (advanced).
        let scores = Array(repeating: 75, count: 19) + [74]
        #expect(SkillScoring.verifiedTenths(technicalScores: scores) == 75)
        #expect(SkillScoring.level(verifiedTenths: 75) == .advanced)
        #expect(SkillScoring.verifiedScore(tenths: 75) == 7.5)
    }

    @Test func storedScoresReadBackToTheirTenths() {
        for tenths in 0...100 {
            #expect(SkillScoring.tenths(ofVerifiedScore: SkillScoring.verifiedScore(tenths: tenths)) == tenths)
        }
        #expect(SkillScoring.verifiedScore(tenths: 68) == 6.8)
        #expect(SkillScoring.tenths(ofVerifiedScore: .nan) == nil)
    }

    @Test func levelsChangeAt4And7Point5() {
        #expect(SkillScoring.level(verifiedTenths: 0) == .beginner)
        #expect(SkillScoring.level(verifiedTenths: 39) == .beginner)
        #expect(SkillScoring.level(verifiedTenths: 40) == .intermediate)
        #expect(SkillScoring.level(verifiedTenths: 74) == .intermediate)
        #expect(SkillScoring.level(verifiedTenths: 75) == .advanced)
        #expect(SkillScoring.level(verifiedTenths: 100) == .advanced)
    }
}

@Suite("Career progress rules")
struct CareerProgressTests {
    static let python = "aaaaaaaaaaaaaaaaaaaaaaaa"
    static let sql = "bbbbbbbbbbbbbbbbbbbbbbbb"
    static let swift = "cccccccccccccccccccccccc"

    func milestone(_ id: String, _ order: Int?, _ requirements: [(String, Int)]) -> CareerMilestone {
        CareerMilestone(
            milestoneId: id,
            order: order,
            requirements: requirements.map { CareerMilestone.Requirement(skillId: $0.0, minTenths: $0.1) }
        )
    }

    @Test func aMilestoneIsCompleteWhenEveryRequiredSkillReachesItsMinimum() {
        let both = milestone("m", 1, [(Self.python, 60), (Self.sql, 50)])
        #expect(both.isComplete(verifiedTenths: [Self.python: 60, Self.sql: 50]), "equal to the minimum counts")
        #expect(!both.isComplete(verifiedTenths: [Self.python: 60, Self.sql: 49]))
        #expect(!both.isComplete(verifiedTenths: [Self.python: 100]), "a skill never verified meets nothing")
        #expect(milestone("empty", 1, []).isComplete(verifiedTenths: [:]))
    }

    @Test func partialProgressNamesTheFirstIncompleteMilestoneByOrder() {
        let milestones = [
            milestone("third", 3, [(Self.swift, 80)]),
            milestone("first", 1, [(Self.python, 50)]),
            milestone("second", 2, [(Self.sql, 70)]),
        ]
        let progress = CareerProgress.compute(
            milestones: milestones,
            verifiedTenths: [Self.python: 55, Self.swift: 90]
        )
        #expect(
            progress == CareerProgress(completionPercentage: 67, currentMilestoneId: "second", status: "in_progress")
        )
        let none = CareerProgress.compute(milestones: milestones, verifiedTenths: [:])
        #expect(none == CareerProgress(completionPercentage: 0, currentMilestoneId: "first", status: "in_progress"))
        let all = CareerProgress.compute(
            milestones: milestones,
            verifiedTenths: [Self.python: 50, Self.sql: 70, Self.swift: 80]
        )
        #expect(all == CareerProgress(completionPercentage: 100, currentMilestoneId: nil, status: "completed"))
    }

    @Test func percentagesRoundHalfUpAndMilestonesWithoutOrderComeLast() {
        let eight = (0..<8).map { milestone("m\($0)", $0 == 0 ? nil : $0, [(Self.python, 10 * $0)]) }
        // m1...m7 need 10...70, m0 (no order) needs 0: with 25 tenths, m0, m1, m2 are complete.
        let progress = CareerProgress.compute(milestones: eight, verifiedTenths: [Self.python: 25])
        #expect(progress.completionPercentage == 38, "3 of 8 = 37.5 → 38")
        #expect(progress.currentMilestoneId == "m3")
        let ties = [milestone("b", 1, [(Self.sql, 10)]), milestone("a", 1, [(Self.sql, 10)])]
        #expect(CareerProgress.compute(milestones: ties, verifiedTenths: [:]).currentMilestoneId == "a")
    }

    @Test func aPathWithoutMilestonesIsNotCompleted() {
        #expect(
            CareerProgress.compute(milestones: [], verifiedTenths: [:])
                == CareerProgress(completionPercentage: 0, currentMilestoneId: nil, status: "in_progress")
        )
    }

    @Test func requiredSkillsAreParsedFromTheirJSON() throws {
        let requirements = try CareerMilestone.parseRequirements(
            """
            [{"skill_id": "AAAAAAAAAAAAAAAAAAAAAAAA", "min_score": 7},
             {"skill_id": {"$oid": "bbbbbbbbbbbbbbbbbbbbbbbb"}, "min_score": 6.55},
             {"skill_id": "cccccccccccccccccccccccc", "min_score": 7.3}]
            """,
            milestoneId: "m"
        )
        #expect(
            requirements == [
                .init(skillId: Self.python, minTenths: 70), .init(skillId: Self.sql, minTenths: 66),
                .init(skillId: Self.swift, minTenths: 73),
            ]
        )
        #expect(try CareerMilestone.parseRequirements(nil, milestoneId: "m") == [])
        #expect(try CareerMilestone.parseRequirements("null", milestoneId: "m") == [])
        #expect(try CareerMilestone.parseRequirements("[]", milestoneId: "m") == [])
    }

    @Test(arguments: [
        "not json", "{}", "[1]", #"[{"skill_id": "xyz", "min_score": 1}]"#,
        #"[{"skill_id": "aaaaaaaaaaaaaaaaaaaaaaaa"}]"#,
        #"[{"skill_id": "aaaaaaaaaaaaaaaaaaaaaaaa", "min_score": "7"}]"#,
    ])
    func badRequiredSkillsNameTheMilestone(_ json: String) {
        let error = #expect(throws: InvalidMilestone.self) {
            try CareerMilestone.parseRequirements(json, milestoneId: "milestone-42")
        }
        #expect(error?.description.contains("milestone-42") == true)
    }
}
