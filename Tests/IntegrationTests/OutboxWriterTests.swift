import AMQP
import FleetApp
import FleetContract
import FleetJobs
import FleetOutbox
import FleetProducer
import Foundation
import Logging
import Postgres
import Synchronization
import Testing

/// The outbox writer against the real PostgreSQL, each test in a database of its own: both forms
/// (SQL text and parameters for any driver; our libpq client), the caller's transaction deciding,
/// validation before any write, and commit order per ordering key.
@Suite("Outbox writer", .timeLimit(.minutes(2)))
struct OutboxWriterTests {
    static let user = SampleWorkload.userId(1)
    static let course = SampleWorkload.courseId(2)

    /// A fresh database, migrated unless `migrate` is false; dropped afterwards.
    static func withDatabase(migrate: Bool = true, _ body: (PostgresClient) async throws -> Void) async throws {
        try await FreshDatabase.with("it_outbox", migrate: migrate) { client, applied in
            if migrate { #expect(applied.contains("0007")) }
            try await body(client)
        }
    }

    static func rows(_ client: PostgresClient) async throws -> PostgresRows {
        try await client.query(
            """
            SELECT seq, ordering_key, envelope_id::text AS envelope_id, job_type, envelope, traceparent,
                   sent_at, failed_at
            FROM fleet_outbox ORDER BY seq
            """
        )
    }

    @Test("SQL form: the statement, run with its text parameters, stores the exact envelope")
    func statementFormStoresTheExactEnvelope() async throws {
        try await Self.withDatabase { client in
            let outbox = Outbox()
            let job = EnrollmentUpdate(
                userId: Self.user,
                courseId: Self.course,
                action: .progress,
                progressPercentage: 40
            )
            let traceparent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
            let keyed = try outbox.statement(for: job, idempotencyKey: "enroll-1-2 ✓", traceparent: traceparent)
            let bare = try outbox.statement(for: job)
            let ordered = try outbox.statement(for: job, idempotencyKey: "k", orderingKey: "user:1")
            for statement in [keyed, bare, ordered] {
                #expect(statement.parameters.count == 5)
                // As another driver would: the SQL text and the parameters as text, nothing else.
                try await client.query(statement.sql, statement.parameters.map { $0 as PostgresBindable? })
            }
            // As a driver that declares every parameter as text (PostgresNIO binds a String so).
            let typed = try outbox.statement(for: job, orderingKey: "typed")
            let literals = typed.parameters.map {
                $0.map { "'" + $0.replacingOccurrences(of: "'", with: "''") + "'" } ?? "NULL"
            }
            try await client.withConnection { connection in
                try connection.execute(
                    script: "PREPARE typed_insert (text, text, text, text, text) AS \(typed.sql); "
                        + "EXECUTE typed_insert (\(literals.joined(separator: ", "))); DEALLOCATE typed_insert;"
                )
            }
            let rows = try await Self.rows(client)
            #expect(rows.count == 4)
            #expect(Array((rows[3]["envelope"] ?? "").utf8) == typed.body)
            #expect(rows[3]["ordering_key"] == "typed" && rows[3]["envelope_id"] == typed.envelope.id)
            let decoder = EnvelopeDecoder(knownVersions: JobContract.knownVersions)
            for (row, statement) in zip(rows, [keyed, bare, ordered]) {
                #expect(Array((row["envelope"] ?? "").utf8) == statement.body, "byte for byte")
                let decoded = try decoder.decode(statement.body)
                #expect(decoded.id == statement.envelope.id && decoded.payload == statement.envelope.payload)
                #expect(decoded.encoded() == statement.body)
                #expect(row["envelope_id"] == statement.envelope.id)
                #expect(row["job_type"] == "enrollment.update")
                #expect(row["sent_at"] == nil && row["failed_at"] == nil)
            }
            // The ordering key: the idempotency key, else the job's id, unless given.
            #expect(rows[0]["ordering_key"] == "enroll-1-2 ✓")
            #expect(rows[1]["ordering_key"] == bare.envelope.id)
            #expect(rows[2]["ordering_key"] == "user:1")
            #expect(rows[0]["traceparent"] == traceparent)
            #expect(rows[1]["traceparent"] == nil)
            #expect(keyed.envelope.idempotencyKey == "enroll-1-2 ✓")
        }
    }

    struct Rollback: Error {
        let id: String
    }

    @Test("libpq form: the row commits with the caller's transaction, and a rollback leaves none")
    func libpqFormFollowsTheCallersTransaction() async throws {
        try await Self.withDatabase { client in
            try await client.query("CREATE TABLE api_orders (id INTEGER PRIMARY KEY)")
            let outbox = Outbox()
            let job = EnrollmentUpdate(userId: Self.user, courseId: Self.course, action: .enroll)
            let committed = try await client.withTransaction { connection in
                try connection.query("INSERT INTO api_orders (id) VALUES (1)")
                return try outbox.enqueue(job, on: connection, idempotencyKey: "order-1")
            }
            let rolledBack = await #expect(throws: Rollback.self) {
                try await client.withTransaction { connection in
                    try connection.query("INSERT INTO api_orders (id) VALUES (2)")
                    let envelope = try outbox.enqueue(job, on: connection, idempotencyKey: "order-2")
                    throw Rollback(id: envelope.id)
                }
            }
            #expect(rolledBack?.id.isEmpty == false, "the second job was written before the rollback")
            let rows = try await Self.rows(client)
            #expect(rows.map { $0["envelope_id"] } == [committed.id])
            #expect(try await client.query("SELECT id FROM api_orders").map { $0.int("id") } == [1])
            // A ready-made envelope, outside any transaction, commits alone.
            let envelope = JobEnvelope(
                id: UUID().uuidString.lowercased(),
                type: EnrollmentUpdate.jobType,
                createdAt: Date(),
                payload: job.payload
            )
            try await client.withConnection { connection in _ = try outbox.enqueue(envelope, on: connection) }
            #expect(try await Self.rows(client).count == 2)
        }
    }

