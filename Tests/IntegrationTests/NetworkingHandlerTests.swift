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

/// The networking handlers run directly against the graph server and Redis. Serialized with the
/// other graph suites' spirit: FalkorDB is shared, so each test uses its own random ids and
/// deletes its nodes (and its applied-job records, in small batches: FalkorDB crashes on ~4 KB of parameters).
@Suite("Networking handlers", .serialized)
struct NetworkingHandlerTests {
    let graph: BoltClient
    let redis: RedisClient

    init() throws {
        let configuration = try FleetConfiguration.fromEnvironment(configDirectory: ".")
        graph = BoltClient(configuration: configuration.bolt, maxConnections: 8)
        redis = RedisClient(configuration: configuration.redis, maxConnections: 8)
    }

    static func id() -> String { UUID().uuidString.lowercased() }

    /// Runs a test body, then shuts the clients down (a Redis connection must be closed before release).
    func scoped(_ body: () async throws -> Void) async throws {
        do {
            try await body()
        } catch {
            await graph.shutdown()
            await redis.shutdown()
            throw error
        }
        await graph.shutdown()
        await redis.shutdown()
    }

    func envelope(
        _ type: String,
        _ payload: [String: JSONValue],
        id: String = Self.id(),
        createdAt: Date = Date(),
        idempotencyKey: String? = nil
    ) -> JobEnvelope {
        JobEnvelope(id: id, type: type, createdAt: createdAt, idempotencyKey: idempotencyKey, payload: payload)
    }

    func context(_ envelope: JobEnvelope, attempt: Int = 1) -> JobContext {
        JobContext(envelope: envelope, attempt: attempt, traceparent: nil, logger: Logger(label: "test"))
    }

    func run<H: JobHandler>(_ handler: H, _ envelope: JobEnvelope, attempt: Int = 1) async throws -> JobOutcome {
        let payload = try handler.parse(FieldReader(payload: envelope.payload), version: 1)
        return try await handler.handle(payload, context: context(envelope, attempt: attempt))
    }

    // The handlers run with the production lock lease and timeout: racers wait in line for the
    // event's lock (RedisLock), so 100 of them take about 100 critical sections, not a lucky poll.

    /// These tests check capacity under races, not speed: with every suite running at once on two
    /// cores, 100 racers for one lock have been seen to wait past the production 10 s.
    static let lockTimeout = Duration.seconds(120)

    func register(_ user: String, _ event: String, id: String = Self.id()) async throws -> JobOutcome {
        try await run(
            EventRegisterHandler(graph: graph, redis: redis, lockTimeout: Self.lockTimeout),
            envelope("event.register", ["user_id": .string(user), "event_id": .string(event)], id: id)
        )
    }

    func cancel(_ user: String, _ event: String, id: String = Self.id()) async throws -> JobOutcome {
        try await run(
            EventCancelHandler(graph: graph, redis: redis, lockTimeout: Self.lockTimeout),
            envelope("event.cancel", ["user_id": .string(user), "event_id": .string(event)], id: id)
        )
    }

    func createEvent(max: Int) async throws -> String {
        let event = Self.id()
        try await graph.run(
            "CREATE (:Event {event_id: $event, max_participants: $max, title: 'test'})",
            parameters: ["event": .string(event), "max": .integer(Int64(max))]
        )
        return event
    }

    /// Status per user id.
    func registrations(_ event: String) async throws -> [String: String] {
        let result = try await graph.run(
            "MATCH (u:User)-[r:REGISTERED_FOR]->(:Event {event_id: $event}) RETURN u.user_id AS user, r.status AS status",
            parameters: ["event": .string(event)]
        )
        return Dictionary(
            uniqueKeysWithValues: result.rows.map { ($0[0].string ?? "?", $0[1].string ?? "?") }
        )
    }

    func deleteEvent(_ event: String) async throws {
        try await graph.run(
            "MATCH (u:User)-[:REGISTERED_FOR]->(e:Event {event_id: $event}) DETACH DELETE u",
            parameters: ["event": .string(event)]
        )
        try await graph.run("MATCH (e:Event {event_id: $event}) DELETE e", parameters: ["event": .string(event)])
    }

