import Bolt
import FleetContract
import FleetCore
import FleetJobs
import Foundation
import Testing

/// Event registrations and mentorships through RabbitMQ, with `networking` worker processes of the
/// `fleet` binary, checked in the graph. The graph is shared: each test uses its own random ids.
@Suite("Networking end to end", .serialized)
struct NetworkingEndToEndTests {
    static func id() -> String { UUID().uuidString.lowercased() }

    static func job(
        _ type: String,
        _ payload: [String: JSONValue],
        idempotencyKey: String? = nil,
        createdAt: Date = Date()
    ) -> JobEnvelope {
        JobEnvelope(id: id(), type: type, createdAt: createdAt, idempotencyKey: idempotencyKey, payload: payload)
    }

    static func registration(_ type: String, user: String, event: String, createdAt: Date = Date()) -> JobEnvelope {
        job(type, ["user_id": .string(user), "event_id": .string(event)], createdAt: createdAt)
    }

    func publish(_ envelopes: [JobEnvelope], in environment: FleetTestEnvironment) async throws {
        let (producer, stores) = environment.producer()
        for envelope in envelopes { try await producer.publish(envelope: envelope, body: envelope.encoded()) }
        await producer.shutdown()
        await stores.shutdown()
    }

    /// How many registrations of the event have each status.
    func statusCounts(_ graph: BoltClient, event: String) async throws -> [String: Int] {
        let result = try await graph.run(
            "MATCH (:User)-[r:REGISTERED_FOR]->(:Event {event_id: $event}) RETURN r.status AS status, count(r) AS n",
            parameters: ["event": .string(event)]
        )
        var counts: [String: Int] = [:]
        for row in result.rows { counts[row[0].string ?? "?"] = Int(row[1].int ?? 0) }
        return counts
    }

    func status(_ graph: BoltClient, user: String, event: String) async throws -> String? {
        try await graph.run(
            "MATCH (:User {user_id: $user})-[r:REGISTERED_FOR]->(:Event {event_id: $event}) RETURN r.status AS s",
            parameters: ["user": .string(user), "event": .string(event)]
        ).first("s")?.string
    }

    /// 300 registrations racing for 50 places across two worker processes, then 10 cancellations;
    /// duplicates change nothing.
    @Test func capacityHoldsUnderRacesAcrossTwoWorkers() async throws {
        let environment = try await FleetTestEnvironment.make("networking", workers: ["networking"])
        let graph = BoltClient(configuration: environment.configuration.bolt, maxConnections: 2)
        let event = Self.id()
        try await graph.run(
            "CREATE (:Event {event_id: $event, title: 'e2e', type: 'webinar', max_participants: 50})",
            parameters: ["event": .string(event)]
        )
        let workers = try [environment.startWorker("networking"), environment.startWorker("networking")]
        let users = (0..<300).map { _ in Self.id() }
        let registrations = users.map { Self.registration("event.register", user: $0, event: event) }
        // Every 20th job is published twice.
        let duplicates = stride(from: 0, to: registrations.count, by: 20).map { registrations[$0] }
        try await publish(registrations + duplicates, in: environment)
        try await environment.waitUntil("300 registrations", timeout: .seconds(240)) {
            let registered = try await statusCounts(graph, event: event).values.reduce(0, +)
            let depth = try await environment.queueDepth("fleet.networking")
            return registered == 300 && depth == 0
        }
        #expect(try await statusCounts(graph, event: event) == ["confirmed": 50, "waitlisted": 250])

        var confirmed: [String] = []
        for user in users where try await status(graph, user: user, event: event) == "confirmed" {
            confirmed.append(user)
        }
        let cancels = confirmed.prefix(10).map { Self.registration("event.cancel", user: $0, event: event) }
        try await publish(cancels + [cancels[0], registrations[5]], in: environment)
        try await environment.waitUntil("10 cancellations", timeout: .seconds(120)) {
            let cancelled = try await statusCounts(graph, event: event)["cancelled"]
            let depth = try await environment.queueDepth("fleet.networking")
            return cancelled == 10 && depth == 0
        }
        try await Task.sleep(for: .seconds(1))  // a duplicate still in flight would show now
        #expect(
            try await statusCounts(graph, event: event) == ["confirmed": 50, "waitlisted": 240, "cancelled": 10],
            "10 waitlisted registrations were promoted"
        )
        #expect(try await environment.deadLetters("fleet.networking").isEmpty)
        for worker in workers { await worker.stop() }