    @Test("Validation rejects a bad job before any statement runs")
    func validationRejectsBeforeAnyWrite() async throws {
        let outbox = Outbox()
        let good = EnrollmentUpdate(userId: Self.user, courseId: Self.course, action: .enroll)
        let badPayload = EnrollmentUpdate(userId: "not-a-uuid", courseId: Self.course, action: .enroll)
        let cases: [(String, EnvelopeRejection.Reason, @Sendable (PostgresConnection) throws -> Void)] = [
            ("bad user_id", .invalidPayload, { _ = try outbox.enqueue(badPayload, on: $0) }),
            (
                "201-code-point key", .invalidField,
                { _ = try outbox.enqueue(good, on: $0, idempotencyKey: String(repeating: "k", count: 201)) }
            ),
            ("empty ordering key", .invalidField, { _ = try outbox.enqueue(good, on: $0, orderingKey: "") }),
            (
                "801-byte ordering key", .invalidField,
                { _ = try outbox.enqueue(good, on: $0, orderingKey: String(repeating: "o", count: 801)) }
            ),
            (
                "unknown type", .unknownType,
                {
                    _ = try outbox.enqueue(
                        JobEnvelope(id: UUIDText.random(), type: "nope", createdAt: Date(), payload: [:]),
                        on: $0
                    )
                }
            ),
            (
                "created_at 25 h ahead", .invalidField,
                {
                    _ = try outbox.enqueue(
                        JobEnvelope(
                            id: UUIDText.random(),
                            type: EnrollmentUpdate.jobType,
                            createdAt: Date().addingTimeInterval(25 * 3600),
                            payload: good.payload
                        ),
                        on: $0
                    )
                }
            ),
        ]
        // In a database without fleet_outbox: a statement that ran would fail with 42P01, so an
        // EnvelopeRejection proves that none did.
        try await Self.withDatabase(migrate: false) { client in
            for (name, reason, write) in cases {
                let error = await #expect(throws: EnvelopeRejection.self, "\(name)") {
                    try await client.withConnection { connection in try write(connection) }
                }
                #expect(error?.reason == reason, "\(name): \(String(describing: error))")
            }
            let control = await #expect(throws: PostgresError.self) {
                try await client.withConnection { connection in _ = try outbox.enqueue(good, on: connection) }
            }
            #expect(control?.sqlState == "42P01", "a valid job reaches the database")
        }
        // The SQL form refuses the same jobs before handing out any SQL.
        #expect(throws: EnvelopeRejection.self) { _ = try outbox.statement(for: badPayload) }
        #expect(throws: EnvelopeRejection.self) { _ = try outbox.statement(for: good, orderingKey: "") }
        // And with the table present, nothing is written.
        try await Self.withDatabase { client in
            for (_, _, write) in cases {
                _ = try? await client.withConnection { connection in try write(connection) }
            }
            let rows = try await Self.rows(client)
            #expect(rows.isEmpty)
        }
    }

    @Test("The writer accepts and refuses exactly what JobProducer.validated does, with the same bytes")
    func sameRulesAsTheProducer() async throws {
        // Validation needs no broker: this producer never reaches one (and says nothing about it).
        let producer = JobProducer(
            amqp: try AMQPConfiguration(url: "amqp://guest:guest@127.0.0.1:1/%2f"),
            logger: Logger(label: "test") { _ in SwiftLogNoOpLogHandler() }
        )
        let outbox = Outbox()
        let good = EnrollmentUpdate(userId: Self.user, courseId: Self.course, action: .enroll).payload
        func envelope(
            id: String = UUIDText.random(),
            type: String = EnrollmentUpdate.jobType,
            version: Int = 1,
            createdAt: Date = Date(),
            key: String? = nil,
            payload: [String: JSONValue]? = nil
        ) -> JobEnvelope {
            JobEnvelope(
                id: id,
                type: type,
                version: version,
                createdAt: createdAt,
                idempotencyKey: key,
                payload: payload ?? good
            )
        }
        var nonFinite = good
        nonFinite["progress_percentage"] = .number(.infinity)
        var missing = good
        missing["course_id"] = nil
        let envelopes = [
            envelope(),
            envelope(key: "k"),
            envelope(key: String(repeating: "\u{1F680}", count: 200)),
            envelope(id: UUIDText.random().uppercased()),
            envelope(type: "unknown.type"),
            envelope(version: 2),
            envelope(createdAt: Date().addingTimeInterval(25 * 3600)),
            envelope(key: ""),
            envelope(key: "a\u{0}b"),
            envelope(key: "e" + String(repeating: "\u{0301}", count: 250)),
            envelope(payload: nonFinite),
            envelope(payload: missing),
            envelope(payload: good.merging(["action": .string("teleport")]) { $1 }),
            envelope(payload: good.merging(["pad": .string(String(repeating: "x", count: 1 << 20))]) { $1 }),
        ]
        for candidate in envelopes {
            let byProducer = Result { () throws(EnvelopeRejection) -> [UInt8] in try producer.validated(candidate) }
            let byOutbox = Result { () throws(EnvelopeRejection) -> [UInt8] in try outbox.validated(candidate) }
            switch (byProducer, byOutbox) {
            case (.success(let a), .success(let b)):
                #expect(a == b)
            case (.failure(let a), .failure(let b)):
                #expect(a.reason == b.reason, "\(a) / \(b)")
            default:
                Issue.record("producer \(byProducer) but outbox \(byOutbox) for \(candidate.id)")
            }
        }
        await producer.shutdown()
    }

    @Test("Per ordering key, a second transaction waits for the first to commit and draws a later seq")
    func perKeyCommitOrderIsSeqOrder() async throws {
        try await Self.withDatabase { client in
            let outbox = Outbox()
            let job = EnrollmentUpdate(userId: Self.user, courseId: Self.course, action: .enroll)
            let releaseFirst = Flag()
            let firstWrote = Flag()
            // The first transaction writes key "k" and stays open until released.
            let first = Task {
                try await client.withTransaction { connection -> String in
                    let envelope = try outbox.enqueue(job, on: connection, orderingKey: "k")
                    firstWrote.set()
                    while !releaseFirst.isSet { usleep(5000) }
                    return envelope.id
                }
            }
            try await waitUntil("the first transaction wrote") { firstWrote.isSet }
            // Another key is not held up.
            let other = try await client.withTransaction { connection in
                try outbox.enqueue(job, on: connection, orderingKey: "other")
            }
            // The same key waits on the advisory lock.
            let second = Task {
                try await client.withTransaction { connection in
                    try outbox.enqueue(job, on: connection, orderingKey: "k").id
                }
            }
            try await waitUntil("the second transaction waits for the key") {
                try await client.query(
                    """
                    SELECT count(*) AS n FROM pg_locks
                    WHERE locktype = 'advisory' AND NOT granted AND classid::bigint = $1 AND database = (
                        SELECT oid FROM pg_database WHERE datname = current_database())
                    """,
                    [Int(Outbox.advisoryLockClass)]
                ).first?.int("n") == 1
            }
            #expect(try await Self.rows(client).map { $0["envelope_id"] } == [other.id], "nothing of k visible yet")
            releaseFirst.set()
            let firstId = try await first.value
            let secondId = try await second.value
            let rows = try await Self.rows(client)
            let seq = Dictionary(uniqueKeysWithValues: rows.map { ($0["envelope_id"] ?? "", $0.int("seq") ?? -1) })
            #expect(seq[firstId]! < seq[secondId]!)
            #expect(seq[other.id]! < seq[secondId]!, "the second drew its seq after the first committed")
        }
    }

    @Test("Outbox.schema builds the same table as fleet migrate's step 0007, and runs twice")
    func schemaMatchesTheMigration() async throws {
        try await Self.withDatabase { client in
            try await client.withConnection { connection in
                try connection.execute(
                    script:
                        "CREATE SCHEMA api; SET search_path = api; \(Outbox.schema) \(Outbox.schema) RESET search_path;"
                )
            }
            func describe(_ schema: String) async throws -> [String] {
                let columns = try await client.query(
                    """
                    SELECT column_name || ' ' || data_type || ' ' || is_nullable || ' ' || coalesce(column_default, '-')
                           || ' ' || is_identity || ' ' || coalesce(identity_generation, '-') AS d
                    FROM information_schema.columns WHERE table_schema = $1 AND table_name = 'fleet_outbox'
                    ORDER BY ordinal_position
                    """,
                    [schema]
                )
                let constraints = try await client.query(
                    """
                    SELECT conname || ' ' || pg_get_constraintdef(c.oid) AS d
                    FROM pg_constraint c JOIN pg_namespace n ON n.oid = c.connamespace
                    WHERE n.nspname = $1 AND conrelid = ($1 || '.fleet_outbox')::regclass ORDER BY conname
                    """,
                    [schema]
                )
                let indexes = try await client.query(
                    """
                    SELECT replace(indexdef, $1 || '.', '') AS d FROM pg_indexes
                    WHERE schemaname = $1 AND tablename = 'fleet_outbox' ORDER BY indexname
                    """,
                    [schema]
                )
                return (Array(columns) + Array(constraints) + Array(indexes)).map { $0["d"] ?? "" }
            }
            let migrated = try await describe("public")
            // 12 columns, 3 constraints (the key and two checks), 5 indexes.
            #expect(migrated.count == 20, "\(migrated)")
            #expect(try await describe("api") == migrated)
        }
    }

    func waitUntil(_ what: String, _ condition: () async throws -> Bool) async throws {
        let deadline = ContinuousClock.now + .seconds(60)
        while ContinuousClock.now < deadline {
            if try await condition() { return }
            try await Task.sleep(for: .milliseconds(20))
        }
        throw OutboxTestError(description: "timed out waiting for \(what)")
    }
}

