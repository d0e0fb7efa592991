import Foundation

/// `content.publish` `{content_id, publish_at?}`: publish a content item, at `publish_at` when given.
public struct ContentPublish: JobDefinition {
    public static let jobType = "content.publish"

    /// The content's ObjectId, 24 lowercase hex digits.
    public let contentId: String
    public let publishAt: Date?

    public init(contentId: String, publishAt: Date? = nil) {
        self.contentId = ObjectIdText.canonical(contentId) ?? contentId
        self.publishAt = publishAt
    }

    public init(payload: FieldReader, version: Int) throws(EnvelopeRejection) {
        contentId = try payload.objectId("content_id")
        publishAt = try payload.optionalTimestamp("publish_at")
    }

    public var payload: [String: JSONValue] {
        var object: [String: JSONValue] = ["content_id": .string(contentId)]
        if let publishAt { object["publish_at"] = .string(RFC3339.format(publishAt)) }
        return object
    }

    /// A future `publish_at` delays the job through the retry queues, not in a worker slot.
    public var notBefore: Date? { publishAt }
}
