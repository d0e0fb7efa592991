import AMQP
import FleetApp
import FleetContract
import FleetJobs
import FleetOutbox
import Foundation
import Postgres
import Synchronization
import Testing

/// `fleet outbox relay` processes against RabbitMQ and PostgreSQL: jobs written in API transactions
/// are published once committed, in order per key, by any number of relays, one of them killed.
@Suite("Outbox end to end", .serialized)
struct OutboxEndToEndTests {
    /// A queue bound to every routing key of the jobs exchange: one queue keeps publish order, so
    /// it shows the order (and the copies) in which the relays published.
    static let probe = "outbox_probe"

    func declareProbe(_ environment: FleetTestEnvironment, routingKey: String = "#") async throws {
        try await AMQPConnection.withDedicatedThread(environment.configuration.amqp) { connection in
            try connection.declareQueue(Self.probe)
            try connection.bindQueue(Self.probe, exchange: environment.topology.exchange, routingKey: routingKey)
        }
    }

    /// Everything in the probe queue, in queue order; acked, so the next drain gets only newer ones.
    func drainProbe(_ environment: FleetTestEnvironment) async throws -> [AMQPDelivery] {
        try await AMQPConnection.withDedicatedThread(environment.configuration.amqp) { connection in
            var deliveries: [AMQPDelivery] = []
            while let delivery = try connection.get(queue: Self.probe) { deliveries.append(delivery) }
            if let last = deliveries.last { try connection.ack(last.deliveryTag, multiple: true) }
            return deliveries
        }
    }

    func startRelay(
        _ environment: FleetTestEnvironment,
        _ arguments: [String] = [],
        name: String
    ) throws -> WorkerProcess {
        try WorkerProcess(
            arguments: ["outbox", "relay", "--config-dir", environment.configuration.configDirectory] + arguments,
            environment: environment.processEnvironment,
            logName: "\(environment.name)-\(name)"
        )
    }

    /// A pattern for `application_name LIKE`: the relay's default name starts with its pid.
    static func applicationName(_ relay: WorkerProcess) -> String {
        "fleet outbox relay \(relay.process.processIdentifier) %"
    }

    /// True while `relay`'s connection waits for a lock in the statement that marks its batch sent:
    /// the broker has confirmed the whole batch by then.
    func isBlockedMarkingSent(_ relay: WorkerProcess, _ environment: FleetTestEnvironment) async throws -> Bool {
        try await environment.count(
            """
            SELECT count(*) AS n FROM pg_stat_activity
            WHERE application_name LIKE $1 AND wait_event_type = 'Lock' AND query LIKE 'UPDATE fleet_outbox SET sent_at%'
            """,
            [Self.applicationName(relay)]
        ) == 1
    }

    /// Holds `LOCK TABLE fleet_outbox IN SHARE MODE` from its start until `release()`: relays can
    /// claim rows (FOR UPDATE) and publish them but cannot mark them sent, and writers wait.
    final class TableLock: Sendable {
        private let client: PostgresClient
        private let held = Mutex(false)
        private let released = Mutex(false)
        private let task = Mutex<Task<Void, Error>?>(nil)

        init(_ environment: FleetTestEnvironment) async throws {
            client = PostgresClient(configuration: environment.configuration.postgres, maxConnections: 1)
            let task = Task { [self] in
                try await client.withConnection { connection in
                    try connection.query("BEGIN")
                    try connection.query("LOCK TABLE fleet_outbox IN SHARE MODE")
                    self.held.withLock { $0 = true }
                    while !self.released.withLock({ $0 }) { usleep(5000) }
                    try connection.query("COMMIT")
                }
            }
            self.task.withLock { $0 = task }
            try await environment.waitUntil("the table lock") { held.withLock { $0 } }
        }

        func release() async throws {
            released.withLock { $0 = true }
            try await task.withLock { $0 }?.value
            await client.shutdown()
        }
    }

    // MARK: - The chaos test

    struct Written: Sendable {
        let id: String
        let key: String
    }

    struct Rollback: Error {}

    static let keys = 40
    static let courses = 20
    static let transactions = 1000
    static let rowsPerTransaction = 5
    static let writers = 8

