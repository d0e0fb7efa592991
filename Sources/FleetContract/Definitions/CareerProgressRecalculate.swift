/// `career.progress.recalculate` `{user_id, path_id?}`: recompute the user's progress on one career
/// path, or on every path they have progress on.
public struct CareerProgressRecalculate: JobDefinition {
    /// The envelope `type`, also the routing key.
    public static let jobType = "career.progress.recalculate"

    /// The user's UUID, lowercased.
    public let userId: String
    /// The career path's UUID, lowercased; nil: every path the user has progress on.
    public let pathId: String?

    /// A job of these values; IDs given in either case are kept lowercased. `JobProducer` validates
    /// it before publishing.
    public init(userId: String, pathId: String? = nil) {
        self.userId = UUIDText.canonical(userId) ?? userId
        self.pathId = pathId.map { UUIDText.canonical($0) ?? $0 }
    }

    /// Reads and validates a payload; a throw rejects the job as `invalid_payload`.
    public init(payload: FieldReader, version: Int) throws(EnvelopeRejection) {
        userId = try payload.uuid("user_id")
        pathId = try payload.optionalUUID("path_id")
    }

    /// The payload's JSON Schema: every rule of ``init(payload:version:)`` JSON Schema can state.
    public static var payloadSchema: JSONValue {
        ContractSchema.object(
            "Recompute the user's progress on one career path, or on every path they have progress on. "
                + "Unknown members are ignored.",
            required: ["user_id"],
            properties: [
                "user_id": ContractSchema.uuid("The user."),
                "path_id": ContractSchema.uuid(
                    "The career path; absent or null: all of the user's paths.",
                    nullable: true
                ),
            ],
            additionalProperties: true
        )
    }

    /// A valid job, the example of the generated AsyncAPI document.
    public static var example: Self? {
        Self(userId: "7c9e6679-7425-40de-944b-e07fc1f90ae7", pathId: "a3bb189e-8bf9-3888-9912-ace4e6543002")
    }

    /// The payload as the envelope carries it.
    public var payload: [String: JSONValue] {
        var object: [String: JSONValue] = ["user_id": .string(userId)]
        if let pathId { object["path_id"] = .string(pathId) }
        return object
    }
}
