/// `mentorship.session_logged` `{user_id, mentor_user_id}`: count one more session of the mentorship. A user cannot mentor themselves.
public struct MentorshipSessionLogged: JobDefinition {
    public static let jobType = "mentorship.session_logged"

    public let userId: String
    public let mentorUserId: String

    public init(userId: String, mentorUserId: String) {
        self.userId = UUIDText.canonical(userId) ?? userId
        self.mentorUserId = UUIDText.canonical(mentorUserId) ?? mentorUserId
    }

    public init(payload: FieldReader, version: Int) throws(EnvelopeRejection) {
        userId = try payload.uuid("user_id")
        mentorUserId = try payload.uuid("mentor_user_id")
        guard userId != mentorUserId else { throw payload.invalid("mentor_user_id", "must differ from user_id") }
    }

    public var payload: [String: JSONValue] {
        ["user_id": .string(userId), "mentor_user_id": .string(mentorUserId)]
    }
}
