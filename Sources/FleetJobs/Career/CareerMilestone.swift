import FleetContract
import FleetCore

/// One `career_milestones` row as the progress rules see it.
public struct CareerMilestone: Sendable, Equatable {
    /// A skill the milestone requires, with the verified score (in tenths) it must reach.
    public struct Requirement: Sendable, Equatable {
        /// 24 lowercase hex digits: the skill's ObjectId.
        public let skillId: String
        /// `min_score` in tenths, rounded up: a verified score (one decimal) meets `min_score` exactly
        /// when its tenths are at least this.
        public let minTenths: Int

        public init(skillId: String, minTenths: Int) {
            self.skillId = skillId
            self.minTenths = minTenths
        }
    }

    public let milestoneId: String
    /// `order_sequence`; a milestone without one comes last.
    public let order: Int?
    public let requirements: [Requirement]

    public init(milestoneId: String, order: Int?, requirements: [Requirement]) {
        self.milestoneId = milestoneId
        self.order = order
        self.requirements = requirements
    }

    /// Complete when every required skill has `verified_score >= min_score`; a skill never verified
    /// meets no requirement, and a milestone requiring nothing is complete.
    public func isComplete(verifiedTenths: [String: Int]) -> Bool {
        requirements.allSatisfy { requirement in
            verifiedTenths[requirement.skillId].map { $0 >= requirement.minTenths } ?? false
        }
    }
}

extension CareerMilestone {
    /// Reads `required_skills` (JSON text, or nil for SQL NULL): an array of `{skill_id, min_score}`
    /// where `skill_id` is an ObjectId as 24 hex digits (or extended JSON `{"$oid": ...}`) and
    /// `min_score` a number on the verified scale. NULL and `[]` require nothing.
    public static func parseRequirements(
        _ json: String?,
        milestoneId: String
    ) throws(InvalidMilestone)
        -> [Requirement]
    {
        func invalid(_ problem: String) -> InvalidMilestone {
            InvalidMilestone(milestoneId: milestoneId, problem: problem)
        }
        guard let json else { return [] }
        let value: JSONValue
        do {
            value = try JSONParser.parse(json)
        } catch {
            throw invalid("is not JSON: \(error)")
        }
        switch value {
        case .null: return []
        case .array(let items):
            var requirements: [Requirement] = []
            for (index, item) in items.enumerated() {
                guard case .object(let object) = item else { throw invalid("[\(index)] is not an object") }
                guard let skillId = objectIdHex(object["skill_id"]) else {
                    throw invalid("[\(index)].skill_id is not an ObjectId")
                }
                guard let minTenths = tenthsRoundedUp(object["min_score"]) else {
                    throw invalid("[\(index)].min_score is not a number")
                }
                requirements.append(Requirement(skillId: skillId, minTenths: minTenths))
            }
            return requirements
        default:
            throw invalid("is not an array")
        }
    }

    private static func objectIdHex(_ value: JSONValue?) -> String? {
        switch value {
        case .string(let text)?:
            let hex = text.lowercased()
            let digits = UInt8(ascii: "0")...UInt8(ascii: "9")
            let letters = UInt8(ascii: "a")...UInt8(ascii: "f")
            guard hex.utf8.count == 24, hex.utf8.allSatisfy({ digits.contains($0) || letters.contains($0) }) else {
                return nil
            }
            return hex
        case .object(let object)? where object.count == 1: return objectIdHex(object["$oid"])
        default: return nil
        }
    }

    private static func tenthsRoundedUp(_ value: JSONValue?) -> Int? {
        switch value {
        case .integer(let score)? where abs(score) < 1_000_000_000: return Int(score) * 10
        // 6.55 needs 6.6; the slack keeps 7.3 (72.99999... tenths in binary) at 73.
        case .number(let score)? where score.isFinite && abs(score) < 1e9: return Int((score * 10 - 1e-9).rounded(.up))
        default: return nil
        }
    }
}
