/// The payload both mentorship jobs carry, `{user_id, mentor_user_id}`, with the same rules:
/// ``MentorshipStart`` and ``MentorshipSessionLogged``. A user cannot mentor themselves.
public protocol MentorshipJob: JobDefinition {
    /// The mentee's UUID, lowercased.
    var userId: String { get }
    /// The mentor's UUID, lowercased; never ``userId``.
    var mentorUserId: String { get }
    /// A job of these values; IDs given in either case are kept lowercased.
    init(userId: String, mentorUserId: String)
    /// What the job does: the first sentence of its payload schema's description.
    static var summary: String { get }
}

extension MentorshipJob {
    /// Reads and validates a payload; a throw rejects the job as `invalid_payload`.
    public init(payload: FieldReader, version: Int) throws(EnvelopeRejection) {
        let userId = try payload.uuid("user_id")
        let mentorUserId = try payload.uuid("mentor_user_id")
        guard userId != mentorUserId else { throw payload.invalid("mentor_user_id", "must differ from user_id") }
        self.init(userId: userId, mentorUserId: mentorUserId)
    }

    /// The payload's JSON Schema: every rule of ``init(payload:version:)`` JSON Schema can state.
    public static var payloadSchema: JSONValue {
        ContractSchema.object(
            "\(summary) Not expressible in JSON Schema: `mentor_user_id` must differ from `user_id` (compared "
                + "ignoring case), else the job is rejected as `invalid_payload`. Unknown members are ignored.",
            required: ["user_id", "mentor_user_id"],
            properties: [
                "user_id": ContractSchema.uuid("The mentee."),
                "mentor_user_id": ContractSchema.uuid("The mentor; not the mentee."),
            ],
            additionalProperties: true
        )
    }

    /// The payload as the envelope carries it.
    public var payload: [String: JSONValue] {
        ["user_id": .string(userId), "mentor_user_id": .string(mentorUserId)]
    }
}
