import Bolt
import FleetApp
import FleetContract
import FleetCore
import FleetJobs
import FleetStoreKit
import Foundation
import Logging
import Redis
import Testing

/// Deduplication records of the graph past the window are removed; newer ones and other types stay.
/// Also: the largest idempotency key the envelope allows reaches FalkorDB only as a short hash.
@Suite("Graph retention", .serialized)
struct GraphRetentionTests {
    let graph: BoltClient

    init() throws {
        let configuration = try FleetConfiguration.fromEnvironment(configDirectory: ".")
        graph = BoltClient(configuration: configuration.bolt, maxConnections: 2)
    }

    /// A job type of this test's own, so that other tests' records are never touched.
    static func testType() -> String { "retention.t\(UInt32.random(in: 0...UInt32.max))" }

    func create(_ type: String, count: Int, appliedAt: Date, from first: Int = 0) async throws {
        // In batches: one statement creating thousands of nodes is fine, a list parameter is not.
        try await graph.run(
            """
            UNWIND range($first, $last) AS i
            CREATE (:FleetAppliedJob {key: $prefix + toString(i), token: 't', applied_at: $at})
            """,
            parameters: [
                "first": .integer(Int64(first)), "last": .integer(Int64(first + count - 1)),
                "prefix": .string("\(type) "), "at": .string(RFC3339.format(appliedAt)),
            ]
        )
    }

    func count(_ type: String) async throws -> Int64 {
        try await graph.run(
            "MATCH (j:FleetAppliedJob) WHERE j.key STARTS WITH $prefix RETURN count(j) AS n",
            parameters: ["prefix": .string("\(type) ")]
        ).first("n")?.int ?? -1
    }

    @Test func recordsPastTheWindowAreDeletedInBatches() async throws {
        let type = Self.testType()
        let other = Self.testType()
        let now = Date()
        let cutoff = now.addingTimeInterval(-7 * 86_400)
        // More than two batches past the window, a few inside it, and another type past it.
        try await create(
            type,
            count: GraphRetention.batchSize * 2 + 37,
            appliedAt: cutoff.addingTimeInterval(-3 * 86_400)
        )
        try await create(type, count: 1, appliedAt: cutoff.addingTimeInterval(-0.001), from: 100_000)
        try await create(type, count: 5, appliedAt: cutoff.addingTimeInterval(60), from: 200_000)
        try await create(type, count: 5, appliedAt: now, from: 300_000)
        try await create(other, count: 3, appliedAt: cutoff.addingTimeInterval(-86_400))

        let deleted = try await GraphRetention.prune(graph, jobType: type, olderThan: cutoff)
        #expect(deleted == GraphRetention.batchSize * 2 + 38)
        #expect(try await count(type) == 10, "records inside the window stay")
        #expect(try await count(other) == 3, "other job types are untouched")
        #expect(try await GraphRetention.prune(graph, jobType: type, olderThan: cutoff) == 0)

        #expect(try await GraphRetention.prune(graph, jobType: type, olderThan: now.addingTimeInterval(1)) == 10)
        #expect(try await GraphRetention.prune(graph, jobType: other, olderThan: now) == 3)
        await #expect(throws: GraphRetention.InvalidJobType.self) {
            try await GraphRetention.prune(graph, jobType: "x' MATCH (n) DETACH DELETE n //", olderThan: now)
        }
        await graph.shutdown()
    }

    /// 200 code points in 800 UTF-8 bytes, the envelope's limits: hex-encoded it would be a 1,600
    /// character parameter; hashed, each job still applies once.
    @Test func theLargestIdempotencyKeyWorksOnTheGraph() async throws {
        let configuration = try FleetConfiguration.fromEnvironment(configDirectory: ".")
        let redis = RedisClient(configuration: configuration.redis, maxConnections: 2)
        let event = UUID().uuidString.lowercased()
        let user = UUID().uuidString.lowercased()
        let mentor = UUID().uuidString.lowercased()
        try await graph.run(
            "CREATE (:Event {event_id: $event, max_participants: 5})",
            parameters: ["event": .string(event)]
        )
        let longest = String(repeating: "\u{1F600}", count: 200)
        #expect(longest.unicodeScalars.count == 200 && longest.utf8.count == 800)
        func context(_ envelope: JobEnvelope) -> JobContext {
            JobContext(envelope: envelope, attempt: 1, traceparent: nil, logger: Logger(label: "test"))
        }
        let register = JobEnvelope(
            id: UUID().uuidString.lowercased(),
            type: "event.register",
            createdAt: Date(),
            idempotencyKey: longest,
            payload: [:]
        )
        let handler = EventRegisterHandler(graph: graph, redis: redis)
        let payload = EventRegister(userId: user, eventId: event)
        #expect(try await handler.handle(payload, context: context(register)) == .applied)
        #expect(try await handler.handle(payload, context: context(register)) == .alreadyApplied)
        let session = JobEnvelope(
            id: UUID().uuidString.lowercased(),
            type: "mentorship.session_logged",
            createdAt: Date(),
            idempotencyKey: longest,
            payload: [:]
        )
        let logged = MentorshipSessionLoggedHandler(graph: graph)
        let pair = MentorshipSessionLogged(userId: user, mentorUserId: mentor)
        #expect(try await logged.handle(pair, context: context(session)) == .applied)
        #expect(try await logged.handle(pair, context: context(session)) == .alreadyApplied)

        let keys = try await graph.run(
            "MATCH (j:FleetAppliedJob) WHERE j.key IN [$a, $b] RETURN j.key AS k",
            parameters: [
                "a": .string(GraphJobClaim.jobKey(register)), "b": .string(GraphJobClaim.jobKey(session)),
            ]
        )
        #expect(keys.rows.count == 2)
        #expect(keys.rows.allSatisfy { ($0[0].string?.count ?? 1000) < 100 })

        try await graph.run(
            "MATCH (j:FleetAppliedJob) WHERE j.key IN [$a, $b] DELETE j",
            parameters: [
                "a": .string(GraphJobClaim.jobKey(register)), "b": .string(GraphJobClaim.jobKey(session)),
            ]
        )
        try await graph.run("MATCH (u:User {user_id: $user}) DETACH DELETE u", parameters: ["user": .string(user)])
        try await graph.run("MATCH (m:Mentor {user_id: $m}) DETACH DELETE m", parameters: ["m": .string(mentor)])
        try await graph.run("MATCH (e:Event {event_id: $event}) DELETE e", parameters: ["event": .string(event)])
        try await redis.command(["DEL", "lock:event:\(event):fence"])
        await redis.shutdown()
        await graph.shutdown()
    }
}
