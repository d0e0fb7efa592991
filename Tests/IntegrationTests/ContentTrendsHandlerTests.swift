import FleetContract
import FleetCore
import FleetJobs
import FleetStoreKit
import Foundation
import Logging
import MongoDB
import Redis
import Testing

/// The content and trend handlers run directly (parse, then handle with a JobContext) against
/// nx-27017 and Redis, each test in a MongoDB database of its own and under random Redis keys.
@Suite("Content and trend handlers")
struct ContentTrendsHandlerTests {
    static let redisURL = ProcessInfo.processInfo.environment["FLEET_REDIS_URL"] ?? "redis://127.0.0.1:56379/0"

    static func envelope(_ type: String, _ payload: [String: JSONValue], key: String? = nil) -> JobEnvelope {
        JobEnvelope(
            id: UUID().uuidString.lowercased(),
            type: type,
            createdAt: Date(),
            idempotencyKey: key,
            payload: payload
        )
    }

    /// Parses the envelope's payload as the consumer does, then handles it.
    static func run<H: JobHandler>(_ handler: H, _ envelope: JobEnvelope) async throws -> JobOutcome {
        let payload = try handler.parse(FieldReader(payload: envelope.payload), version: envelope.version)
        let context = JobContext(envelope: envelope, attempt: 1, traceparent: nil, logger: Logger(label: "test"))
        return try await handler.handle(payload, context: context)
    }

    static func withStores(_ body: (MongoClient, RedisClient) async throws -> Void) async throws {
        let redis = RedisClient(configuration: try RedisConfiguration(url: redisURL), maxConnections: 4)
        do {
            try await MongoJobStoreTests.withScratchDatabase { mongodb in try await body(mongodb, redis) }
        } catch {
            await redis.shutdown()
            throw error
        }
        await redis.shutdown()
    }

    // MARK: - Content

    /// A content document as the content API seeds it: no fleet fields.
    static func seedContent(_ mongodb: MongoClient, status: String = "draft") async throws -> ObjectId {
        let id = ObjectId()
        _ = try await mongodb.withConnection { connection in
            try connection.collection("content").insertOne([
                "_id": .objectId(id), "type": "article", "title": "Career Growth in Tech",
                "engagement": ["views": 1523, "likes": 89, "comments": [["user_id": "u1", "comment": "Great"]]],
                "status": .string(status), "created_at": BSONValue(Date(timeIntervalSince1970: 1_700_000_000)),
            ])
        }
        return id
    }

    /// The keys recorded in `fleet_applied_jobs`, in order.
    static func appliedKeys(_ document: BSONDocument) -> [String] {
        (document[MongoDocumentUpdate.appliedJobsField]?.arrayValue ?? []).compactMap {
            $0.stringValue ?? $0.documentValue?["key"]?.stringValue
        }
    }

    static func content(_ mongodb: MongoClient, _ id: ObjectId) async throws -> BSONDocument? {
        try await mongodb.withConnection { try $0.collection("content").findOne(["_id": .objectId(id)]) }
    }

