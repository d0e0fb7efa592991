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
/// content document's `fleet_applied_jobs` by the same write that changes its status, so a
/// publish redelivered after a later unpublish changes nothing. No-ops (publishing published
/// content) record the key too, for the same reason.
///
/// The write is a `$set` of the fleet's fields only, not a replace: the content API updates other
/// fields (`engagement`) meanwhile, and a replace of an older read would undo those updates. It is
/// guarded by `fleet_revision` (absent on content the fleet never wrote, read as 0), so two status
/// jobs racing on one document cannot both act on the same read; the loser reads again.
///
/// The Redis entries are invalidated after the write on every run, the no-ops and duplicates
/// included: a run whose invalidation failed is retried and repairs it.
struct ContentStatusWriter: Sendable {
    static let collection = "content"
    static let attempts = 50

    let mongodb: MongoClient
    let cache: ContentCache

    func apply(
        _ action: ContentLifecycle.Action,
        to contentId: ObjectId,
        envelope: JobEnvelope
    ) async throws
        -> JobOutcome
    {
        var attempt = 1
        while true {
            do {
                let outcome = try await mongodb.withConnection { connection in
                    try Self.write(
                        action,
                        to: contentId,
                        envelope: envelope,
                        in: connection.collection(Self.collection)
                    )
                }
                try await cache.invalidate(contentId)
                return outcome
            } catch let conflict as MongoWriteConflict {
                guard attempt < Self.attempts else {
                    throw JobError.transient(
                        "write_conflict",
                        "\(Self.attempts) attempts conflicted; last: \(conflict)"
                    )
                }
                attempt += 1
                try await Task.sleep(for: .milliseconds(Int.random(in: 1...(2 * min(attempt, 20)))))
            }
        }
    }

    /// One read and one guarded `$set`.
    /// - Throws: ``MongoWriteConflict`` when the document changed since the read.
    static func write(
        _ action: ContentLifecycle.Action,
        to contentId: ObjectId,
        envelope: JobEnvelope,
        in content: MongoCollection
    ) throws -> JobOutcome {
        let id = BSONValue.objectId(contentId)
        guard let document = try content.findOne(["_id": id]) else {
            throw JobError.permanent("unknown_content", "content \(contentId.hex) does not exist")
        }
        if MongoDocumentUpdate.hasApplied(envelope, to: document) { return .alreadyApplied }
        let revision = MongoDocumentUpdate.revision(of: document)
        var applied = document
        MongoDocumentUpdate.recordApplied(envelope, in: &applied)
        var fields: BSONDocument = [
            MongoDocumentUpdate.appliedJobsField: applied[MongoDocumentUpdate.appliedJobsField]!,
            MongoDocumentUpdate.revisionField: .int64(revision + 1),
        ]
        if let change = ContentLifecycle.change(
            action,
            status: document["status"]?.stringValue,
            publishedAt: document["published_at"]?.dateValue
        ) {
            fields["status"] = .string(change.status)
            fields["updated_at"] = BSONValue(Date())
            if let publishedAt = change.publishedAt { fields["published_at"] = BSONValue(publishedAt) }
        }
        // A document the fleet never wrote has no revision: match the field's absence.
        let expected: BSONValue = revision == 0 ? ["$exists": false] : .int64(revision)
        let result = try content.updateOne(
            filter: ["_id": id, MongoDocumentUpdate.revisionField: expected],
            update: ["$set": .document(fields)]
        )
        guard result.matchedCount == 1 else {
            throw MongoWriteConflict(detail: "content \(contentId.hex) changed concurrently")
        }
        return .applied
    }
}