    /// Transaction `index`: one row of the API's own and five `enrollment.update` jobs of one user,
    /// ordered by the user; every tenth rolled back. Returns the jobs committed.
    static func runTransaction(_ index: Int, on client: PostgresClient) async throws -> [Written] {
        let user = Int.random(in: 0..<keys)
        let key = "user-\(user)"
        let outbox = Outbox()
        do {
            return try await client.withTransaction { connection in
                try connection.query("INSERT INTO api_actions (tx, user_index) VALUES ($1, $2)", [index, user])
                var written: [Written] = []
                for row in 0..<rowsPerTransaction {
                    let job = EnrollmentUpdate(
                        userId: SampleWorkload.userId(user),
                        courseId: SampleWorkload.courseId(Int.random(in: 0..<courses)),
                        action: .enroll
                    )
                    let envelope = try outbox.enqueue(job, on: connection, orderingKey: key)
                    written.append(Written(id: envelope.id, key: key))
                    // Widen the window in which another transaction of the key could commit first.
                    if row == 0 { usleep(UInt32.random(in: 0...2000)) }
                }
                if index % 10 == 9 { throw Rollback() }
                return written
            }
        } catch is Rollback {
            return []
        }
    }

    @Test(
        "Chaos: 3 relays, 8 writers of 5,000 rows, 10% rolled back, one relay SIGKILLed after its batch was confirmed"
    )
    func chaos() async throws {
        let started = ContinuousClock.now
        let environment = try await FleetTestEnvironment.make("outbox_chaos", workers: ["learning"])
        try await SampleWorkload.seed(environment.postgres, users: Self.keys, courses: Self.courses)
        try await environment.postgres.query("CREATE TABLE api_actions (tx INTEGER PRIMARY KEY, user_index INTEGER)")
        try await declareProbe(environment, routingKey: EnrollmentUpdate.jobType)
        let worker = try environment.startWorker("learning")

        // 8 writers, each on its own connection, 125 transactions each. Their inserts wait behind the
        // table lock below until relays 1 to 3 are in place, which took longer than the client's
        // default 10 s lock_timeout on a loaded CI machine: they wait up to 5 minutes.
        var writerConfiguration = environment.configuration.postgres
        writerConfiguration.lockTimeout = .seconds(300)
        writerConfiguration.statementTimeout = .seconds(300)
        let writerClient = PostgresClient(configuration: writerConfiguration, maxConnections: Self.writers)
        let writers = Task {
            try await withThrowingTaskGroup(of: [Written].self) { group in
                for writer in 0..<Self.writers {
                    group.addTask {
                        var committed: [Written] = []
                        for index in stride(from: writer, to: Self.transactions, by: Self.writers) {
                            committed += try await Self.runTransaction(index, on: writerClient)
                        }
                        return committed
                    }
                }
                var all: [Written] = []
                for try await committed in group { all += committed }
                return all
            }
        }

        // Relay 1 claims and publishes a batch, then is killed before it can mark it sent.
        try await environment.waitUntil("600 rows committed") {
            try await environment.count("SELECT count(*) AS n FROM fleet_outbox") >= 600
        }
        let lock = try await TableLock(environment)
        // A lock timeout longer than the test: with the default 5 s, a loaded machine let relay 1's
        // wait to mark expire before the kill; it rolled back and claimed again, past rows relays 2
        // and 3 had meanwhile locked, and CI saw 112 rows published twice instead of relay 1's 100.
        let relayArguments = [
            "--batch-size", "100", "--poll-interval", "50ms", "--prune-interval", "never", "--lock-timeout", "600s",
        ]
        let first = try startRelay(environment, relayArguments, name: "relay1")
        try await environment.waitUntil("relay 1 to publish a batch and wait to mark it") {
            try await isBlockedMarkingSent(first, environment)
        }
        let others = try [
            startRelay(environment, relayArguments, name: "relay2"),
            startRelay(environment, relayArguments, name: "relay3"),
        ]
        try await environment.waitUntil("relays 2 and 3 to poll") {
            try await environment.count(
                "SELECT count(*) AS n FROM pg_stat_activity WHERE application_name LIKE ANY($1::text[])",
                ["{\"\(Self.applicationName(others[0]))\",\"\(Self.applicationName(others[1]))\"}"]
            ) == 2
        }
        await first.kill()
        try await lock.release()

        let committed = try await writers.value
        await writerClient.shutdown()
        #expect(committed.count == Self.transactions * 9 / 10 * Self.rowsPerTransaction)
        try await environment.waitUntil("every committed row sent") {
            try await environment.count("SELECT count(*) AS n FROM fleet_outbox WHERE sent_at IS NULL") == 0
        }
        try await environment.waitUntil("every committed job applied") {
            try await environment.count(
                "SELECT count(*) AS n FROM fleet_applied_jobs WHERE job_type = 'enrollment.update'"
            ) >= committed.count
        }
        try await environment.waitUntil("the work queue to drain") {
            try await environment.queueDepth("fleet.learning") == 0
        }
        let relayOutputs = others.map { $0.stop() }
        var markedSent = 0
        for (relay, output) in zip(others, relayOutputs) {
            #expect(relay.process.terminationStatus == 0, "\(output)")
            let totals = output.split(separator: "\n").last { $0.hasPrefix("outbox relay: published=") }
            markedSent +=
                totals.flatMap { Int($0.dropFirst("outbox relay: published=".count).prefix { $0.isNumber }) } ?? 0
        }
        #expect(markedSent == committed.count, "relays 2 and 3 marked every row sent, each once")
        let workerOutput = await worker.stop()

        // Exactly the committed jobs are in the outbox, and the API's rows with them.
        let stored = try await environment.postgres.query(
            "SELECT ordering_key, envelope_id::text AS envelope_id, envelope FROM fleet_outbox ORDER BY seq"
        )
        let committedIds = Set(committed.map(\.id))
        #expect(committedIds.count == committed.count)
        #expect(Set(stored.compactMap { $0["envelope_id"] }) == committedIds)
        #expect(stored.count == committed.count)
        #expect(try await environment.count("SELECT count(*) AS n FROM api_actions") == Self.transactions * 9 / 10)
        let bodies = Dictionary(uniqueKeysWithValues: stored.map { ($0["envelope_id"] ?? "", $0["envelope"] ?? "") })

        // Exactly the committed jobs were published; every copy is the stored envelope, byte for byte.
        let deliveries = try await drainProbe(environment)
        let published = deliveries.compactMap(\.properties.messageId)
        #expect(published.count == deliveries.count)
        #expect(Set(published) == committedIds)
        for delivery in deliveries {
            #expect(delivery.body == Array((bodies[delivery.properties.messageId ?? ""] ?? "").utf8))
        }
        // The SIGKILL left relay 1's confirmed batch (100 rows) unmarked: published again, as the
        // same envelopes. Any other row published twice would be a row published by two relays.
        // The rows are counted, not the copies.
        let duplicates = deliveries.count - committedIds.count
        let copies = Dictionary(published.map { ($0, 1) }, uniquingKeysWith: +)
        let repeated = copies.filter { $0.value > 1 }
        #expect(repeated.count == 100, "\(repeated.count) rows published more than once (\(duplicates) extra copies)")

        // In order per key: each key's first copies come in the order the rows were committed.
        var firstSeen: [String: [String]] = [:]
        var seen = Set<String>()
        let keyOf = Dictionary(uniqueKeysWithValues: committed.map { ($0.id, $0.key) })
        for id in published where seen.insert(id).inserted {
            firstSeen[keyOf[id] ?? "", default: []].append(id)
        }
        var expected: [String: [String]] = [:]
        for row in stored { expected[row["ordering_key"] ?? "", default: []].append(row["envelope_id"] ?? "") }
        #expect(firstSeen.count == expected.count)
        for (key, order) in expected {
            #expect(firstSeen[key] == order, "order of \(key)")
        }

        // Each job applied once: one ledger record per committed job; the copies were skipped.
        let applied = try await environment.postgres.query(
            "SELECT dedup_key FROM fleet_applied_jobs WHERE job_type = 'enrollment.update'"
        )
        #expect(applied.count == committed.count)
        #expect(Set(applied.compactMap { $0["dedup_key"] }) == committedIds)
        #expect(
            workerOutput.contains("applied=\(committed.count) already_applied=\(duplicates) "),
            "\(workerOutput)"
        )
        #expect(try await environment.deadLetters("fleet.learning").isEmpty)
        let mismatched = try await environment.count(
            """
            SELECT count(*) AS n FROM courses c WHERE c.total_enrollments <>
                (SELECT count(*) FROM user_courses uc WHERE uc.course_id = c.course_id AND uc.status <> 'dropped')
            """
        )
        #expect(mismatched == 0)
        await environment.tearDown()
        print("outbox chaos test: \(ContinuousClock.now - started), \(duplicates) duplicate publishes absorbed")
    }

    // MARK: - Relay behaviour

    @Test("SIGTERM while a batch is in flight: the relay marks it sent, then exits 0; nothing is published twice")
    func sigtermFinishesTheBatch() async throws {
        let environment = try await FleetTestEnvironment.make("outbox_term", workers: ["learning"])
        try await declareProbe(environment)
        let outbox = Outbox()
        let ids = try await environment.postgres.withTransaction { connection in
            try (0..<50).map { index in
                try outbox.enqueue(
                    EnrollmentUpdate(
                        userId: SampleWorkload.userId(index),
                        courseId: SampleWorkload.courseId(0),
                        action: .enroll
                    ),
                    on: connection
                ).id
            }
        }
        let lock = try await TableLock(environment)
        let relay = try WorkerProcess(
            arguments: [
                "outbox", "relay", "--config-dir", environment.configuration.configDirectory, "--prune-interval",
                "never",
            ],
            environment: environment.processEnvironment.merging(["FLEET_LOG_LEVEL": "info"]) { $1 },
            logName: "\(environment.name)-relay"
        )
        try await environment.waitUntil("the relay to publish its batch and wait to mark it") {
            try await isBlockedMarkingSent(relay, environment)
        }
        relay.process.terminate()
        try await environment.waitUntil("the relay to take the signal") {
            relay.output.contains("outbox.relay.stopping")
        }
        // Signalled while its batch is published but not yet marked: it waits for the batch.
        #expect(relay.isRunning)
        #expect(try await environment.count("SELECT count(*) AS n FROM fleet_outbox WHERE sent_at IS NOT NULL") == 0)
        try await lock.release()
        let output = await relay.stop()
        #expect(relay.process.terminationStatus == 0, "\(output)")
        #expect(output.contains("outbox relay: published=50 failed=0"), "\(output)")
        #expect(try await environment.count("SELECT count(*) AS n FROM fleet_outbox WHERE sent_at IS NOT NULL") == 50)
        let published = try await drainProbe(environment).compactMap(\.properties.messageId)
        #expect(published.sorted() == ids.sorted())
        await environment.tearDown()
    }

    @Test("An unroutable row is marked failed and kept, its key goes on, and it is sent once an operator clears it")
    func unroutableRowIsFailedAndKept() async throws {
        // Only the learning worker's queues: nothing is bound for event.register.
        let environment = try await FleetTestEnvironment.make("outbox_unroutable", workers: ["learning"])
        try await declareProbe(environment, routingKey: EnrollmentUpdate.jobType)
        let outbox = Outbox()
        let enroll = EnrollmentUpdate(
            userId: SampleWorkload.userId(0),
            courseId: SampleWorkload.courseId(0),
            action: .enroll
        )
        let register = EventRegister(userId: SampleWorkload.userId(0), eventId: SampleWorkload.courseId(9))
        let (before, stuck, after) = try await environment.postgres.withTransaction { connection in
            (
                try outbox.enqueue(enroll, on: connection, orderingKey: "user-0").id,
                try outbox.enqueue(register, on: connection, orderingKey: "user-0").id,
                try outbox.enqueue(enroll, on: connection, orderingKey: "user-0").id
            )
        }
        let relay = try startRelay(environment, ["--poll-interval", "50ms"], name: "relay")
        try await environment.waitUntil("the enrollments sent and the registration failed") {
            try await environment.count(
                "SELECT count(*) AS n FROM fleet_outbox WHERE sent_at IS NOT NULL OR failed_at IS NOT NULL"
            ) == 3
        }
        let failed = try await environment.postgres.query(
            "SELECT envelope_id::text AS id, failure FROM fleet_outbox WHERE failed_at IS NOT NULL"
        )
        #expect(failed.map { $0["id"] } == [stuck])
        #expect(failed.first?["failure"]?.hasPrefix("unroutable: ") == true, "\(failed.first?["failure"] ?? "")")
        #expect(try await drainProbe(environment).compactMap(\.properties.messageId) == [before, after])
        let status = try await environment.fleet(["outbox", "status"])
        #expect(status.contains("pending: 0"), "\(status)")
        #expect(status.contains("sent: 2"), "\(status)")
        #expect(status.contains("failed: 1"), "\(status)")
        #expect(status.contains("event.register \(stuck)") && status.contains("unroutable"), "\(status)")

        // An operator binds a queue for it and clears the failure: the relay sends it.
        try await declareProbe(environment, routingKey: EventRegister.jobType)
        try await environment.postgres.query(
            "UPDATE fleet_outbox SET failed_at = NULL, failure = NULL WHERE envelope_id = $1",
            [stuck]
        )
        try await environment.waitUntil("the cleared row sent") {
            try await environment.count(
                "SELECT count(*) AS n FROM fleet_outbox WHERE envelope_id = $1 AND sent_at IS NOT NULL",
                [stuck]
            ) == 1
        }
        #expect(try await drainProbe(environment).compactMap(\.properties.messageId) == [stuck])
        let output = await relay.stop()
        #expect(output.contains("outbox relay: published=3 failed=1"), "\(output)")
        await environment.tearDown()
    }

    @Test("A publish the broker refuses otherwise (its exchange missing) leaves the rows unsent and is retried")
    func otherRefusalsAreRetried() async throws {
        let environment = try await FleetTestEnvironment.make("outbox_refused", workers: ["learning"])
        // The relay's queues.yaml names an exchange that does not exist yet.
        let exchange = "jobs_outbox_\(UInt32.random(in: 0...UInt32.max))"
        let directory = "\(NSTemporaryDirectory())/\(environment.name)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        try String(contentsOfFile: "\(environment.configuration.configDirectory)/queues.yaml", encoding: .utf8)
            .replacingOccurrences(of: "\nexchange: jobs\n", with: "\nexchange: \(exchange)\n")
            .write(toFile: "\(directory)/queues.yaml", atomically: true, encoding: .utf8)
        let outbox = Outbox()
        let ids = try await environment.postgres.withTransaction { connection in
            try (0..<3).map { course in
                try outbox.enqueue(
                    EnrollmentUpdate(
                        userId: SampleWorkload.userId(0),
                        courseId: SampleWorkload.courseId(course),
                        action: .enroll
                    ),
                    on: connection,
                    orderingKey: "user-0"
                ).id
            }
        }
        let relay = try WorkerProcess(
            arguments: ["outbox", "relay", "--config-dir", directory, "--poll-interval", "50ms"],
            environment: environment.processEnvironment,
            logName: "\(environment.name)-relay"
        )
        try await environment.waitUntil("two refused attempts at the key's first row") {
            let rows = try await environment.postgres.query(
                "SELECT attempts, last_error, sent_at, failed_at FROM fleet_outbox ORDER BY seq"
            )
            return rows.count == 3 && rows.allSatisfy { $0["sent_at"] == nil && $0["failed_at"] == nil }
                && (rows[0].int("attempts") ?? 0) >= 2 && rows[0]["last_error"]?.contains("404") == true
                && rows[1].int("attempts") == 0
        }
        // The exchange appears: the rows go out, in order, and are marked sent.
        try await AMQPConnection.withDedicatedThread(environment.configuration.amqp) { connection in
            try connection.declareExchange(exchange, type: "topic")
            try connection.declareQueue(Self.probe)
            try connection.bindQueue(Self.probe, exchange: exchange, routingKey: "#")
        }
        try await environment.waitUntil("the rows sent once the exchange exists") {
            try await environment.count("SELECT count(*) AS n FROM fleet_outbox WHERE sent_at IS NOT NULL") == 3
        }
        #expect(try await drainProbe(environment).compactMap(\.properties.messageId) == ids)
        let output = await relay.stop()
        #expect(relay.process.terminationStatus == 0, "\(output)")
        #expect(output.contains("outbox relay: published=3 failed=0"), "\(output)")
        try? FileManager.default.removeItem(atPath: directory)
        await environment.tearDown()
    }

    @Test("A bad, unreachable or unmigrated outbox database is an error naming it, without the password")
    func badDatabaseIsAClearError() async throws {
        let environment = try await FleetTestEnvironment.make("outbox_baddb", workers: ["learning"])
        let pg = environment.configuration.postgres
        let password = pg.password ?? ""
        let cases: [(url: String, message: String)] = [
            ("mysql://fleet@localhost/fleet", "FLEET_OUTBOX_POSTGRES_URL: "),
            (
                "postgresql://\(pg.user):\(password)@127.0.0.1:1/\(pg.database)",
                "cannot use the outbox database at 127.0.0.1:1/\(pg.database): "
            ),
            (
                "postgresql://\(pg.user):\(password)@\(pg.host):\(pg.port)/postgres",
                "there is no table fleet_outbox in the database at \(pg.host):\(pg.port)/postgres: run `fleet migrate`"
            ),
        ]
        for (url, message) in cases {
            let (status, output) = try await runFleetBinary(
                ["outbox", "relay", "--config-dir", environment.configuration.configDirectory],
                environment: environment.processEnvironment.merging(["FLEET_OUTBOX_POSTGRES_URL": url]) { $1 }
            )
            #expect(status != 0, "\(url)")
            #expect(output.contains(message), "\(output)")
            #expect(password.isEmpty || !output.contains(":\(password)@"), "\(output)")
        }
        await environment.tearDown()
    }

    @Test("Sent rows past their window are pruned by `fleet maintenance` and, periodically, by the relay")
    func pruning() async throws {
        let environment = try await FleetTestEnvironment.make("outbox_prune", workers: ["learning"])
        let outbox = Outbox()
        func write(sentDaysAgo days: Int) async throws -> String {
            let id = try await environment.postgres.withConnection { connection in
                try outbox.enqueue(
                    EnrollmentUpdate(
                        userId: SampleWorkload.userId(0),
                        courseId: SampleWorkload.courseId(0),
                        action: .enroll
                    ),
                    on: connection
                ).id
            }
            try await environment.postgres.query(
                "UPDATE fleet_outbox SET sent_at = now() - ($2 || ' days')::interval WHERE envelope_id = $1",
                [id, String(days)]
            )
            return id
        }
        func exists(_ id: String) async throws -> Bool {
            try await environment.count("SELECT count(*) AS n FROM fleet_outbox WHERE envelope_id = $1", [id]) == 1
        }
        // fleet maintenance: the 8-day-old row goes (7-day default window), the 6-day-old one stays.
        let old = try await write(sentDaysAgo: 8)
        let recent = try await write(sentDaysAgo: 6)
        let output = try await environment.fleet(["maintenance"])
        #expect(output.contains("postgres fleet_outbox enrollment.update: 1 record(s) pruned"), "\(output)")
        #expect(try await !exists(old))
        #expect(try await exists(recent))

        // The relay prunes at start and then every --prune-interval.
        let atStart = try await write(sentDaysAgo: 9)
        let relay = try startRelay(environment, ["--prune-interval", "1s"], name: "relay")
        try await environment.waitUntil("the relay to prune at start", timeout: .seconds(60)) {
            try await !exists(atStart)
        }
        let later = try await write(sentDaysAgo: 10)
        try await environment.waitUntil("the relay to prune again", timeout: .seconds(60)) {
            try await !exists(later)
        }
        #expect(try await exists(recent))
        let relayOutput = await relay.stop()
        #expect(relayOutput.contains("pruned=2"), "\(relayOutput)")
        await environment.tearDown()
    }
}
