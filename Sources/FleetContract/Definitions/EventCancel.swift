/// `event.cancel` `{user_id, event_id}`: cancel the user's registration (the first waitlisted user takes a freed seat).
public struct EventCancel: JobDefinition {
    public static let jobType = "event.cancel"

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
