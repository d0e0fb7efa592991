/// `assessment.score` `{user_id, skill_id, type, score}`: one assessment of a user's skill.
public struct AssessmentScore: JobDefinition {
    /// The envelope `type`, also the routing key.
    public static let jobType = "assessment.score"

    /// The payload `type`: the kind of assessment, which sets the scale of `score`.
    public enum Kind: String, Sendable, CaseIterable {
        case technicalAssessment = "technical_assessment"
        case selfAssessment = "self_assessment"

        /// The scores an assessment of this kind may give.
        public var scores: ClosedRange<Int> { self == .technicalAssessment ? 0...100 : 1...10 }
    }

    /// The user's UUID, lowercased.
    public let userId: String
    /// The skill's ObjectId, 24 lowercase hex digits.
    public let skillId: String
    /// The payload's `type`.
    public let kind: Kind
    /// 0...100 for a technical assessment, 1...10 for a self-assessment.
    public let score: Int

    /// A job of these values; IDs given in either case are kept lowercased. `JobProducer` validates
    /// it before publishing.
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

    /// The payload's JSON Schema: every rule of ``init(payload:version:)`` JSON Schema can state.
    public static var payloadSchema: JSONValue {
        let technical = Kind.technicalAssessment
        let selfAssessment = Kind.selfAssessment
        func scores(_ kind: Kind) -> JSONValue {
            [
                "properties": [
                    "score": [
                        "minimum": .integer(Int64(kind.scores.lowerBound)),
                        "maximum": .integer(Int64(kind.scores.upperBound)),
                    ]
                ]
            ]
        }
        return ContractSchema.object(
            "One assessment of a user's skill: \(technical.rawValue) scores \(technical.scores.lowerBound)-"
                + "\(technical.scores.upperBound), \(selfAssessment.rawValue) scores \(selfAssessment.scores.lowerBound)-"
                + "\(selfAssessment.scores.upperBound). Unknown members are ignored.",
            required: ["user_id", "skill_id", "type", "score"],
            properties: [
                "user_id": ContractSchema.uuid("The user."),
                "skill_id": ContractSchema.objectId("The skill (MongoDB `skills._id`)."),
                "type": ContractSchema.oneOf("The kind of assessment.", Kind.allCases.map(\.rawValue)),
                "score": ContractSchema.integer("The score, on the scale of `type`."),
            ],
            additionalProperties: true,
            rules: [
                ContractSchema.when("type", is: technical.rawValue, then: scores(technical)),
                ContractSchema.when("type", is: selfAssessment.rawValue, then: scores(selfAssessment)),
            ]
        )
    }

    /// A valid job, the example of the generated AsyncAPI document.
    public static var example: Self? {
        Self(
            userId: "7c9e6679-7425-40de-944b-e07fc1f90ae7",
            skillId: "65a1f0c2e4b0a1b2c3d4e5f6",
            kind: .technicalAssessment,
            score: 82
        )
    }

    /// The payload as the envelope carries it.
    public var payload: [String: JSONValue] {
        [
            "user_id": .string(userId), "skill_id": .string(skillId), "type": .string(kind.rawValue),
            "score": .integer(Int64(score)),
        ]
    }
}