        try await graph.run(
            "MATCH (u:User)-[:REGISTERED_FOR]->(e:Event {event_id: $event}) DETACH DELETE u",
            parameters: ["event": .string(event)]
        )
        try await graph.run("MATCH (e:Event {event_id: $event}) DELETE e", parameters: ["event": .string(event)])
        await graph.shutdown()
        await environment.tearDown()
    }

    /// Cancellations processed before their (earlier) registrations: those users end cancelled,
    /// whatever the processing order; users whose register is later than their cancel end confirmed.
    @Test func cancelsProcessedBeforeTheirRegistrationsWin() async throws {
        let environment = try await FleetTestEnvironment.make("cancel_first", workers: ["networking"])
        let graph = BoltClient(configuration: environment.configuration.bolt, maxConnections: 2)
        let event = Self.id()
        try await graph.run(
            "CREATE (:Event {event_id: $event, title: 'e2e', max_participants: 20})",
            parameters: ["event": .string(event)]
        )
        let worker = try environment.startWorker("networking")
        let now = Date()
        let cancelled = (0..<6).map { _ in Self.id() }
        let reregistered = (0..<2).map { _ in Self.id() }
        let users = cancelled + reregistered
        try await publish(
            users.map { Self.registration("event.cancel", user: $0, event: event, createdAt: now) },
            in: environment
        )
        try await environment.waitUntil("the cancellations recorded") {
            let depth = try await environment.queueDepth("fleet.networking")
            let recorded = try await graph.run(
                "MATCH (t:FleetRegistrationCancels {event_id: $event}) RETURN count(t) AS n",
                parameters: ["event": .string(event)]
            ).first("n")
            return depth == 0 && recorded == .integer(Int64(users.count))
        }
        let registers =
            cancelled.map { Self.registration("event.register", user: $0, event: event, createdAt: now - 60) }
            + reregistered.map { Self.registration("event.register", user: $0, event: event, createdAt: now + 1) }
        try await publish(registers, in: environment)
        try await environment.waitUntil("every registration") {
            let counts = try await statusCounts(graph, event: event)
            let depth = try await environment.queueDepth("fleet.networking")
            return counts.values.reduce(0, +) == users.count && depth == 0
        }
        #expect(try await statusCounts(graph, event: event) == ["cancelled": 6, "confirmed": 2])
        for user in cancelled { #expect(try await status(graph, user: user, event: event) == "cancelled") }
        for user in reregistered { #expect(try await status(graph, user: user, event: event) == "confirmed") }
        #expect(try await environment.deadLetters("fleet.networking").isEmpty)
        await worker.stop()
        try await graph.run(
            "MATCH (u:User)-[:REGISTERED_FOR]->(e:Event {event_id: $event}) DETACH DELETE u",
            parameters: ["event": .string(event)]
        )
        try await graph.run("MATCH (e:Event {event_id: $event}) DELETE e", parameters: ["event": .string(event)])
        await graph.shutdown()
        await environment.tearDown()
    }

    /// A mentorship and three sessions, the first processed before the start, one delivered twice and
    /// one published twice under an idempotency key: three sessions counted, nothing dead-lettered.
    @Test func mentorshipSessionsCountOnce() async throws {
        let environment = try await FleetTestEnvironment.make("mentorship", workers: ["networking"])
        let graph = BoltClient(configuration: environment.configuration.bolt, maxConnections: 1)
        let worker = try environment.startWorker("networking")
        let user = Self.id()
        let mentor = Self.id()
        let payload: [String: JSONValue] = ["user_id": .string(user), "mentor_user_id": .string(mentor)]
        let pair = ["user": BoltValue.string(user), "mentor": .string(mentor)]
        let query =
            "MATCH (:User {user_id: $user})-[r:MENTORED_BY]->(:Mentor {user_id: $mentor}) RETURN r.session_count AS n"
        let statusQuery =
            "MATCH (:User {user_id: $user})-[r:MENTORED_BY]->(:Mentor {user_id: $mentor}) RETURN r.status AS s"
        // A session processed before its start counts on a pending mentorship.
        let early = Self.job("mentorship.session_logged", payload)
        try await publish([early], in: environment)
        try await environment.waitUntil("the pending mentorship") {
            try await graph.run(statusQuery, parameters: pair).first("s") == "pending"
        }
        let start = Self.job("mentorship.start", payload, createdAt: early.createdAt.addingTimeInterval(-1))
        try await publish([start], in: environment)
        try await environment.waitUntil("the mentorship") {
            try await graph.run(statusQuery, parameters: pair).first("s") == "active"
        }
        #expect(try await graph.run(query, parameters: pair).first("n") == 1)
        let sessions = [
            early,
            Self.job("mentorship.session_logged", payload, idempotencyKey: "session-2-\(user)"),
            Self.job("mentorship.session_logged", payload),
        ]
        let again = Self.job("mentorship.session_logged", payload, idempotencyKey: "session-2-\(user)")
        try await publish(Array(sessions.dropFirst()) + [sessions[0], again], in: environment)
        try await environment.waitUntil("three sessions") {
            let sessions = try await graph.run(query, parameters: pair).first("n")
            let depth = try await environment.queueDepth("fleet.networking")
            return sessions == 3 && depth == 0
        }
        try await Task.sleep(for: .seconds(1))
        #expect(try await graph.run(query, parameters: pair).first("n") == 3)
        let started = try await graph.run(
            "MATCH (:User {user_id: $user})-[r:MENTORED_BY]->(:Mentor {user_id: $mentor}) RETURN r.start_date AS d",
            parameters: pair
        ).first("d")?.string
        #expect(started == RFC3339.format(start.createdAt), "start_date is the start job's created_at")
        #expect(try await environment.deadLetters("fleet.networking").isEmpty)
        await worker.stop()
        try await graph.run("MATCH (u:User {user_id: $user}) DETACH DELETE u", parameters: pair)
        try await graph.run("MATCH (m:Mentor {user_id: $mentor}) DETACH DELETE m", parameters: pair)
        await graph.shutdown()
        await environment.tearDown()
    }

    /// Hostile values in every field are rejected to the DLQ with a reason before the graph is
    /// touched; a canary node and the event's registrations are unchanged.
    @Test func hostileInputIsDeadLetteredAndTheGraphIsUnchanged() async throws {
        let environment = try await FleetTestEnvironment.make("networking_hostile", workers: ["networking"])
        let graph = BoltClient(configuration: environment.configuration.bolt, maxConnections: 1)
        let canary = "NetCanary_\(UInt32.random(in: 0...UInt32.max))"
        try await graph.run("CREATE (:\(canary) {alive: true})")
        let event = Self.id()
        try await graph.run(
            "CREATE (:Event {event_id: $event, max_participants: 5})",
            parameters: ["event": .string(event)]
        )
        let worker = try environment.startWorker("networking")
        let valid = Self.id()
        let hostile: [JSONValue] = [
            .string("x' WITH 1 AS y MATCH (n) DETACH DELETE n //"),
            .string("x' WITH 1 AS y MATCH (c:\(canary)) DETACH DELETE c //"),
            .object(["$gt": .string("")]), .string("$where"), .string(String(repeating: "A", count: 100_000)),
            .integer(7), .array([.string(valid)]), .null,
        ]
        var jobs: [JobEnvelope] = []
        for value in hostile {
            jobs.append(Self.job("event.register", ["user_id": value, "event_id": .string(event)]))
            jobs.append(Self.job("event.cancel", ["user_id": .string(valid), "event_id": value]))
            jobs.append(Self.job("mentorship.start", ["user_id": .string(valid), "mentor_user_id": value]))
            jobs.append(Self.job("mentorship.session_logged", ["user_id": value, "mentor_user_id": .string(valid)]))
        }
        jobs.append(Self.job("mentorship.start", ["user_id": .string(valid), "mentor_user_id": .string(valid)]))
        for job in jobs {
            try await environment.publishRaw(job.encoded(), to: "fleet.networking", type: job.type)
        }
        // The listing that saw them all is the one checked: a listing holds the letters unacked
        // until its connection closes, and one made right after may find them not yet requeued.
        var letters: [DeadLetterEntry] = []
        try await environment.waitUntil("every hostile job dead-lettered") {
            letters = try await environment.deadLetters("fleet.networking")
            return letters.count == jobs.count
        }
        #expect(letters.allSatisfy { $0.reason == "invalid_payload" }, "\(Set(letters.map(\.reason)))")
        #expect(Set(letters.compactMap(\.type)) == Set(jobs.map(\.type)))
        let alive = try await graph.run("MATCH (c:\(canary)) RETURN count(c) AS n").first("n")
        #expect(alive == 1)
        #expect(try await statusCounts(graph, event: event).isEmpty)
        let users = try await graph.run(
            "MATCH (u:User {user_id: $user}) RETURN count(u) AS n",
            parameters: ["user": .string(valid)]
        )
        #expect(users.first("n") == 0)

        // The envelope's free-text idempotency key reaches the graph only hex-encoded: a Cypher
        // fragment there is just a key, and the job applies once.
        let keyed = Self.job(
            "event.register",
            ["user_id": .string(valid), "event_id": .string(event)],
            idempotencyKey: "k' WITH 1 AS y MATCH (c:\(canary)) DETACH DELETE c //"
        )
        try await publish([keyed, keyed], in: environment)
        try await environment.waitUntil("the keyed registration") {
            let counts = try await statusCounts(graph, event: event)
            let depth = try await environment.queueDepth("fleet.networking")
            return counts == ["confirmed": 1] && depth == 0
        }
        #expect(try await graph.run("MATCH (c:\(canary)) RETURN count(c) AS n").first("n") == 1)
        await worker.stop()
        try await graph.run("MATCH (c:\(canary)) DELETE c")
        try await graph.run(
            "MATCH (u:User {user_id: $user}) DETACH DELETE u",
            parameters: ["user": .string(valid)]
        )
        try await graph.run("MATCH (e:Event {event_id: $event}) DELETE e", parameters: ["event": .string(event)])
        await graph.shutdown()
        await environment.tearDown()
    }
}
