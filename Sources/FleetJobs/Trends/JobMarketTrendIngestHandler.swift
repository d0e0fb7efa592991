import FleetContract
import FleetCore
import FleetStoreKit
import Foundation
import MongoDB

/// `jobmarket.trend.ingest` `{skill_id, region, timestamp, metrics}` → MongoDB `job_market_trends`:
/// one document per (skill_id, region) (unique index) with the newest point's `timestamp` and
/// `metrics`, and every point once in `historical_data`, sorted by date (``TrendSeries``).
///
/// `region` is data: any non-blank string of at most ``JobMarketTrendIngest/maxRegionLength`` characters, stored as it
/// is (`"$where"` included).
///
/// Exactly once by construction: the merge ignores a point it already holds, so a redelivered job or
/// a repeat changes nothing, and jobs without an idempotency key record nothing. A producer's
/// idempotency key is bound to its series (``KeyBinding``) and recorded in the series document's
/// `fleet_applied_jobs`, so a second job with that key changes nothing even if it carries another
/// point; a job that fails permanently releases the key. The document's fleet-owned fields
/// (`timestamp`, `metrics`, `historical_data`, `fleet_applied_jobs`, `fleet_revision`) are written by
/// a `fleet_revision`-guarded `updateOne` (``MongoDocumentUpdate``), retried on conflicts; other
/// fields survive concurrent changes.
public struct JobMarketTrendIngestHandler: JobHandler {
    public static let collection = "job_market_trends"

    let mongodb: MongoClient
    let dedupWindow: Duration

    public init(mongodb: MongoClient, dedupWindow: Duration = Topology.defaultDedupWindow) {
        self.mongodb = mongodb
        self.dedupWindow = dedupWindow
    }

    /// The filter of one series. `$in` of one id, not an equality: nx-27017 matches an ObjectId field
    /// other than `_id` by equality never (`$eq` neither), but by `$in`; on MongoDB both use the
    /// unique index.
    static func filter(skillId: ObjectId, region: String) -> BSONDocument {
        ["skill_id": ["$in": [.objectId(skillId)]], "region": .string(region)]
    }

    public func handle(_ job: JobMarketTrendIngest, context: JobContext) async throws -> JobOutcome {
        let payload = try Series(job)
        let filter = Self.filter(skillId: payload.skillId, region: payload.region)
        let envelope = context.envelope
        let window = dedupWindow
        let keyed = envelope.idempotencyKey != nil
        let binding = try await KeyBinding.claim(
            mongodb,
            envelope: envelope,
            target: "\(payload.skillId.hex) \(payload.region)"
        ) { connection, target in
            // `<24 hex digits> <region>`
            guard target.utf8.count > 25, let id = try? ObjectId(hex: String(target.prefix(24))) else { return false }
            let document = try connection.collection(Self.collection)
                .findOne(Self.filter(skillId: id, region: String(target.dropFirst(25))))
            return MongoDocumentUpdate.hasApplied(envelope, to: document, window: window)
        }
        guard case .proceed(let claim) = binding else { return .alreadyApplied }
        return try await MongoDocumentUpdate.apply(mongodb, collection: Self.collection, filter: filter, claim: claim) {
            stored in
            let now = Date()
            // Points are idempotent by date; only a producer's idempotency key, which may name a
            // different point, needs recording (keeping every job id would grow the document forever).
            if keyed && MongoDocumentUpdate.hasApplied(envelope, to: stored, window: window, now: now) {
                return (.unchanged, .alreadyApplied)
            }
            var series: TrendSeries
            do {
                series = try stored.map(TrendSeries.init(document:)) ?? TrendSeries()
            } catch {
                throw JobError.permanent(
                    "unreadable_trend_document",
                    "job_market_trends \(payload.skillId.hex) \(String(reflecting: payload.region)): \(error)"
                )
            }
            let merged = series.ingest(payload.point)
            // A keyed job is recorded even when its point was there already: the key took effect here.
            guard merged || keyed else { return (.unchanged, .alreadyApplied) }
            guard let stored else {
                var document: BSONDocument = [
                    "_id": .objectId(ObjectId()), "skill_id": .objectId(payload.skillId),
                    "region": .string(payload.region),
                ]
                series.write(into: &document)
                if keyed {
                    document[MongoDocumentUpdate.appliedJobsField] = AppliedJobs.recording(
                        MongoDocumentUpdate.jobKey(envelope),
                        in: nil,
                        window: window,
                        now: now
                    )
                }
                return (.insert(document), .applied)
            }
            var changes = MongoDocumentUpdate.FieldChanges()
            if merged { series.write(into: &changes) }
            if keyed {
                MongoDocumentUpdate.recordApplied(envelope, in: &changes, current: stored, window: window, now: now)
            }
            return (.update(changes), merged ? .applied : .alreadyApplied)
        }
    }
}

extension JobMarketTrendIngestHandler {
    /// The job as the store sees it: the series it belongs to and its point.
    struct Series {
        let skillId: ObjectId
        let region: String
        let point: TrendPoint

        init(_ job: JobMarketTrendIngest) throws {
            skillId = try ObjectIdField.objectId(job.skillId, field: "skill_id")
            region = job.region
            guard case .date(let date) = BSONValue(job.timestamp) else { preconditionFailure("a Date is a BSON date") }
            point = TrendPoint(date: date, metrics: job.metrics)
        }
    }
}
