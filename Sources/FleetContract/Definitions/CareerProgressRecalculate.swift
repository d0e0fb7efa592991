/// `career.progress.recalculate` `{user_id, path_id?}`: recompute the user's progress on one career
/// path, or on every path they have progress on.
public struct CareerProgressRecalculate: JobDefinition {
    public static let jobType = "career.progress.recalculate"

    public let userId: String
    public let pathId: String?

    public init(userId: String, pathId: String? = nil) {
        self.userId = UUIDText.canonical(userId) ?? userId
        self.pathId = pathId.map { UUIDText.canonical($0) ?? $0 }
    }

    public init(payload: FieldReader, version: Int) throws(EnvelopeRejection) {
        userId = try payload.uuid("user_id")
        pathId = try payload.optionalUUID("path_id")
    }

    public var payload: [String: JSONValue] {
        var object: [String: JSONValue] = ["user_id": .string(userId)]
        if let pathId { object["path_id"] = .string(pathId) }
        return object
    }
}
