import FleetContract
import FleetCore
import FleetJobs
import FleetProducer
import Foundation
import MongoDB
import Redis
import Testing

@Suite("Content and job-market trends end to end")
struct ContentTrendsEndToEndTests {
    /// Publishes an envelope as is, without the producer's validation: how a hostile or buggy
    /// producer's job reaches the worker.
    static func publishUnchecked(_ producer: JobProducer, _ type: String, _ payload: [String: JSONValue]) async throws {
        let envelope = JobEnvelope(id: UUID().uuidString.lowercased(), type: type, createdAt: Date(), payload: payload)
        try await producer.publish(envelope: envelope, body: envelope.encoded())
    }

    static func trendPoint(skill: ObjectId, region: String, day: Int) -> [String: JSONValue] {
        [
            "skill_id": .string(skill.hex), "region": .string(region),
            "timestamp": .string(RFC3339.format(Date(timeIntervalSince1970: 1_780_000_000 + Double(day) * 86_400))),
            "metrics": .object([
                "demand_score": .number(Double(day % 10) + 0.5), "job_postings_count": .integer(Int64(4000 + day)),
                "growth_rate": .number(Double(day) / 4), "companies_hiring": .array([.string("Google")]),
            ]),
        ]
    }

    @Test(
        "Trend points in shuffled order across two workers: sorted history without duplicates; hostile points dead-lettered"
    )
    func shuffledTrendPoints() async throws {
        let environment = try await FleetTestEnvironment.make("trends", workers: ["trends"])
        let workers = [try environment.startWorker("trends"), try environment.startWorker("trends")]
        let (producer, stores) = environment.producer()
        let skill = ObjectId()
        // 50 distinct days, 10 of them published twice as separate jobs: 60 points in random order.
        let days = (Array(0..<50) + (0..<10).map { $0 * 4 }).shuffled()
        for day in days {
            try await producer.enqueue(
                type: "jobmarket.trend.ingest",
                payload: Self.trendPoint(skill: skill, region: "North America", day: day)
            )
        }
        // Data that looks like operators or Cypher is stored as data.
        for region in ["$where", "MATCH (n) DETACH DELETE n"] {
            try await producer.enqueue(
                type: "jobmarket.trend.ingest",
                payload: Self.trendPoint(skill: skill, region: region, day: 0)
            )
        }
        var hostile: [[String: JSONValue]] = []
        for (field, value) in [
            ("region", JSONValue.object(["$gt": .string("")])),
            ("region", .string(String(repeating: "x", count: 100_000))),
            ("skill_id", .string("'; DROP TABLE skills; --")), ("skill_id", .object(["$ne": .null])),
            ("timestamp", .string("soon")),
            (
                "metrics",
                .object(["demand_score": .number(1), "job_postings_count": .integer(1), "$set": .object([:])])
            ),
            ("metrics", .object(["demand_score": .string("high"), "job_postings_count": .integer(1)])),
        ] {
            var payload = Self.trendPoint(skill: skill, region: "North America", day: 99)
            payload[field] = value
            hostile.append(payload)
        }
        for payload in hostile { try await Self.publishUnchecked(producer, "jobmarket.trend.ingest", payload) }

        let mongodb = environment.mongodb
        func trend(_ region: String) async throws -> BSONDocument? {
            try await mongodb.withConnection {
                // `$in`: nx-27017 never matches an ObjectId field other than _id by equality.
                try $0.collection("job_market_trends").findOne([
                    "skill_id": ["$in": [.objectId(skill)]], "region": .string(region),
                ])
            }
        }
        try await environment.waitUntil("50 points stored and \(hostile.count) dead letters") {
            let points = try await trend("North America")?["historical_data"]?.arrayValue?.count ?? 0
            let dead = try await environment.queueDepth("fleet.trends.dlq")
            return points == 50 && dead == hostile.count
        }
        try await Task.sleep(for: .seconds(1))  // nothing more may arrive
        let stored = try #require(try await trend("North America"))
        let dates = (stored["historical_data"]?.arrayValue ?? []).compactMap { $0.documentValue?["date"]?.dateValue }
        #expect(dates.count == 50 && Set(dates).count == 50 && dates == dates.sorted())
        #expect(stored["timestamp"]?.dateValue == Date(timeIntervalSince1970: 1_780_000_000 + 49 * 86_400))
        #expect(stored["metrics"]?.documentValue?["growth_rate"] == .double(49.0 / 4), "the newest point's metrics")
        #expect(try await trend("$where")?["historical_data"]?.arrayValue?.count == 1)
        #expect(try await trend("MATCH (n) DETACH DELETE n") != nil)
        let documents = try await mongodb.withConnection { try $0.collection("job_market_trends").countDocuments() }
        #expect(documents == 3, "hostile jobs created nothing")
        let reasons = try await environment.deadLetters("fleet.trends").map(\.reason)
        #expect(reasons == Array(repeating: "invalid_payload", count: hostile.count))
        for worker in workers { await worker.stop() }
        await producer.shutdown()
        await stores.shutdown()
        await environment.tearDown()
    }

