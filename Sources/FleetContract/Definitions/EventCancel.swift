/// `event.cancel` `{user_id, event_id}`: cancel the user's registration (the first waitlisted user takes a freed seat).
public struct EventCancel: JobDefinition {
    /// The envelope `type`, also the routing key.
    public static let jobType = "event.cancel"

    /// The user's UUID, lowercased.
    public let userId: String
    /// The event's UUID, lowercased.
    public let eventId: String

    /// A job of these values; IDs given in either case are kept lowercased. `JobProducer` validates
    /// it before publishing.
    public init(userId: String, eventId: String) {
        self.userId = UUIDText.canonical(userId) ?? userId
        self.eventId = UUIDText.canonical(eventId) ?? eventId
    }

    /// Reads and validates a payload; a throw rejects the job as `invalid_payload`.
    public init(payload: FieldReader, version: Int) throws(EnvelopeRejection) {
        userId = try payload.uuid("user_id")
        eventId = try payload.uuid("event_id")
    }

    /// The payload's JSON Schema: every rule of ``init(payload:version:)`` JSON Schema can state.
    public static var payloadSchema: JSONValue {
        ContractSchema.object(
            "Cancel the user's registration for the event; the earliest waitlisted registration takes a freed seat. Unknown members are ignored.",
            required: ["user_id", "event_id"],
            properties: [
                "user_id": ContractSchema.uuid("The user."),
                "event_id": ContractSchema.uuid("The event (graph `Event.id`)."),
            ],
            additionalProperties: true
        )
    }

    /// A valid job, the example of the generated AsyncAPI document.
    public static var example: Self? {
        Self(userId: "7c9e6679-7425-40de-944b-e07fc1f90ae7", eventId: "9b2e4c1a-3f5d-4e6b-8a7c-1d2e3f4a5b6c")
    }

    /// The payload as the envelope carries it.
    public var payload: [String: JSONValue] { ["user_id": .string(userId), "event_id": .string(eventId)] }
}
