/// `event.register` `{user_id, event_id}`: register the user for the event (a seat if one is free, else the waitlist).
public struct EventRegister: EventRegistrationJob {
    /// The envelope `type`, also the routing key.
    public static let jobType = "event.register"
    /// What the job does, for its schema.
    public static let summary = "Register the user for the event: a seat while one is free, else the waitlist."

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
