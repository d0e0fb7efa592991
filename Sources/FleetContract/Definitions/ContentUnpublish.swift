/// `content.unpublish` `{content_id}`: archive a content item.
public struct ContentUnpublish: JobDefinition {
    /// The envelope `type`, also the routing key.
    public static let jobType = "content.unpublish"

    /// The content's ObjectId, 24 lowercase hex digits.
    public let contentId: String

    /// A job of these values; IDs given in either case are kept lowercased. `JobProducer` validates
    /// it before publishing.
    public init(contentId: String) {
        self.contentId = ObjectIdText.canonical(contentId) ?? contentId
    }

    /// Reads and validates a payload; a throw rejects the job as `invalid_payload`.
    public init(payload: FieldReader, version: Int) throws(EnvelopeRejection) {
        contentId = try payload.objectId("content_id")
    }

    /// The payload's JSON Schema: every rule of ``init(payload:version:)`` JSON Schema can state.
    public static var payloadSchema: JSONValue {
        ContractSchema.object(
            "Archive a content item. Unknown members are ignored.",
            required: ["content_id"],
            properties: ["content_id": ContractSchema.objectId("The content item (MongoDB `content._id`).")],
            additionalProperties: true
        )
    }

    /// A valid job, the example of the generated AsyncAPI document.
    public static var example: Self? { Self(contentId: "65a1f0c2e4b0a1b2c3d4e5f7") }

    /// The payload as the envelope carries it.
    public var payload: [String: JSONValue] { ["content_id": .string(contentId)] }
}
