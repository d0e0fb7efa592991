/// `event.register` `{user_id, event_id}`: register the user for the event (a seat if one is free, else the waitlist).
public struct EventRegister: JobDefinition {
    public static let jobType = "event.register"

    public let userId: String
    public let eventId: String

    public init(userId: String, eventId: String) {
        self.userId = UUIDText.canonical(userId) ?? userId
        self.eventId = UUIDText.canonical(eventId) ?? eventId
    }

    public init(payload: FieldReader, version: Int) throws(EnvelopeRejection) {
        userId = try payload.uuid("user_id")
        eventId = try payload.uuid("event_id")
    }

    public var payload: [String: JSONValue] { ["user_id": .string(userId), "event_id": .string(eventId)] }
}
