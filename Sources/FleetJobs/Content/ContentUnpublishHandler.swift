import FleetContract
import FleetCore
import FleetStoreKit
import Foundation
import MongoDB
import Redis

/// `content.unpublish` `{content_id}` → MongoDB `content`: status `archived` unless a later-stamped
/// publish was applied (`published_at` kept).
public struct ContentUnpublishHandler: JobHandler {

    let writer: ContentStatusWriter

    public init(mongodb: MongoClient, redis: RedisClient, dedupWindow: Duration = Topology.defaultDedupWindow) {
        writer = ContentStatusWriter(mongodb: mongodb, cache: ContentCache(client: redis), dedupWindow: dedupWindow)
    }

    public func handle(_ payload: ContentUnpublish, context: JobContext) async throws -> JobOutcome {
        let contentId = try ObjectIdField.objectId(payload.contentId, field: "content_id")
        return try await writer.apply(.archive, to: contentId, envelope: context.envelope)
    }
}
