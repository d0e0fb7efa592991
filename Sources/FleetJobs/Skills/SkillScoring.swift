/// The skill-score rules of `CONTRACT.md` item 2, computed in integers: a verified score is held
/// in tenths (0...100), so no binary floating point decides a rounding or a level boundary.
public enum SkillScoring {
    /// `level` of a skill entry, from its verified score.
    public enum Level: String, Sendable, CaseIterable {
        case beginner, intermediate, advanced
    }

    /// `verified_score` in tenths: the mean of the technical assessment scores (0-100) / 10, to one
    /// decimal. The mean of scores is the verified score in tenths, so this rounds `sum / count` to
    /// an integer, half away from zero (mean 74.95 → 75 tenths → 7.5). Nil without any score.
    public static func verifiedTenths(technicalScores scores: [Int]) -> Int? {
        guard !scores.isEmpty else { return nil }
        let sum = scores.reduce(0, +)
        let count = scores.count
        // round(sum / count) half away from zero, exactly: (2 * |sum| + count) / (2 * count).
        let magnitude = (2 * abs(sum) + count) / (2 * count)
        return sum < 0 ? -magnitude : magnitude
    }

    /// The verified score as stored: a double whose shortest text is the one-decimal value.
    public static func verifiedScore(tenths: Int) -> Double { Double(tenths) / 10 }

    /// The tenths of a stored verified score (a double such as 6.8 read back from MongoDB).
    public static func tenths(ofVerifiedScore score: Double) -> Int? {
        guard score.isFinite, abs(score) < 1e12 else { return nil }
        return Int((score * 10).rounded(.toNearestOrAwayFromZero))
    }

    /// beginner below 4.0, intermediate from 4.0 to 7.4, advanced from 7.5.
    public static func level(verifiedTenths tenths: Int) -> Level {
        switch tenths {
        case ..<40: return .beginner
        case ..<75: return .intermediate
        default: return .advanced
        }
    }
}
