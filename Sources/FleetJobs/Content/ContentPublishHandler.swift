import FleetContract
import FleetCore
import FleetStoreKit
import Foundation
import MongoDB
import Redis

/// `content.publish` `{content_id, publish_at?}` → MongoDB `content`: status `published` unless a
/// later-stamped unpublish was applied; `published_at` from the earliest-stamped publish (see
/// ``ContentLifecycle``).
///
/// `published_at` is `publish_at` when given, else the job's `created_at` (the job time, as for
/// every job type): a redelivery or a run delayed by retries records the same time. A future
/// `publish_at` delays the job through the retry queues (``notBefore(_:)``), not in a worker slot.
public struct ContentPublishHandler: JobHandler {

    let writer: ContentStatusWriter

    public init(mongodb: MongoClient, redis: RedisClient, dedupWindow: Duration = Topology.defaultDedupWindow) {
        writer = ContentStatusWriter(mongodb: mongodb, cache: ContentCache(client: redis), dedupWindow: dedupWindow)
    }

    public func handle(_ payload: ContentPublish, context: JobContext) async throws -> JobOutcome {
        let time = payload.publishAt ?? context.envelope.createdAt
        let contentId = try ObjectIdField.objectId(payload.contentId, field: "content_id")
        return try await writer.apply(.publish(at: time), to: contentId, envelope: context.envelope)
    }
}
