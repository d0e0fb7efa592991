/// `event.cancel` `{user_id, event_id}`: cancel the user's registration (the first waitlisted user takes a freed seat).
public struct EventCancel: EventRegistrationJob {
    /// The envelope `type`, also the routing key.
    public static let jobType = "event.cancel"
    /// What the job does, for its schema.
    public static let summary =
        "Cancel the user's registration for the event; the earliest waitlisted registration takes a freed seat."

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

    /// A valid job, the example of the generated AsyncAPI document.
    public static var example: Self? {
        Self(userId: "7c9e6679-7425-40de-944b-e07fc1f90ae7", eventId: "9b2e4c1a-3f5d-4e6b-8a7c-1d2e3f4a5b6c")
    }
}