    @Test("A scheduled publish runs at publish_at, not before; unpublish archives and clears the cache")
    func scheduledPublish() async throws {
        let environment = try await FleetTestEnvironment.make("content", workers: ["content"])
        let mongodb = environment.mongodb
        let id = ObjectId()
        _ = try await mongodb.withConnection { connection in
            try connection.collection("content").insertOne([
                "_id": .objectId(id), "type": "article", "title": "Career Growth in Tech", "status": "draft",
                "created_at": BSONValue(Date()),
            ])
        }
        func content() async throws -> BSONDocument? {
            try await mongodb.withConnection { try $0.collection("content").findOne(["_id": .objectId(id)]) }
        }
        let redis = RedisClient(configuration: environment.configuration.redis)
        _ = try await redis.command(["SET", ContentCache.key(id), "{\"status\": \"draft\"}"])
        let worker = try environment.startWorker("content")
        let (producer, stores) = environment.producer()

        let publishAtText = RFC3339.format(Date().addingTimeInterval(10))
        let publishAt = try #require(RFC3339.parse(publishAtText))
        let publish = try await producer.enqueue(
            type: "content.publish",
            payload: ["content_id": .string(id.hex), "publish_at": .string(publishAtText)]
        )
        try await Self.publishUnchecked(producer, "content.publish", ["content_id": .string("$where")])
        try await Self.publishUnchecked(producer, "content.unpublish", ["content_id": .object(["$gt": .string("")])])
        try await producer.enqueue(type: "content.unpublish", payload: ["content_id": .string(ObjectId().hex)])

        try await Task.sleep(until: .now + .seconds(publishAt.timeIntervalSinceNow - 3))
        // On a loaded machine the setup above may already have run past publish_at: only a read that
        // ended before publish_at must still see the draft.
        let early = try await content()?["status"]
        #expect(early == "draft" || Date() >= publishAt, "published before publish_at")
        try await environment.waitUntil("published", timeout: .seconds(90)) {
            try await content()?["status"] == "published"
        }
        let lateness = Date().timeIntervalSince(publishAt)
        // Generous: what matters is "not before"; a loaded broker can hold the retry copy a while.
        #expect(lateness < 60, "published \(lateness) s after publish_at")
        var stored = try #require(try await content())
        #expect(stored["published_at"] == BSONValue(publishAt))
        // The cache is cleared right after the document is written: wait for it rather than race it.
        try await environment.waitUntil("the publish cleared the cache", timeout: .seconds(10)) {
            try await redis.command(["EXISTS", ContentCache.key(id)]).int == 0
        }

        _ = try await redis.command(["SET", ContentCache.key(id), "{\"status\": \"published\"}"])
        try await producer.enqueue(type: "content.unpublish", payload: ["content_id": .string(id.hex)])
        try await environment.waitUntil("archived") { try await content()?["status"] == "archived" }
        try await environment.waitUntil("cache cleared") {
            try await redis.command(["EXISTS", ContentCache.key(id)]).int == 0
        }

        // The first publish delivered again (a redelivery or a producer retry) must not republish.
        try await producer.publish(envelope: publish, body: publish.encoded())
        try await Task.sleep(for: .seconds(3))
        stored = try #require(try await content())
        #expect(stored["status"] == "archived")
        #expect(stored["published_at"] == BSONValue(publishAt))
        #expect(stored["fleet_applied_jobs"]?.arrayValue?.count == 2)

        let reasons = try await environment.deadLetters("fleet.content").map(\.reason).sorted()
        #expect(reasons == ["invalid_payload", "invalid_payload", "unknown_content"])
        let count = try await mongodb.withConnection { try $0.collection("content").countDocuments() }
        #expect(count == 1, "hostile jobs created nothing")
        await worker.stop()
        _ = try await redis.command(["DEL", ContentCache.key(id)])
        await redis.shutdown()
        await producer.shutdown()
        await stores.shutdown()
        await environment.tearDown()
    }
}
