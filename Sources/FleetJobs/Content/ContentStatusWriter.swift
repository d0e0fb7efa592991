import FleetContract
import FleetCore
import FleetStoreKit
import Foundation
import MongoDB
import Redis

/// The store side both content handlers share.
///
/// Exactly once without transactions (``MongoDocumentUpdate``): the job's key is recorded in the
/// content document's `fleet_applied_jobs` by the same revision-guarded `updateOne` that changes its
/// status. Only the fleet's fields are written (`status`, `published_at`, `updated_at`, the stamps
/// `fleet_status_stamp`, `fleet_published_stamp`, `fleet_published_at_external`, and the
/// bookkeeping `fleet_applied_jobs`, `fleet_revision`), so another service's concurrent change of any
/// other field (say `engagement.views`) survives. The status rules (``ContentLifecycle``) depend
/// only on the jobs' stamps, never on the order jobs are processed in.
///
/// A producer's idempotency key is first bound to the content item (``KeyBinding``); a job for
/// unknown content fails permanently and releases its binding, so a corrected job with the same key
/// is applied.
///
/// The Redis entries are invalidated after the write on every run, the no-ops and duplicates
/// included: a run whose invalidation failed is retried (`stepFailedAfterEffect`) and repairs it.
struct ContentStatusWriter: Sendable {
    static let collection = "content"
    static let statusStampField = "fleet_status_stamp"
    static let publishedStampField = "fleet_published_stamp"
    static let publishedAtExternalField = "fleet_published_at_external"

    let mongodb: MongoClient
    let cache: ContentCache
    let dedupWindow: Duration

    func apply(
        _ action: ContentLifecycle.Action,
        to contentId: ObjectId,
        envelope: JobEnvelope
    ) async throws
        -> JobOutcome
    {
        let window = dedupWindow
        let binding = try await KeyBinding.claim(mongodb, envelope: envelope, target: contentId.hex) {
            connection,
            target in
            guard let id = try? ObjectId(hex: target) else { return false }
            let document = try connection.collection(Self.collection).findOne(["_id": .objectId(id)])
            return MongoDocumentUpdate.hasApplied(envelope, to: document, window: window)
        }
        guard case .proceed(let claim) = binding else {
            try await invalidate(contentId)
            return .alreadyApplied
        }
        let job = ContentLifecycle.Job(action: action, stamp: JobStamp(envelope))
        let outcome = try await MongoDocumentUpdate.apply(
            mongodb,
            collection: Self.collection,
            filter: ["_id": .objectId(contentId)],
            claim: claim
        ) { current in
            guard let current else {
                throw JobError.permanent("unknown_content", "content \(contentId.hex) does not exist")
            }
            return Self.change(job, of: current, envelope: envelope, window: window, now: Date())
        }
        try await invalidate(contentId)
        return outcome
    }

    private func invalidate(_ contentId: ObjectId) async throws {
        do {
            try await cache.invalidate(contentId)
        } catch {
            throw JobError.stepFailedAfterEffect(
                "cache_invalidation",
                reason: "cache_not_invalidated",
                "content \(contentId.hex): \(error)"
            )
        }
    }

    /// The fleet-owned state of a stored content document.
    static func state(of document: BSONDocument) -> ContentLifecycle.State {
        ContentLifecycle.State(
            status: document["status"]?.stringValue,
            statusStamp: document[statusStampField]?.stringValue.flatMap(JobStamp.init(text:)),
            publishedAt: document["published_at"]?.dateValue,
            publishedStamp: document[publishedStampField]?.stringValue.flatMap(JobStamp.init(text:)),
            publishedAtExternal: document[publishedAtExternalField]?.boolValue ?? false
        )
    }

    /// The fields to set in `document`: the job recorded and, where the rules change them, the
    /// status, `published_at` and their stamps.
    static func change(
        _ job: ContentLifecycle.Job,
        of document: BSONDocument,
        envelope: JobEnvelope,
        window: Duration,
        now: Date
    )
        -> (MongoDocumentUpdate.Decision, JobOutcome)
    {
        if MongoDocumentUpdate.hasApplied(envelope, to: document, window: window, now: now) {
            return (.unchanged, .alreadyApplied)
        }
        var changes = MongoDocumentUpdate.FieldChanges()
        MongoDocumentUpdate.recordApplied(envelope, in: &changes, current: document, window: window, now: now)
        let before = state(of: document)
        let after = ContentLifecycle.applying(job, to: before)
        if after.status != before.status { changes.set("status", after.status.map(BSONValue.string) ?? .null) }
        if after.statusStamp != before.statusStamp {
            changes.set(statusStampField, after.statusStamp.map { .string($0.text) } ?? .null)
        }
        if after.publishedAt != before.publishedAt {
            changes.set("published_at", after.publishedAt.map(BSONValue.init) ?? .null)
        }
        if after.publishedStamp != before.publishedStamp {
            changes.set(publishedStampField, after.publishedStamp.map { .string($0.text) } ?? .null)
        }
        if after.publishedAtExternal != before.publishedAtExternal {
            changes.set(publishedAtExternalField, .bool(after.publishedAtExternal))
        }
        if after.status != before.status || after.publishedAt != before.publishedAt {
            changes.set("updated_at", BSONValue(now))
        }
        return (.update(changes), .applied)
    }
}
