import Bolt
import FleetContract
import FleetCore
import FleetJobs
import Foundation
import Redis
import Testing

/// Redis keeps the event locks' fence counters without persistence. When it loses them, the graph
/// still holds the highest fence that wrote, and the writers raise the counter back to it.
@Suite("Redis outage end to end", .serialized)
struct RedisOutageEndToEndTests {
    static func id() -> String { UUID().uuidString.lowercased() }

    /// FLUSHALL wipes the shared Redis, so this runs alone: `scripts/test.sh` runs it in its second
    /// pass with FLEET_OUTAGE_TESTS=1.
    @Test(
        "Redis loses every fence counter mid-run: registrations apply at once, none dead-lettered",
        .enabled(if: ProcessInfo.processInfo.environment["FLEET_OUTAGE_TESTS"] == "1")
    )
    func redisFlushOutageLosesNoRegistration() async throws {
        let environment = try await FleetTestEnvironment.make("redis_outage", workers: ["networking"])
        let graph = BoltClient(configuration: environment.configuration.bolt, maxConnections: 2)
        let redis = RedisClient(configuration: environment.configuration.redis, maxConnections: 1)
        let event = Self.id()
        try await graph.run(
            "CREATE (:Event {event_id: $event, title: 'e2e', max_participants: 100})",
            parameters: ["event": .string(event)]
        )
        let worker = try environment.startWorker("networking")
        func registered() async throws -> Int64 {
            try await graph.run(
                "MATCH (:User)-[r:REGISTERED_FOR]->(:Event {event_id: $event}) RETURN count(r) AS n",
                parameters: ["event": .string(event)]
            ).first("n")?.int ?? -1
        }
        func registrations(_ count: Int) -> [JobEnvelope] {
            (0..<count).map { _ in
                JobEnvelope(
                    id: Self.id(),
                    type: "event.register",
                    createdAt: Date(),
                    payload: ["user_id": .string(Self.id()), "event_id": .string(event)]
                )
            }
        }
        let (producer, stores) = environment.producer()
        for envelope in registrations(150) { try await producer.publish(envelope: envelope, body: envelope.encoded()) }
        try await environment.waitUntil("150 registrations", timeout: .seconds(240)) {
            try await registered() == 150
        }
        let fenceBefore = try await graph.run(
            "MATCH (e:Event {event_id: $event}) RETURN e.fleet_fence AS f",
            parameters: ["event": .string(event)]
        ).first("f")?.int
        #expect((fenceBefore ?? 0) >= 150)

        try await redis.command(["FLUSHALL"])
        for envelope in registrations(15) { try await producer.publish(envelope: envelope, body: envelope.encoded()) }
        let published = ContinuousClock.now
        try await environment.waitUntil("165 registrations", timeout: .seconds(60)) {
            try await registered() == 165
        }
        let took = ContinuousClock.now - published
        #expect(took < .seconds(20), "all 15 applied \(took) after publishing")
        try await environment.waitUntil("the queue drained") {
            try await environment.queueDepth("fleet.networking") == 0
        }
        let counts = try await graph.run(
            "MATCH (:User)-[r:REGISTERED_FOR]->(:Event {event_id: $event}) RETURN r.status AS s, count(r) AS n",
            parameters: ["event": .string(event)]
        )
        let statuses = Dictionary(uniqueKeysWithValues: counts.rows.map { ($0[0].string ?? "?", $0[1].int ?? 0) })
        #expect(statuses == ["confirmed": 100, "waitlisted": 65], "capacity held across the lost counters")
        #expect(try await environment.deadLetters("fleet.networking").isEmpty)
        let fenceAfter = try await redis.command(["GET", "lock:event:\(event):fence"]).string.flatMap { Int64($0) }
        #expect((fenceAfter ?? 0) > (fenceBefore ?? 0), "the counter was raised above the graph's fence")
        let summary = await worker.stop()
        #expect(summary.contains("dead_lettered=0"), "\(summary.suffix(400))")

        try await graph.run(
            "MATCH (u:User)-[:REGISTERED_FOR]->(e:Event {event_id: $event}) DETACH DELETE u",
            parameters: ["event": .string(event)]
        )
        try await graph.run("MATCH (e:Event {event_id: $event}) DELETE e", parameters: ["event": .string(event)])
        await producer.shutdown()
        await stores.shutdown()
        await redis.shutdown()
        await graph.shutdown()
        await environment.tearDown()
    }
}
