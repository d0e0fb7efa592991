/// `enrollment.update` `{user_id, course_id, action, progress_percentage?}`: one step of a user's
/// enrollment in a course.
public struct EnrollmentUpdate: JobDefinition {
    /// The envelope `type`, also the routing key.
    public static let jobType = "enrollment.update"

    /// The steps of an enrollment; each has its rule in the README job table.
    public enum Action: String, Sendable, CaseIterable {
        case enroll, progress, complete, drop
    }

    /// The user's UUID, lowercased.
    public let userId: String
    /// The course's UUID, lowercased.
    public let courseId: String
    /// The step.
    public let action: Action
    /// 0...100; required when ``action`` is `progress`.
    public let progressPercentage: Int?

    /// A job of these values; IDs given in either case are kept lowercased. `JobProducer` validates
    /// it before publishing.
    public init(userId: String, courseId: String, action: Action, progressPercentage: Int? = nil) {
        self.userId = UUIDText.canonical(userId) ?? userId
        self.courseId = UUIDText.canonical(courseId) ?? courseId
        self.action = action
        self.progressPercentage = progressPercentage
    }

    /// Reads and validates a payload; a throw rejects the job as `invalid_payload`.
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

    /// The payload's JSON Schema: every rule of ``init(payload:version:)`` JSON Schema can state.
    public static var payloadSchema: JSONValue {
        ContractSchema.object(
            "One step of a user's enrollment in a course; `progress_percentage` is required when `action` is "
                + "`progress`. Unknown members are ignored.",
            required: ["user_id", "course_id", "action"],
            properties: [
                "user_id": ContractSchema.uuid("The user."),
                "course_id": ContractSchema.uuid("The course (PostgreSQL `courses.id`)."),
                "action": ContractSchema.oneOf("The step.", Action.allCases.map(\.rawValue)),
                "progress_percentage": ContractSchema.integer(
                    "Progress in percent; required for `progress`, ignored by `complete` (which sets 100).",
                    range: 0...100,
                    nullable: true
                ),
            ],
            additionalProperties: true,
            rules: [
                ContractSchema.when(
                    "action",
                    is: Action.progress.rawValue,
                    then: [
                        "required": ["progress_percentage"], "properties": ["progress_percentage": ["type": "integer"]],
                    ]
                )
            ]
        )
    }

    /// A valid job, the example of the generated AsyncAPI document.
    public static var example: Self? {
        Self(
            userId: "7c9e6679-7425-40de-944b-e07fc1f90ae7",
            courseId: "f47ac10b-58cc-4372-a567-0e02b2c3d479",
            action: .progress,
            progressPercentage: 40
        )
    }

    /// The payload as the envelope carries it.
    public var payload: [String: JSONValue] {
        var object: [String: JSONValue] = [
            "user_id": .string(userId), "course_id": .string(courseId), "action": .string(action.rawValue),
        ]
        if let progressPercentage { object["progress_percentage"] = .integer(Int64(progressPercentage)) }
        return object
    }
}