    @Test func publishUnpublishAndRedeliveriesChangeTheDocumentOnceAndClearTheCache() async throws {
        try await Self.withStores { mongodb, redis in
            let publish = ContentPublishHandler(mongodb: mongodb, redis: redis)
            let unpublish = ContentUnpublishHandler(mongodb: mongodb, redis: redis)
            let id = try await Self.seedContent(mongodb)
            let unrelated = "content-test-unrelated:\(UUID().uuidString)"
            let derived = ContentCache.key(id) + ":html:en"
            _ = try await redis.pipeline([
                ["SET", ContentCache.key(id), "{cached}"], ["SET", derived, "<p>"], ["SET", unrelated, "keep"],
                ["SADD", ContentCache.keySet(id), derived, unrelated],
            ])

            let publishAt = "2026-01-02T03:04:05.678Z"
            let first = Self.envelope(
                "content.publish",
                ["content_id": .string(id.hex), "publish_at": .string(publishAt)]
            )
            #expect(try await Self.run(publish, first) == .applied)
            var stored = try #require(try await Self.content(mongodb, id))
            #expect(stored["status"] == "published")
            #expect(stored["published_at"] == BSONValue(RFC3339.parse(publishAt)!))
            #expect(stored["updated_at"]?.dateValue != nil)
            #expect(stored["fleet_revision"]?.intValue == 1)
            #expect(Self.appliedKeys(stored) == ["content.publish \(first.id)"])
            #expect(stored["fleet_applied_jobs"]?.arrayValue?.first?.documentValue?["at"]?.dateValue != nil)
            #expect(stored["engagement"]?.documentValue?["views"] == 1523, "fields of others are kept")
            #expect(stored["title"] == "Career Growth in Tech")
            for key in [ContentCache.key(id), derived, ContentCache.keySet(id)] {
                #expect(try await redis.command(["EXISTS", key]).int == 0, "\(key) invalidated")
            }
            #expect(try await redis.command(["GET", unrelated]) == .string("keep"), "a stray set member is kept")

            // A redelivery changes nothing, but clears the cache again (a failed invalidation is repaired).
            _ = try await redis.command(["SET", ContentCache.key(id), "{stale}"])
            #expect(try await Self.run(publish, first) == .alreadyApplied)
            #expect(try await redis.command(["EXISTS", ContentCache.key(id)]).int == 0)
            #expect(try await Self.content(mongodb, id)?["fleet_revision"]?.intValue == 1)

            #expect(
                try await Self.run(unpublish, Self.envelope("content.unpublish", ["content_id": .string(id.hex)]))
                    == .applied
            )
            #expect(try await Self.content(mongodb, id)?["status"] == "archived")
            // The first publish delivered again after the unpublish: already applied, still archived.
            #expect(try await Self.run(publish, first) == .alreadyApplied)
            stored = try #require(try await Self.content(mongodb, id))
            #expect(stored["status"] == "archived")
            #expect(stored["published_at"] == BSONValue(RFC3339.parse(publishAt)!), "archiving keeps published_at")

            // A new publish republishes, keeping the first publication's time.
            let again = Self.envelope("content.publish", ["content_id": .string(id.hex)])
            #expect(try await Self.run(publish, again) == .applied)
            stored = try #require(try await Self.content(mongodb, id))
            #expect(stored["status"] == "published")
            #expect(stored["published_at"] == BSONValue(RFC3339.parse(publishAt)!))
            // Publishing published content: a no-op that records the job and leaves updated_at.
            let updatedAt = stored["updated_at"]
            #expect(
                try await Self.run(publish, Self.envelope("content.publish", ["content_id": .string(id.hex)]))
                    == .applied
            )
            stored = try #require(try await Self.content(mongodb, id))
            #expect(stored["updated_at"] == updatedAt && stored["status"] == "published")
            #expect(stored["fleet_applied_jobs"]?.arrayValue?.count == 4)
            _ = try await redis.command(["DEL", unrelated])
        }
    }

    @Test func withoutPublishAtTheJobTimeIsRecorded() async throws {
        try await Self.withStores { mongodb, redis in
            let id = try await Self.seedContent(mongodb)
            let created = Date(timeIntervalSince1970: 1_750_000_000.25)
            let envelope = JobEnvelope(
                id: UUID().uuidString.lowercased(),
                type: "content.publish",
                createdAt: created,
                payload: ["content_id": .string(id.hex)]
            )
            #expect(try await Self.run(ContentPublishHandler(mongodb: mongodb, redis: redis), envelope) == .applied)
            #expect(try await Self.content(mongodb, id)?["published_at"] == BSONValue(created))
        }
    }

    static func expectUnknown<H: JobHandler>(_ handler: H, _ id: ObjectId) async {
        let error = await #expect(throws: JobError.self) {
            try await Self.run(handler, Self.envelope(H.jobType, ["content_id": .string(id.hex)]))
        }
        #expect(error?.kind == .permanent)
        #expect(error?.reason == "unknown_content")
    }

    @Test func unknownContentIsAPermanentErrorThatWritesNothing() async throws {
        try await Self.withStores { mongodb, redis in
            let id = ObjectId()
            await Self.expectUnknown(ContentPublishHandler(mongodb: mongodb, redis: redis), id)
            await Self.expectUnknown(ContentUnpublishHandler(mongodb: mongodb, redis: redis), id)
            let count = try await mongodb.withConnection { try $0.collection("content").countDocuments() }
            #expect(count == 0)
        }
    }

    @Test func racingStatusJobsEachTakeEffectOnce() async throws {
        try await Self.withStores { mongodb, redis in
            let id = try await Self.seedContent(mongodb)
            let publish = ContentPublishHandler(mongodb: mongodb, redis: redis)
            let unpublish = ContentUnpublishHandler(mongodb: mongodb, redis: redis)
            let envelopes = (0..<24).map {
                Self.envelope($0 % 2 == 0 ? "content.publish" : "content.unpublish", ["content_id": .string(id.hex)])
            }
            try await withThrowingTaskGroup(of: Void.self) { group in
                // Each job twice, all at once.
                for envelope in envelopes + envelopes {
                    group.addTask {
                        if envelope.type == "content.publish" {
                            _ = try await Self.run(publish, envelope)
                        } else {
                            _ = try await Self.run(unpublish, envelope)
                        }
                    }
                }
                try await group.waitForAll()
            }
            let stored = try #require(try await Self.content(mongodb, id))
            let applied = stored["fleet_applied_jobs"]?.arrayValue ?? []
            #expect(applied.count == 24 && Set(Self.appliedKeys(stored)).count == 24)
            #expect(stored["fleet_revision"]?.intValue == 24)
            #expect(stored["published_at"]?.dateValue != nil)
        }
    }

    // MARK: - Trends

    static func trendPayload(
        skill: ObjectId,
        region: String,
        day: Int,
        demand: Double,
        postings: Int64
    ) -> [String: JSONValue] {
        [
            "skill_id": .string(skill.hex), "region": .string(region),
            "timestamp": .string(RFC3339.format(Date(timeIntervalSince1970: 1_790_000_000 + Double(day) * 86_400))),
            "metrics": .object([
                "demand_score": .number(demand), "job_postings_count": .integer(postings),
                "growth_rate": .number(Double(day) / 10),
                "avg_salary": .object(["entry_level": .integer(75000), "mid_level": .integer(95000)]),
                "companies_hiring": .array([.string("Google"), .string("$where")]),
            ]),
        ]
    }

    static func trend(_ mongodb: MongoClient, _ skill: ObjectId, _ region: String) async throws -> BSONDocument? {
        try await mongodb.withConnection {
            // `$in`: nx-27017 matches ObjectId fields other than _id by equality never.
            try $0.collection("job_market_trends").findOne([
                "skill_id": ["$in": [.objectId(skill)]], "region": .string(region),
            ])
        }
    }

    @Test func concurrentShuffledPointsGiveTheSameDocumentAsSequentialOnes() async throws {
        try await Self.withStores { mongodb, _ in
            let handler = JobMarketTrendIngestHandler(mongodb: mongodb)
            let (first, second) = (ObjectId(), ObjectId())
            // 30 days, 8 of them sent twice (as separate jobs), delivered in two different orders.
            let days = Array(0..<30) + Array(0..<8).map { $0 * 3 }
            let jobs: (ObjectId) -> [JobEnvelope] = { skill in
                days.map { day in
                    Self.envelope(
                        "jobmarket.trend.ingest",
                        Self.trendPayload(
                            skill: skill,
                            region: "$where",
                            day: day,
                            demand: Double(day % 7),
                            postings: Int64(100 + day)
                        )
                    )
                }
            }
            for envelope in jobs(first).shuffled() { _ = try await Self.run(handler, envelope) }
            let racing = jobs(second).shuffled()
            try await withThrowingTaskGroup(of: JobOutcome.self) { group in
                for envelope in racing + racing.prefix(10) { group.addTask { try await Self.run(handler, envelope) } }
                try await group.waitForAll()
            }
            let sequential = try #require(try await Self.trend(mongodb, first, "$where"))
            let concurrent = try #require(try await Self.trend(mongodb, second, "$where"))
            let history = try #require(sequential["historical_data"]?.arrayValue)
            let dates = history.compactMap { $0.documentValue?["date"]?.dateValue }
            #expect(dates.count == 30 && dates == dates.sorted() && Set(dates).count == 30)
            #expect(sequential["metrics"]?.documentValue?["growth_rate"] == .double(2.9), "the newest point's metrics")
            #expect(sequential["region"] == "$where", "an operator-looking region is stored as data")
            func comparable(_ document: BSONDocument) -> BSONDocument {
                var document = document
                for key in ["_id", "skill_id", MongoDocumentUpdate.revisionField] { document[key] = nil }
                return document
            }
            #expect(comparable(sequential) == comparable(concurrent))
            #expect(try await mongodb.withConnection { try $0.collection("job_market_trends").countDocuments() } == 2)
        }
    }

    @Test func aSeededDocumentWithoutRevisionIsMergedInto() async throws {
        try await Self.withStores { mongodb, _ in
            let skill = ObjectId()
            _ = try await mongodb.withConnection { connection in
                try connection.collection("job_market_trends").insertOne([
                    "skill_id": .objectId(skill), "region": "North America", "source": "seed",
                    "timestamp": .date(1_000), "metrics": ["demand_score": 8.5, "job_postings_count": 5234],
                    "historical_data": [["date": .date(1_000), "demand_score": 8.2, "job_postings_count": 4500]],
                ])
            }
            let handler = JobMarketTrendIngestHandler(mongodb: mongodb)
            let payload = Self.trendPayload(skill: skill, region: "North America", day: 0, demand: 7, postings: 10)
            #expect(try await Self.run(handler, Self.envelope("jobmarket.trend.ingest", payload)) == .applied)
            #expect(try await Self.run(handler, Self.envelope("jobmarket.trend.ingest", payload)) == .alreadyApplied)
            let stored = try #require(try await Self.trend(mongodb, skill, "North America"))
            #expect(stored["source"] == "seed")
            #expect(stored["historical_data"]?.arrayValue?.count == 2)
            #expect(stored["metrics"]?.documentValue?["demand_score"] == .double(7))
            #expect(stored["fleet_revision"]?.intValue == 1)
        }
    }

    /// Two jobs with one idempotency key take effect once, even when they carry different points.
    @Test func anIdempotencyKeyNamesOnePointWhateverTheSecondJobCarries() async throws {
        try await Self.withStores { mongodb, _ in
            let skill = ObjectId()
            let handler = JobMarketTrendIngestHandler(mongodb: mongodb)
            let first = Self.trendPayload(skill: skill, region: "Europe", day: 1, demand: 7, postings: 10)
            let second = Self.trendPayload(skill: skill, region: "Europe", day: 2, demand: 9, postings: 20)
            let key = "ingest-batch-7/Europe"
            #expect(try await Self.run(handler, Self.envelope("jobmarket.trend.ingest", first, key: key)) == .applied)
            #expect(
                try await Self.run(handler, Self.envelope("jobmarket.trend.ingest", second, key: key))
                    == .alreadyApplied
            )
            #expect(try await Self.run(handler, Self.envelope("jobmarket.trend.ingest", second)) == .applied)
            let stored = try #require(try await Self.trend(mongodb, skill, "Europe"))
            #expect(stored["historical_data"]?.arrayValue?.count == 2)
            #expect(stored["fleet_applied_jobs"]?.arrayValue?.count == 1)
        }
    }
}