struct OutboxTestError: Error, CustomStringConvertible {
    let description: String
}

/// A flag one task sets and another polls.
final class Flag: Sendable {
    private let value = Mutex(false)

    var isSet: Bool { value.withLock { $0 } }

    func set() { value.withLock { $0 = true } }
}

/// Sent outbox rows go after their job type's window; failed and unsent rows stay.
@Suite("Outbox pruning", .timeLimit(.minutes(2)))
struct OutboxPruningTests {
    @Test("Rows sent before their type's window go; newer, unsent and failed rows stay")
    func pruneBySentAtAndWindow() async throws {
        try await OutboxWriterTests.withDatabase { client in
            let outbox = Outbox()
            let enroll = EnrollmentUpdate(
                userId: OutboxWriterTests.user,
                courseId: OutboxWriterTests.course,
                action: .enroll
            )
            let publish = ContentPublish(contentId: "65a1b2c3d4e5f60718293a4b")
            let ids = try await client.withTransaction { connection in
                var ids: [String: String] = [:]
                for name in ["old", "recent", "unsent", "failed"] {
                    ids[name] = try outbox.enqueue(enroll, on: connection).id
                }
                for name in ["content_old", "content_recent"] {
                    ids[name] = try outbox.enqueue(publish, on: connection).id
                }
                return ids
            }
            func set(_ name: String, _ assignment: String) async throws {
                try await client.query("UPDATE fleet_outbox SET \(assignment) WHERE envelope_id = $1", [ids[name]!])
            }
            // enrollment.update keeps the default 7 days; content.publish gets 1 hour here.
            try await set("old", "sent_at = now() - interval '8 days'")
            try await set("recent", "sent_at = now() - interval '6 days'")
            try await set("unsent", "created_at = now() - interval '30 days'")
            try await set("failed", "failed_at = now() - interval '30 days', failure = 'unroutable: test'")
            try await set("content_old", "sent_at = now() - interval '2 hours'")
            try await set("content_recent", "sent_at = now() - interval '30 minutes'")
            let retention = OutboxRetention(windows: [ContentPublish.jobType: .seconds(3600)])
            let pruned = try await retention.prune(client)
            #expect(pruned == [EnrollmentUpdate.jobType: 1, ContentPublish.jobType: 1])
            let left = Set(try await OutboxWriterTests.rows(client).compactMap { $0["envelope_id"] })
            #expect(left == Set(["recent", "unsent", "failed", "content_recent"].map { ids[$0]! }))
            #expect(try await retention.prune(client).isEmpty, "nothing more to prune")
        }
    }
}
