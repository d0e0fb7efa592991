import FleetCore
import Foundation
import MongoDB
import Redis

/// `content.publish` `{content_id, publish_at?}` → MongoDB `content`: status `published`,
/// `published_at` set once (see ``ContentLifecycle``).
///
/// `published_at` is `publish_at` when given, else the job's `created_at` (the job time, as for
/// every job type): a redelivery or a run delayed by retries records the same time. A future
/// `publish_at` delays the job through the retry queues (``notBefore(_:)``), not in a worker slot.
public struct ContentPublishHandler: JobHandler {
    public static let jobType = "content.publish"

    public struct Payload: Sendable, Equatable {
        public let contentId: ObjectId
        public let publishAt: Date?
    }

    let writer: ContentStatusWriter

    public init(mongodb: MongoClient, redis: RedisClient) {
        writer = ContentStatusWriter(mongodb: mongodb, cache: ContentCache(client: redis))
    }

    public func parse(_ payload: FieldReader, version: Int) throws(EnvelopeRejection) -> Payload {
        Payload(
            contentId: try ObjectIdField.read(payload, "content_id"),
            publishAt: try payload.optionalTimestamp("publish_at")
        )
    }

    public func notBefore(_ payload: Payload) -> Date? { payload.publishAt }

    public func handle(_ payload: Payload, context: JobContext) async throws -> JobOutcome {
        let time = payload.publishAt ?? context.envelope.createdAt
        return try await writer.apply(.publish(at: time), to: payload.contentId, envelope: context.envelope)
    }
}

/// `content.unpublish` `{content_id}` → MongoDB `content`: status `archived` (`published_at` kept).
public struct ContentUnpublishHandler: JobHandler {
    public static let jobType = "content.unpublish"

    public struct Payload: Sendable, Equatable {
        public let contentId: ObjectId
    }

    let writer: ContentStatusWriter

    public init(mongodb: MongoClient, redis: RedisClient) {
        writer = ContentStatusWriter(mongodb: mongodb, cache: ContentCache(client: redis))
    }

    public func parse(_ payload: FieldReader, version: Int) throws(EnvelopeRejection) -> Payload {
        Payload(contentId: try ObjectIdField.read(payload, "content_id"))
    }

    public func handle(_ payload: Payload, context: JobContext) async throws -> JobOutcome {
        try await writer.apply(.archive, to: payload.contentId, envelope: context.envelope)
    }
}

/// The store side both content handlers share.
///
/// Exactly once without transactions (``MongoDocumentUpdate``): the job's key is recorded in the
/// content document's `fleet_applied_jobs` by the same revision-guarded replace that changes its
/// status, so a publish redelivered after a later unpublish changes nothing. No-ops (publishing
/// published content) record the key too, for the same reason.
///
/// A replace, not a `$set`: nx-27017 stores a date written by `$set` as a string. The cost: a
/// field another service changes between this read and this write without touching
/// `fleet_revision` (say the API's `engagement.views`) is written back as read (README).
///
/// The Redis entries are invalidated after the write on every run, the no-ops and duplicates
/// included: a run whose invalidation failed is retried and repairs it.
struct ContentStatusWriter: Sendable {
    static let collection = "content"

    let mongodb: MongoClient
    let cache: ContentCache

    func apply(
        _ action: ContentLifecycle.Action,
        to contentId: ObjectId,
        envelope: JobEnvelope
    ) async throws
        -> JobOutcome
    {
        guard try await MongoDocumentUpdate.bindKey(mongodb, envelope: envelope, target: contentId.hex) else {
            return .alreadyApplied
        }
        let outcome = try await MongoDocumentUpdate.apply(
            mongodb,
            collection: Self.collection,
            filter: ["_id": .objectId(contentId)]
        ) { current in
            guard let current else {
                throw JobError.permanent("unknown_content", "content \(contentId.hex) does not exist")
            }
            return Self.change(action, of: current, envelope: envelope)
        }
        try await cache.invalidate(contentId)
        return outcome
    }

    /// The new version of `document`: the job recorded and, unless it is a no-op, the status change.
    static func change(
        _ action: ContentLifecycle.Action,
        of document: BSONDocument,
        envelope: JobEnvelope
    )
        -> (MongoDocumentUpdate.Decision, JobOutcome)
    {
        if MongoDocumentUpdate.hasApplied(envelope, to: document) { return (.unchanged, .alreadyApplied) }
        var updated = document
        MongoDocumentUpdate.recordApplied(envelope, in: &updated)
        if let change = ContentLifecycle.change(
            action,
            status: document["status"]?.stringValue,
            publishedAt: document["published_at"]?.dateValue
        ) {
            updated["status"] = .string(change.status)
            updated["updated_at"] = BSONValue(Date())
            if let publishedAt = change.publishedAt { updated["published_at"] = BSONValue(publishedAt) }
        }
        return (.write(updated), .applied)
    }
}
