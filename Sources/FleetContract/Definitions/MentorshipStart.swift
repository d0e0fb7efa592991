/// `mentorship.start` `{user_id, mentor_user_id}`: start a mentorship of the user by the mentor. A user cannot mentor themselves.
public struct MentorshipStart: JobDefinition {
    /// The envelope `type`, also the routing key.
    public static let jobType = "mentorship.start"

    /// The mentee's UUID, lowercased.
    public let userId: String
    /// The mentor's UUID, lowercased; never ``userId``.
    public let mentorUserId: String

    /// A job of these values; IDs given in either case are kept lowercased. `JobProducer` validates
    /// it before publishing.
    public init(userId: String, mentorUserId: String) {
        self.userId = UUIDText.canonical(userId) ?? userId
        self.mentorUserId = UUIDText.canonical(mentorUserId) ?? mentorUserId
    }

    /// Reads and validates a payload; a throw rejects the job as `invalid_payload`.
    public init(payload: FieldReader, version: Int) throws(EnvelopeRejection) {
        userId = try payload.uuid("user_id")
        mentorUserId = try payload.uuid("mentor_user_id")
        guard userId != mentorUserId else { throw payload.invalid("mentor_user_id", "must differ from user_id") }
    }

    /// The payload's JSON Schema: every rule of ``init(payload:version:)`` JSON Schema can state.
    public static var payloadSchema: JSONValue {
        ContractSchema.object(
            "Start a mentorship of the user by the mentor. Not expressible in JSON Schema: `mentor_user_id` must differ from `user_id` (compared "
                + "ignoring case), else the job is rejected as `invalid_payload`. Unknown members are ignored.",
            required: ["user_id", "mentor_user_id"],
            properties: [
                "user_id": ContractSchema.uuid("The mentee."),
                "mentor_user_id": ContractSchema.uuid("The mentor; not the mentee."),
            ],
            additionalProperties: true
        )
    }

    /// A valid job, the example of the generated AsyncAPI document.
    public static var example: Self? {
        Self(userId: "7c9e6679-7425-40de-944b-e07fc1f90ae7", mentorUserId: "16fd2706-8baf-433b-82eb-8c7fada847da")
    }

    /// The payload as the envelope carries it.
    public var payload: [String: JSONValue] {
        ["user_id": .string(userId), "mentor_user_id": .string(mentorUserId)]
    }
}
