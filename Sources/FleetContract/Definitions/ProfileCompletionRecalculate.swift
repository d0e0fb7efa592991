/// `profile.completion.recalculate` `{user_id}`: recompute the user's profile completion percentage.
public struct ProfileCompletionRecalculate: JobDefinition {
    /// The envelope `type`, also the routing key.
    public static let jobType = "profile.completion.recalculate"

    /// The user's UUID, lowercased.
    public let userId: String

    /// - Parameter userId: a UUID, in either case (kept lowercased).
    public init(userId: String) {
        self.userId = UUIDText.canonical(userId) ?? userId
    }

    /// Reads and validates a payload; a throw rejects the job as `invalid_payload`.
    public init(payload: FieldReader, version: Int) throws(EnvelopeRejection) {
        userId = try payload.uuid("user_id")
    }

    /// The payload as the envelope carries it.
    public var payload: [String: JSONValue] { ["user_id": .string(userId)] }

    /// The payload's JSON Schema: every rule of ``init(payload:version:)`` JSON Schema can state.
    public static var payloadSchema: JSONValue {
        ContractSchema.object(
            "Recompute the user's profile completion percentage. Unknown members are ignored.",
            required: ["user_id"],
            properties: ["user_id": ContractSchema.uuid("The user (PostgreSQL `users.id`).")],
            additionalProperties: true
        )
    }

    /// A valid job, the example of the generated AsyncAPI document.
    public static var example: Self? { Self(userId: "7c9e6679-7425-40de-944b-e07fc1f90ae7") }
}
