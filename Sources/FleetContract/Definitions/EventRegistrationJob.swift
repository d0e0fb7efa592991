/// The payload both jobs of a user's place at an event carry, `{user_id, event_id}`, with the same
/// rules: ``EventRegister`` and ``EventCancel``.
public protocol EventRegistrationJob: JobDefinition {
    /// The user's UUID, lowercased.
    var userId: String { get }
    /// The event's UUID, lowercased.
    var eventId: String { get }
    /// A job of these values; IDs given in either case are kept lowercased.
    init(userId: String, eventId: String)
    /// What the job does: the first sentence of its payload schema's description.
    static var summary: String { get }
}

extension EventRegistrationJob {
    /// Reads and validates a payload; a throw rejects the job as `invalid_payload`.
    public init(payload: FieldReader, version: Int) throws(EnvelopeRejection) {
        self.init(userId: try payload.uuid("user_id"), eventId: try payload.uuid("event_id"))
    }

    /// The payload's JSON Schema: every rule of ``init(payload:version:)``.
    public static var payloadSchema: JSONValue {
        ContractSchema.object(
            "\(summary) Unknown members are ignored.",
            required: ["user_id", "event_id"],
            properties: [
                "user_id": ContractSchema.uuid("The user."),
                "event_id": ContractSchema.uuid("The event (graph `Event.id`)."),
            ],
            additionalProperties: true
        )
    }

    /// The payload as the envelope carries it.
    public var payload: [String: JSONValue] { ["user_id": .string(userId), "event_id": .string(eventId)] }
}
