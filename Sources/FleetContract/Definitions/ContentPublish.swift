import Foundation

/// `content.publish` `{content_id, publish_at?}`: publish a content item, at `publish_at` when given.
public struct ContentPublish: JobDefinition {
    /// The envelope `type`, also the routing key.
    public static let jobType = "content.publish"

    /// The content's ObjectId, 24 lowercase hex digits.
    public let contentId: String
    /// When to publish; nil: at once.
    public let publishAt: Date?

    /// A job of these values; IDs given in either case are kept lowercased. `JobProducer` validates
    /// it before publishing.
    public init(contentId: String, publishAt: Date? = nil) {
        self.contentId = ObjectIdText.canonical(contentId) ?? contentId
        self.publishAt = publishAt
    }

    /// Reads and validates a payload; a throw rejects the job as `invalid_payload`.
    public init(payload: FieldReader, version: Int) throws(EnvelopeRejection) {
        contentId = try payload.objectId("content_id")
        publishAt = try payload.optionalTimestamp("publish_at")
    }

    /// The payload's JSON Schema: every rule of ``init(payload:version:)`` JSON Schema can state.
    public static var payloadSchema: JSONValue {
        ContractSchema.object(
            "Publish a content item, at `publish_at` when given. Unknown members are ignored.",
            required: ["content_id"],
            properties: [
                "content_id": ContractSchema.objectId("The content item (MongoDB `content._id`)."),
                "publish_at": ContractSchema.timestamp(
                    "When to publish; a future time delays the job until then. Absent or null: now. More than "
                        + "366 days ahead of the worker's clock is `invalid_payload` (not expressible here).",
                    nullable: true
                ),
            ],
            additionalProperties: true
        )
    }

    /// A valid job, the example of the generated AsyncAPI document.
    public static var example: Self? {
        Self(contentId: "65a1f0c2e4b0a1b2c3d4e5f7", publishAt: RFC3339.parse("2026-12-01T09:00:00Z"))
    }

    /// The payload as the envelope carries it.
    public var payload: [String: JSONValue] {
        var object: [String: JSONValue] = ["content_id": .string(contentId)]
        if let publishAt { object["publish_at"] = .string(RFC3339.format(publishAt)) }
        return object
    }

    /// A future `publish_at` delays the job through the retry queues, not in a worker slot.
    public var notBefore: Date? { publishAt }
}
