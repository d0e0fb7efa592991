/// `enrollment.update` `{user_id, course_id, action, progress_percentage?}`: one step of a user's
/// enrollment in a course.
public struct EnrollmentUpdate: JobDefinition {
    public static let jobType = "enrollment.update"

    public enum Action: String, Sendable, CaseIterable {
        case enroll, progress, complete, drop
    }

    public let userId: String
    public let courseId: String
    public let action: Action
    /// 0...100; required when ``action`` is `progress`.
    public let progressPercentage: Int?

    public init(userId: String, courseId: String, action: Action, progressPercentage: Int? = nil) {
        self.userId = UUIDText.canonical(userId) ?? userId
        self.courseId = UUIDText.canonical(courseId) ?? courseId
        self.action = action
        self.progressPercentage = progressPercentage
    }

    public init(payload: FieldReader, version: Int) throws(EnvelopeRejection) {
        let action = Action(rawValue: try payload.string("action", oneOf: Set(Action.allCases.map(\.rawValue))))!
        let progress = try payload.optionalInt("progress_percentage", in: 0...100)
        if action == .progress && progress == nil {
            throw payload.invalid("progress_percentage", "required when action is progress")
        }
        userId = try payload.uuid("user_id")
        courseId = try payload.uuid("course_id")
        self.action = action
        progressPercentage = progress
    }

    public var payload: [String: JSONValue] {
        var object: [String: JSONValue] = [
            "user_id": .string(userId), "course_id": .string(courseId), "action": .string(action.rawValue),
        ]
        if let progressPercentage { object["progress_percentage"] = .integer(Int64(progressPercentage)) }
        return object
    }
}
