/// `mentorship.start` `{user_id, mentor_user_id}`: start a mentorship of the user by the mentor. A user cannot mentor themselves.
public struct MentorshipStart: MentorshipJob {
    /// The envelope `type`, also the routing key.
    public static let jobType = "mentorship.start"
    /// What the job does, for its schema.
    public static let summary = "Start a mentorship of the user by the mentor."

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

    /// A valid job, the example of the generated AsyncAPI document.
    public static var example: Self? {
        Self(userId: "7c9e6679-7425-40de-944b-e07fc1f90ae7", mentorUserId: "16fd2706-8baf-433b-82eb-8c7fada847da")
    }
}
