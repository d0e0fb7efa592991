/// `mentorship.session_logged` `{user_id, mentor_user_id}`: count one more session of the mentorship. A user cannot mentor themselves.
public struct MentorshipSessionLogged: MentorshipJob {
    /// The envelope `type`, also the routing key.
    public static let jobType = "mentorship.session_logged"
    /// What the job does, for its schema.
    public static let summary = "Count one more session of the mentorship."

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
