import FleetCore
import Foundation
import MongoDB

/// `jobmarket.trend.ingest` `{skill_id, region, timestamp, metrics}` → MongoDB `job_market_trends`:
/// one document per (skill_id, region) (unique index) with the newest point's `timestamp` and
/// `metrics`, and every point once in `historical_data`, sorted by date (``TrendSeries``).
///
/// `region` is data: any non-blank string of at most ``maxRegionLength`` characters, stored as it
/// is (`"$where"` included).
///
/// Exactly once by construction: the merge ignores a point it already holds, so
/// a redelivered job or a repeat changes nothing, and no job key is recorded (a key list would
/// grow with the history and make the document depend on arrival order). So two jobs that share
/// an `idempotency_key` but carry different points both take effect. The document is read, merged
/// and replaced under its `fleet_revision` (``MongoDocumentUpdate``), retried on conflicts.
public struct JobMarketTrendIngestHandler: JobHandler {
    public static let jobType = "jobmarket.trend.ingest"
    public static let collection = "job_market_trends"
    public static let maxRegionLength = 100

    public struct Payload: Sendable, Equatable {
        public let skillId: ObjectId
        public let region: String
        public let point: TrendPoint
    }

    let mongodb: MongoClient

    public init(mongodb: MongoClient) {
        self.mongodb = mongodb
    }

    public func parse(_ payload: FieldReader, version: Int) throws(EnvelopeRejection) -> Payload {
        let skillId = try ObjectIdField.read(payload, "skill_id")
        let region = try payload.string("region")
        guard !region.allSatisfy(\.isWhitespace) else { throw payload.invalid("region", "must not be blank") }
        // A NUL would make nx-27017 match another region's series (it compares filter strings up to
        // the NUL); no region name needs control characters.
        guard !region.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) else {
            throw payload.invalid("region", "must not contain control characters")
        }
        guard region.count <= Self.maxRegionLength else {
            throw payload.invalid("region", "longer than \(Self.maxRegionLength) characters")
        }
        let timestamp = try payload.timestamp("timestamp")
        guard case .date(let date) = BSONValue(timestamp) else { preconditionFailure("a Date is a BSON date") }
        let metrics = try TrendMetrics.read(payload, "metrics")
        return Payload(skillId: skillId, region: region, point: TrendPoint(date: date, metrics: metrics))
    }

    public func handle(_ payload: Payload, context: JobContext) async throws -> JobOutcome {
        // `$in` of one id, not an equality: nx-27017 matches an ObjectId field other than `_id` by
        // equality never (`$eq` neither), but by `$in`; on MongoDB both use the unique index.
        let filter: BSONDocument = [
            "skill_id": ["$in": [.objectId(payload.skillId)]], "region": .string(payload.region),
        ]
        let envelope = context.envelope
        let seriesKey = "\(payload.skillId.hex) \(payload.region)"
        guard try await MongoDocumentUpdate.bindKey(mongodb, envelope: envelope, target: seriesKey) else {
            return .alreadyApplied
        }
        return try await MongoDocumentUpdate.apply(mongodb, collection: Self.collection, filter: filter) { stored in
            // Points are idempotent by date; only a producer's idempotency key, which may name a
            // different point, needs recording (keeping every job id would grow the document forever).
            if envelope.idempotencyKey != nil && MongoDocumentUpdate.hasApplied(envelope, to: stored) {
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
            guard series.ingest(payload.point) else { return (.unchanged, .alreadyApplied) }
            var document =
                stored ?? [
                    "_id": .objectId(ObjectId()), "skill_id": .objectId(payload.skillId),
                    "region": .string(payload.region),
                ]
            series.write(into: &document)
            if envelope.idempotencyKey != nil { MongoDocumentUpdate.recordApplied(envelope, in: &document) }
            return (.write(document), .applied)
        }
    }
}
