/// `content.unpublish` `{content_id}`: archive a content item.
public struct ContentUnpublish: JobDefinition {
    public static let jobType = "content.unpublish"

    /// The content's ObjectId, 24 lowercase hex digits.
    public let contentId: String

    public init(contentId: String) {
        self.contentId = ObjectIdText.canonical(contentId) ?? contentId
    }

    public init(payload: FieldReader, version: Int) throws(EnvelopeRejection) {
        contentId = try payload.objectId("content_id")
    }

    public var payload: [String: JSONValue] { ["content_id": .string(contentId)] }
}