    func deleteAppliedJobs(_ type: String, _ ids: [String]) async throws {
        for start in stride(from: 0, to: ids.count, by: 20) {
            let keys = ids[start..<min(start + 20, ids.count)].map { BoltValue.string("\(type) \($0)") }
            try await graph.run(
                "MATCH (j:FleetAppliedJob) WHERE j.key IN $keys DELETE j",
                parameters: ["keys": .list(Array(keys))]
            )
        }
    }

    @Test func registerCancelAndPromote() async throws {
        try await scoped {
            let event = try await createEvent(max: 2)
            let users = (0..<4).map { _ in Self.id() }
            var registerIds: [String] = []
            var cancelIds: [String] = []
            func reg(_ user: String, id: String = Self.id()) async throws -> JobOutcome {
                registerIds.append(id)
                return try await register(user, event, id: id)
            }
            func can(_ user: String) async throws -> JobOutcome {
                let id = Self.id()
                cancelIds.append(id)
                return try await cancel(user, event, id: id)
            }
            for user in users { #expect(try await reg(user) == .applied) }
            #expect(
                try await registrations(event)
                    == [users[0]: "confirmed", users[1]: "confirmed", users[2]: "waitlisted", users[3]: "waitlisted"]
            )
            // The same job again, and a new job for an active registration: nothing changes.
            #expect(try await register(users[0], event, id: registerIds[0]) == .alreadyApplied)
            #expect(try await reg(users[2]) == .applied)
            #expect(try await registrations(event)[users[2]] == "waitlisted")

            #expect(try await can(users[0]) == .applied)
            #expect(
                try await registrations(event)
                    == [users[0]: "cancelled", users[1]: "confirmed", users[2]: "confirmed", users[3]: "waitlisted"],
                "the earliest waitlisted registration was promoted"
            )
            #expect(try await can(users[0]) == .applied, "cancelling a cancelled registration is a no-op")
            #expect(try await can(Self.id()) == .applied, "so is cancelling a registration that never was")
            #expect(try await registrations(event)[users[3]] == "waitlisted")
            #expect(try await reg(users[0]) == .applied)
            #expect(try await registrations(event)[users[0]] == "waitlisted", "registers again, behind the queue")
            #expect(try await can(users[3]) == .applied)
            #expect(try await can(users[1]) == .applied)
            #expect(
                try await registrations(event)
                    == [users[0]: "confirmed", users[1]: "cancelled", users[2]: "confirmed", users[3]: "cancelled"]
            )
            let dates = try await graph.run(
                "MATCH (:User)-[r:REGISTERED_FOR]->(:Event {event_id: $event}) RETURN r.registration_date AS d",
                parameters: ["event": .string(event)]
            )
            for row in dates.rows {
                let text = try #require(row[0].string)
                #expect(text.count == 24 && RFC3339.parse(text) != nil, "fixed-width RFC 3339: \(text)")
            }
            try await deleteEvent(event)
            try await deleteAppliedJobs("event.register", registerIds)
            try await deleteAppliedJobs("event.cancel", cancelIds)
        }
    }

    @Test func anUnknownEventIsPermanentAndTouchesNothing() async throws {
        try await scoped {
            let user = Self.id()
            let error = await #expect(throws: JobError.self) { try await register(user, Self.id()) }
            #expect(error?.kind == .permanent && error?.reason == "unknown_event")
            let cancelError = await #expect(throws: JobError.self) { try await cancel(user, Self.id()) }
            #expect(cancelError?.reason == "unknown_event")
            let users = try await graph.run(
                "MATCH (u:User {user_id: $user}) RETURN count(u) AS n",
                parameters: ["user": .string(user)]
            )
            #expect(users.first("n") == 0)
        }
    }

    /// Redis lost the fence counter (restart, FLUSHALL, expiry): the graph's stored fence is far above
    /// what the counter hands out. The job raises the counter to the stored fence and applies at once.
    @Test func aFenceCounterRedisLostIsRaisedToTheGraphsFence() async throws {
        try await scoped {
            let event = try await createEvent(max: 5)
            let stored: Int64 = 1 << 40
            try await graph.run(
                "MATCH (e:Event {event_id: $event}) SET e.fleet_fence = $fence",
                parameters: ["event": .string(event), "fence": .integer(stored)]
            )
            let user = Self.id()
            #expect(try await register(user, event) == .applied)
            #expect(try await registrations(event) == [user: "confirmed"])
            let fence = try await graph.run(
                "MATCH (e:Event {event_id: $event}) RETURN e.fleet_fence AS f",
                parameters: ["event": .string(event)]
            ).first("f")?.int
            #expect(fence == stored + 1, "the new lease's fence is above the stored one")
            let counter = "lock:event:\(event):fence"
            #expect(try await redis.command(["GET", counter]).string == String(stored + 1))
            let ttl = try #require(try await redis.command(["PTTL", counter]).int)
            #expect(ttl > 0, "event fence counters carry a retention")
            try await redis.command(["DEL", counter])
            try await deleteEvent(event)
        }
    }

    @Test func hundredRacingRegistrationsFillTenPlaces() async throws {
        try await scoped {
            let event = try await createEvent(max: 10)
            let jobs = (0..<100).map { _ in (user: Self.id(), id: Self.id()) }
            let outcomes = try await withThrowingTaskGroup(of: JobOutcome.self) { group in
                for job in jobs {
                    group.addTask { try await register(job.user, event, id: job.id) }
                }
                return try await group.reduce(into: [JobOutcome]()) { $0.append($1) }
            }
            #expect(outcomes.allSatisfy { $0 == .applied })
            let statuses = try await registrations(event)
            #expect(statuses.count == 100)
            #expect(statuses.values.filter { $0 == "confirmed" }.count == 10)
            #expect(statuses.values.filter { $0 == "waitlisted" }.count == 90)
            try await deleteEvent(event)
            try await deleteAppliedJobs("event.register", jobs.map(\.id))
        }
    }

    @Test func mentorshipSessionsCountOncePerJob() async throws {
        try await scoped {
            let user = Self.id()
            let mentor = Self.id()
            let payload: [String: JSONValue] = ["user_id": .string(user), "mentor_user_id": .string(mentor)]
            let logged = MentorshipSessionLoggedHandler(graph: graph)
            // Before the mentorship exists: counted on a pending mentorship, which the start activates.
            let early = envelope("mentorship.session_logged", payload)
            #expect(try await run(logged, early) == .applied)
            let pending = try await graph.run(
                """
                MATCH (:User {user_id: $user})-[r:MENTORED_BY]->(:Mentor {user_id: $mentor})
                RETURN r.session_count AS sessions, r.status AS status, r.start_date AS started
                """,
                parameters: ["user": .string(user), "mentor": .string(mentor)]
            )
            #expect(pending.first("sessions") == 1 && pending.first("status") == "pending")
            #expect(pending.first("started") == .null)

            let start = envelope("mentorship.start", payload)
            #expect(try await run(MentorshipStartHandler(graph: graph), start) == .applied)
            #expect(try await run(MentorshipStartHandler(graph: graph), start) == .alreadyApplied)
            let sessions = (0..<3).map { _ in envelope("mentorship.session_logged", payload) }
            for session in sessions { #expect(try await run(logged, session) == .applied) }
            #expect(try await run(logged, sessions[1]) == .alreadyApplied)
            // A second start job leaves the running mentorship alone.
            #expect(
                try await run(MentorshipStartHandler(graph: graph), envelope("mentorship.start", payload)) == .applied
            )

            let result = try await graph.run(
                """
                MATCH (:User {user_id: $user})-[r:MENTORED_BY]->(:Mentor {user_id: $mentor})
                RETURN r.session_count AS sessions, r.status AS status, r.start_date AS started, count(r) AS n
                """,
                parameters: ["user": .string(user), "mentor": .string(mentor)]
            )
            #expect(result.first("sessions") == 4 && result.first("status") == "active" && result.first("n") == 1)
            #expect(
                result.first("started")?.string == RFC3339.format(JobStamp(start).createdAt),
                "the start's created_at"
            )
            try await graph.run(
                "MATCH (u:User {user_id: $user}) DETACH DELETE u",
                parameters: ["user": .string(user)]
            )
            try await graph.run(
                "MATCH (m:Mentor {user_id: $mentor}) DETACH DELETE m",
                parameters: ["mentor": .string(mentor)]
            )
            try await deleteAppliedJobs("mentorship.session_logged", sessions.map(\.id) + [early.id])
            try await deleteAppliedJobs("mentorship.start", [start.id])
        }
    }
}
