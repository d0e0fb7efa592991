/// `profile.completion.recalculate` `{user_id}`: recompute the user's profile completion percentage.
public struct ProfileCompletionRecalculate: JobDefinition {
    public static let jobType = "profile.completion.recalculate"

    public let userId: String

    /// - Parameter userId: a UUID, in either case (kept lowercased).
    public init(userId: String) {
        self.userId = UUIDText.canonical(userId) ?? userId
    }

    public init(payload: FieldReader, version: Int) throws(EnvelopeRejection) {
        userId = try payload.uuid("user_id")
    }

    public var payload: [String: JSONValue] { ["user_id": .string(userId)] }
}
