/// `assessment.score` `{user_id, skill_id, type, score}`: one assessment of a user's skill.
public struct AssessmentScore: JobDefinition {
    public static let jobType = "assessment.score"

    public enum Kind: String, Sendable, CaseIterable {
        case technicalAssessment = "technical_assessment"
        case selfAssessment = "self_assessment"

        /// The scores an assessment of this kind may give.
        public var scores: ClosedRange<Int> { self == .technicalAssessment ? 0...100 : 1...10 }
    }

    public let userId: String
    /// The skill's ObjectId, 24 lowercase hex digits.
    public let skillId: String
    /// The payload's `type`.
    public let kind: Kind
    /// 0...100 for a technical assessment, 1...10 for a self-assessment.
    public let score: Int

    public init(userId: String, skillId: String, kind: Kind, score: Int) {
        self.userId = UUIDText.canonical(userId) ?? userId
        self.skillId = ObjectIdText.canonical(skillId) ?? skillId
        self.kind = kind
        self.score = score
    }

    /// Values are never echoed back in errors: they may be anything up to the 1 MiB message limit.
    public init(payload: FieldReader, version: Int) throws(EnvelopeRejection) {
        userId = try payload.uuid("user_id")
        skillId = try payload.objectId("skill_id")
        kind = Kind(rawValue: try payload.string("type", oneOf: Set(Kind.allCases.map(\.rawValue))))!
        guard let score = try payload.optionalInt("score", in: kind.scores) else {
            throw payload.invalid("score", "required")
        }
        self.score = score
    }

    public var payload: [String: JSONValue] {
        [
            "user_id": .string(userId), "skill_id": .string(skillId), "type": .string(kind.rawValue),
            "score": .integer(Int64(score)),
        ]
    }
}
