import Foundation
import Postgres
import Testing

/// The server under test; CI and developers point this at their own.
private let postgresURL =
    ProcessInfo.processInfo.environment["FLEET_POSTGRES_URL"] ?? "postgresql://fleet:fleet@127.0.0.1:55432/fleet"

@Suite("Postgres client", .timeLimit(.minutes(2)))
struct PostgresClientTests {
    // MARK: - Configuration

    @Test func parsesURLs() throws {
        let plain = try PostgresConfiguration(url: "postgresql://fleet:fleet@127.0.0.1:55432/fleet")
        #expect(plain.host == "127.0.0.1")
        #expect(plain.port == 55432)
        #expect(plain.user == "fleet")
        #expect(plain.password == "fleet")
        #expect(plain.database == "fleet")
        #expect(plain.connectTimeoutSeconds == 5)

        let short = try PostgresConfiguration(url: "postgres://worker@db.internal/jobs")
        #expect(short.host == "db.internal")
        #expect(short.port == 5432)
        #expect(short.user == "worker")
        #expect(short.password == nil)
        #expect(short.database == "jobs")

        let encoded = try PostgresConfiguration(url: "postgresql://us%65r:p%40ss%3Aw%2Frd%25?@[::1]:5433/my%20db")
        #expect(encoded.user == "user")
        #expect(encoded.password == "p@ss:w/rd%?")
        #expect(encoded.host == "::1")
        #expect(encoded.port == 5433)
        #expect(encoded.database == "my db")
        #expect(encoded.redactedAddress == "[::1]:5433/my db")

        let rawAt = try PostgresConfiguration(url: "postgresql://u:a@b@host:1/d")
        #expect(rawAt.password == "a@b")
        #expect(rawAt.host == "host")
    }

    @Test func redactedAddressHasNoPassword() throws {
        let configuration = try PostgresConfiguration(url: "postgresql://fleet:s3cr3t-pw@db.internal:6000/jobs")
        #expect(configuration.redactedAddress == "db.internal:6000/jobs")
        #expect(!configuration.redactedAddress.contains("s3cr3t"))
        #expect(!configuration.redactedAddress.contains("fleet"))
    }

    @Test(arguments: [
        ("mysql://u:hunter2@h:5432/d", "postgresql://"),
        ("postgresql://u:hunter2@h:port/d", "port"),
        ("postgresql://u:hunter2@h:70000/d", "port"),
        ("postgresql://u:hunter2@h:5432", "database"),
        ("postgresql://u:hunter2@h:5432/", "database"),
        ("postgresql://h:5432/d", "user"),
        ("postgresql://:hunter2@h:5432/d", "user"),
        ("postgresql://u:hunter2@:5432/d", "host"),
        ("postgresql://u:hunter2@h/d?sslmod=require", "unknown parameter sslmod"),
        ("postgresql://u:hunter2@h/d?sslmode=sometimes", "sslmode"),
        ("postgresql://u:hunter2@h/d?password=hunter2", "password"),
        ("postgresql://u:hunter2@h/d?connect_timeout=hunter2", "connect_timeout"),
        ("postgresql://u:hunter2@h/d?statement_timeout=5parsecs", "statement_timeout"),
        ("postgresql://u:hunter2@h/d?a=1&a=2", "twice"),
        ("postgresql://u:hunter2@h/d?sslmode", "=value"),
        ("postgresql://u:hunter2%zz@h/d", "password"),
        ("postgresql://u:hunter2@[::1/d", "IPv6"),
    ])
    func rejectsBadURLs(url: String, reason: String) throws {
        let error = #expect(throws: PostgresError.self) { try PostgresConfiguration(url: url) }
        #expect(error?.code == .configuration)
        #expect(
            error?.message.contains(reason) == true,
            "\(String(describing: error?.message)) should mention \(reason)"
        )
        #expect(error?.isTransient == false)
        #expect(error.map { !"\($0)".contains("hunter2") && !$0.message.contains("hunter2") } == true)
    }

    // MARK: - Errors

    @Test func classifiesTransientErrors() {
        let transient = [
            "08000", "08006", "08P01", "40001", "40P01", "57P01", "57P02", "57P03", "53300", "55P03", "57014",
        ]
        let permanent = ["23505", "23503", "22012", "22P02", "42601", "42P01", "25P02"]
        for state in transient {
            #expect(PostgresError(code: .query, sqlState: state, message: "", address: "").isTransient, "\(state)")
        }
        for state in permanent {
            #expect(!PostgresError(code: .query, sqlState: state, message: "", address: "").isTransient, "\(state)")
        }
        #expect(PostgresError(code: .connection, message: "refused", address: "h:1/d").isTransient)
        #expect(!PostgresError(code: .query, message: "no state", address: "h:1/d").isTransient)
        #expect(!PostgresError(code: .protocolViolation, message: "COPY", address: "h:1/d").isTransient)
    }

    @Test func unreachableServerIsATransientConnectionError() async throws {
        var configuration = PostgresConfiguration(
            host: "127.0.0.1",
            port: 1,
            user: "fleet",
            password: "s3cret-pw",
            database: "fleet"
        )
        configuration.connectTimeoutSeconds = 2

        let error = #expect(throws: PostgresError.self) { try PostgresConnection.connect(configuration) }
        #expect(error?.code == .connection)
        #expect(error?.isTransient == true)
        #expect(error?.address == "127.0.0.1:1/fleet")
        #expect(error.map { "\($0)".contains("127.0.0.1:1") } == true)
        #expect(error?.message.contains("127.0.0.1") == true)
        #expect(error.map { "\($0)".contains("s3cret") || String(reflecting: $0).contains("s3cret") } == false)

        // Through the pool, twice: a failed connect must give its slot back, or the second call would hang.
        let client = PostgresClient(configuration: configuration, maxConnections: 1)
        for _ in 0..<2 {
            let pooled = await #expect(throws: PostgresError.self) { try await client.query("SELECT 1") }
            #expect(pooled?.code == .connection)
            #expect(pooled?.isTransient == true)
        }
        await client.shutdown()
    }

    @Test func unknownDatabaseIsAConnectionErrorWithoutThePassword() throws {
        var configuration = try PostgresConfiguration(url: postgresURL)
        configuration.database = uniqueName("no_such_db")
        configuration.password = "s3cret-pw"
        let error = #expect(throws: PostgresError.self) { try PostgresConnection.connect(configuration) }
        #expect(error?.code == .connection)
        #expect(error?.message.contains(configuration.database) == true)
        #expect(error?.message.contains("s3cret") == false)
    }

    // MARK: - Binding and results

    @Test func everyBindableTypeRoundTrips() async throws {
        try await withClient { client in
            try await withTableName("pg_bind") { table in
                try await withTableName("pg_victim") { victim in
                    try await client.query("CREATE TABLE \(victim) (id int)")
                    try await client.query(
                        """
                        CREATE TABLE \(table) (
                            s text, i bigint, i32 integer, i64 bigint, d double precision, b boolean, u uuid, t timestamptz)
                        """
                    )
                    let hostile = "'); DROP TABLE \(victim); --"
                    let samples: [Sample] = [
                        Sample(
                            s: "plain",
                            i: 42,
                            i32: -7,
                            i64: 9_000_000_000,
                            d: 3.25,
                            b: true,
                            u: UUID(),
                            t: Date(timeIntervalSince1970: 1_795_638_662.123456)
                        ),
                        Sample(
                            s: hostile,
                            i: .min,
                            i32: .max,
                            i64: .max,
                            d: -1.0e-300,
                            b: false,
                            u: UUID(),
                            t: Date(timeIntervalSince1970: -1.5)
                        ),
                        Sample(
                            s: "ünïcødé 🚀 \\ \" ' $1 %s \n\t",
                            i: .max,
                            i32: .min,
                            i64: .min,
                            d: .greatestFiniteMagnitude,
                            b: true,
                            u: UUID(),
                            t: Date(timeIntervalSince1970: 951_782_400.000001)
                        ),  // 2000-02-29
                    ]
                    for sample in samples {
                        let inserted = try await client.query(
                            "INSERT INTO \(table) (s, i, i32, i64, d, b, u, t) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                            [sample.s, sample.i, sample.i32, sample.i64, sample.d, sample.b, sample.u, sample.t]
                        )
                        #expect(inserted.affectedRows == 1)
                    }
                    for sample in samples {
                        let rows = try await client.query(
                            "SELECT s, i, i32, i64, d, b, u, u::text AS utext, t, extract(epoch FROM t)::text AS epoch FROM \(table) WHERE s = $1",
                            [sample.s]
                        )
                        try #require(rows.count == 1)
                        let row = rows[0]
                        #expect(row["s"] == sample.s)
                        #expect(row.int("i") == sample.i)
                        #expect(row.int("i32") == Int(sample.i32))
                        #expect(row.int("i64") == Int(sample.i64))
                        #expect(row.double("d") == sample.d)
                        #expect(row.bool("b") == sample.b)
                        #expect(row.uuid("u") == sample.u)
                        #expect(row["utext"] == sample.u.uuidString.lowercased())
                        let date = try #require(row.date("t"))
                        #expect(abs(date.timeIntervalSince1970 - sample.t.timeIntervalSince1970) < 0.000_001)
                        // The server's own reading of the bound date, independent of our parser.
                        let epoch = try #require(row["epoch"].flatMap(Double.init))
                        #expect(abs(epoch - sample.t.timeIntervalSince1970) < 0.000_001)
                        #expect(
                            row["t"]?.hasSuffix("+00") == true,
                            "session time zone should be UTC: \(row["t"] ?? "nil")"
                        )
                    }
                    // The hostile string was data, not SQL: the victim table is still there.
                    let victimExists = try await client.query("SELECT to_regclass($1) IS NOT NULL AS present", [victim])
                    #expect(victimExists.first?.bool("present") == true)
                }
            }
        }
    }

    @Test func specialDoublesRoundTrip() async throws {
        try await withClient { client in
            for value in [Double.nan, .infinity, -.infinity, 0.1, -0.0, .pi, .leastNonzeroMagnitude, 1.0e300] {
                let rows = try await client.query("SELECT $1::float8 AS v", [value])
                let read = try #require(
                    rows.first?.double("v"),
                    "float8 \(value) read back as \(rows.first?["v"] ?? "nil")"
                )
                #expect(read == value || (read.isNaN && value.isNaN), "\(value) came back as \(read)")
            }
        }
    }

    @Test func bindableTextForms() {
        #expect(true.postgresText == "true")
        #expect(false.postgresText == "false")
        #expect(Int32(-5).postgresText == "-5")
        #expect(Int64.min.postgresText == "-9223372036854775808")
        let uuid = UUID(uuidString: "E621E1F8-C36C-495A-93FC-0C247A3E6E5F")!
        #expect(uuid.postgresText == "e621e1f8-c36c-495a-93fc-0c247a3e6e5f")
        #expect(Date(timeIntervalSince1970: 1_795_638_662.5).postgresText == "2026-11-25T20:31:02.500000Z")
        #expect(Date(timeIntervalSince1970: -0.25).postgresText == "1969-12-31T23:59:59.750000Z")
        #expect(Double.infinity.postgresText == "Infinity")
    }

    @Test func nullBindsAndReadsAsNil() async throws {
        try await withClient { client in
            try await withTableName("pg_null") { table in
                try await client.query(
                    "CREATE TABLE \(table) (s text, i bigint, b boolean, u uuid, t timestamptz, d float8)"
                )
                try await client.query(
                    "INSERT INTO \(table) VALUES ($1, $2, $3, $4, $5, $6)",
                    [nil, nil, nil, nil, nil, nil]
                )
                let rows = try await client.query(
                    "SELECT s, i, b, u, t, d, s IS NULL AS was_null, '' AS empty FROM \(table)"
                )
                try #require(rows.count == 1)
                let row = rows[0]
                #expect(row["s"] == nil)
                #expect(row[0] == nil)
                #expect(row.int("i") == nil)
                #expect(row.bool("b") == nil)
                #expect(row.uuid("u") == nil)
                #expect(row.date("t") == nil)
                #expect(row.double("d") == nil)
                #expect(row.bool("was_null") == true)
                #expect(row["empty"] == "")  // empty text is not NULL
            }
        }
    }

    @Test func rowsAreACollection() async throws {
        try await withClient { client in
            let rows = try await client.query("SELECT g AS n, g * 2 AS twice FROM generate_series(1, 5) AS g")
            #expect(rows.columns == ["n", "twice"])
            #expect(rows.count == 5)
            #expect(rows.affectedRows == 5)
            #expect(rows.map { $0.int("twice") } == [2, 4, 6, 8, 10])
            #expect(rows[4][0] == "5")
            #expect(rows.reversed().first?.int("n") == 5)

            try await withTableName("pg_rows") { table in
                try await client.query("CREATE TABLE \(table) AS SELECT g AS n FROM generate_series(1, 10) AS g")
                let updated = try await client.query("UPDATE \(table) SET n = n + 100 WHERE n > $1", [7])
                #expect(updated.affectedRows == 3)
                #expect(updated.isEmpty)
            }
        }
    }

    @Test func readsTimestampText() async throws {
        try await withClient { client in
            let rows = try await client.query(
                """
                SELECT '2026-11-25 20:31:02.123456+00'::timestamptz AS tz,
                       '2026-11-25 22:31:02+02'::text AS offset_hours,
                       '2026-11-25T15:01:02.5-05:30'::text AS offset_minutes,
                       '2026-11-25 20:31:02'::timestamp AS naive,
                       '2026-11-25'::date AS day,
                       'infinity'::timestamptz AS forever,
                       '2026-02-30 00:00:00+00'::text AS impossible,
                       current_setting('TimeZone') AS zone
                """
            )
            let row = try #require(rows.first)
            #expect(row["zone"] == "UTC")
            #expect(row["tz"] == "2026-11-25 20:31:02.123456+00")
            let base = 1_795_638_662.0  // 2026-11-25 20:31:02 UTC
            #expect(abs((row.date("tz")?.timeIntervalSince1970 ?? 0) - (base + 0.123456)) < 0.000_001)
            #expect(row.date("offset_hours")?.timeIntervalSince1970 == base)
            #expect(row.date("offset_minutes")?.timeIntervalSince1970 == base + 0.5)
            #expect(row.date("naive")?.timeIntervalSince1970 == base)
            #expect(row.date("day")?.timeIntervalSince1970 == 1_795_564_800)
            #expect(row.date("forever") == nil)
            #expect(row.date("impossible") == nil)
        }
    }

    // MARK: - Transactions

    @Test func transactionCommits() async throws {
        try await withClient { client in
            try await withTableName("pg_commit") { table in
                try await client.query("CREATE TABLE \(table) (id int PRIMARY KEY)")
                let returned = try await client.withTransaction { connection in
                    try connection.query("INSERT INTO \(table) VALUES ($1), ($2)", [1, 2])
                    return "done"
                }
                #expect(returned == "done")
                #expect(try countRows(table, onNewConnection: true) == 2)
            }
        }
    }

    @Test func transactionRollsBackWhenBodyThrows() async throws {
        struct Boom: Error {}
        try await withClient(maxConnections: 1) { client in
            try await withTableName("pg_rollback") { table in
                try await client.query("CREATE TABLE \(table) (id int PRIMARY KEY)")
                let pidBefore = try await client.query("SELECT pg_backend_pid() AS pid").first?.int("pid")
                await #expect(throws: Boom.self) {
                    try await client.withTransaction { connection in
                        try connection.query("INSERT INTO \(table) VALUES ($1)", [1])
                        throw Boom()
                    }
                }
                #expect(try countRows(table, onNewConnection: true) == 0)
                // The rollback left the connection clean, so the pool kept it rather than replacing it.
                let (pidAfter, usable) = try await client.withConnection { connection in
                    (try connection.query("SELECT pg_backend_pid() AS pid").first?.int("pid"), connection.isUsable)
                }
                #expect(usable)
                #expect(pidAfter != nil && pidAfter == pidBefore)
            }
        }
    }

    @Test func transactionRefusesToCommitAfterACaughtFailure() async throws {
        try await withClient { client in
            try await withTableName("pg_swallow") { table in
                try await client.query("CREATE TABLE \(table) (id int PRIMARY KEY)")
                let error = await #expect(throws: PostgresError.self) {
                    try await client.withTransaction { connection in
                        try connection.query("INSERT INTO \(table) VALUES (1)")
                        _ = try? connection.query("INSERT INTO \(table) VALUES (1)")  // duplicate, error swallowed
                    }
                }
                #expect(error?.sqlState == "25P02")
                #expect(try countRows(table, onNewConnection: true) == 0)
            }
        }
    }

    @Test func transactionsDoNotNest() async throws {
        try await withClient { client in
            let error = await #expect(throws: PostgresError.self) {
                try await client.withTransaction { connection in
                    try connection.transaction { _ in }
                }
            }
            #expect(error?.message.contains("nesting") == true)
        }
    }

    // MARK: - Server errors

    @Test func uniqueViolationIsAPermanentQueryError() async throws {
        try await withClient(maxConnections: 1) { client in
            try await withTableName("pg_unique") { table in
                try await client.query("CREATE TABLE \(table) (id int PRIMARY KEY)")
                try await client.query("INSERT INTO \(table) VALUES ($1)", [7])
                let (error, usable, next) = try await client.withConnection { connection in
                    var caught: PostgresError?
                    do {
                        try connection.query("INSERT INTO \(table) VALUES ($1)", [7])
                    } catch let error as PostgresError {
                        caught = error
                    }
                    return (caught, connection.isUsable, try connection.query("SELECT 1 AS one").first?.int("one"))
                }
                #expect(error?.code == .query)
                #expect(error?.sqlState == "23505")
                #expect(error?.isTransient == false)
                #expect(error?.message.contains("duplicate key") == true)
                #expect(usable, "a statement error must not retire the connection")
                #expect(next == 1)
            }
        }
    }

    @Test func syntaxErrorCarriesItsState() async throws {
        try await withClient { client in
            let error = await #expect(throws: PostgresError.self) { try await client.query("SELEC 1") }
            #expect(error?.sqlState == "42601")
            #expect(error?.isTransient == false)
            // Parameterized statements are single statements: no stacking.
            let stacked = await #expect(throws: PostgresError.self) {
                try await client.query("SELECT $1::int; SELECT 2", [1])
            }
            #expect(stacked?.sqlState == "42601")
        }
    }

    /// Parameterized statements are prepared once per connection; a statement the server dropped or
    /// whose table changed fails once and is prepared anew on the next call.
    @Test func preparedStatementsRecoverFromDiscardAndTableChanges() throws {
        try withSideConnection { connection in
            let table = "prepared_\(UUID().uuidString.prefix(8).lowercased())"
            try connection.execute(script: "CREATE TABLE \(table) (id int PRIMARY KEY, name text)")
            defer { _ = try? connection.execute(script: "DROP TABLE IF EXISTS \(table)") }
            let select = "SELECT * FROM \(table) WHERE id = $1"
            for id in 1...3 {
                try connection.query("INSERT INTO \(table) VALUES ($1, $2)", [id, "n\(id)"])
                #expect(try connection.query(select, [id]).first?["name"] == "n\(id)")
            }
            try connection.execute(script: "DISCARD ALL")
            let dropped = #expect(throws: PostgresError.self) { try connection.query(select, [1]) }
            #expect(dropped?.sqlState == "26000")
            #expect(try connection.query(select, [1]).first?["name"] == "n1")

            try connection.execute(script: "ALTER TABLE \(table) ADD COLUMN extra int")
            let changed = #expect(throws: PostgresError.self) { try connection.query(select, [2]) }
            #expect(changed?.sqlState == "0A000")
            let row = try connection.query(select, [2]).first
            #expect(row?["name"] == "n2" && row?["extra"] == nil)
            #expect(connection.isUsable)
        }
    }

    @Test func scriptsRunSeveralStatementsAtomically() async throws {
        try await withClient { client in
            try await withTableName("pg_script") { table in
                try await client.withConnection { connection in
                    try connection.execute(
                        script: """
                            CREATE TABLE \(table) (id int PRIMARY KEY, name text);
                            INSERT INTO \(table) VALUES (1, 'a');
                            INSERT INTO \(table) VALUES (2, 'b; not a statement');
                            """
                    )
                }
                #expect(try countRows(table) == 2)
                let error = await #expect(throws: PostgresError.self) {
                    try await client.withConnection { connection in
                        try connection.execute(
                            script: "INSERT INTO \(table) VALUES (3, 'c'); INSERT INTO \(table) VALUES (1, 'dup');"
                        )
                    }
                }
                #expect(error?.sqlState == "23505")
                #expect(try countRows(table) == 2, "a failing script leaves no partial effects")
            }
        }
    }

    // MARK: - Pool

    @Test func poolNeverOpensMoreThanMaxConnections() async throws {
        let maxConnections = 4
        let gauge = Gauge()
        try await withClient(maxConnections: maxConnections) { client in
            let pids = try await withThrowingTaskGroup(of: Int.self) { group in
                for _ in 0..<50 {
                    group.addTask {
                        try await client.withConnection { connection in
                            gauge.enter()
                            defer { gauge.leave() }
                            let rows = try connection.query("SELECT pg_backend_pid() AS pid, pg_sleep(0.02)")
                            return rows.first?.int("pid") ?? -1
                        }
                    }
                }
                return try await group.reduce(into: [Int]()) { $0.append($1) }
            }
            #expect(pids.count == 50)
            #expect(!pids.contains(-1))
            let distinct = Set(pids)
            #expect(distinct.count <= maxConnections, "backends used: \(distinct.count)")
            #expect(gauge.peak <= maxConnections, "peak concurrency: \(gauge.peak)")
            #expect(gauge.peak >= 2, "the pool should run bodies in parallel")
            // The server agrees: exactly the backends we saw are open, and no more.
            let open = try countBackends(distinct)
            #expect(open == distinct.count)
        }
    }

    @Test func poolReconnectsAfterBackendsAreTerminated() async throws {
        try await withClient(maxConnections: 2) { client in
            // Open both connections by holding them at the same time.
            async let first = client.query("SELECT pg_backend_pid() AS pid, pg_sleep(0.3)")
            async let second = client.query("SELECT pg_backend_pid() AS pid, pg_sleep(0.3)")
            let victims = Set(try await [first, second].compactMap { $0.first?.int("pid") })
            try #require(victims.count == 2)

            #expect(try terminateBackends(victims) == 2)

            var failures: [PostgresError] = []
            var pid: Int?
            for _ in 1...3 {
                do {
                    pid = try await client.query("SELECT pg_backend_pid() AS pid").first?.int("pid")
                    break
                } catch let error as PostgresError {
                    failures.append(error)
                }
            }
            let newPID = try #require(pid, "no success within 3 attempts; failures: \(failures)")
            #expect(!victims.contains(newPID))
            // Both stale connections are gone, so at least the first attempt failed, and at most two did.
            #expect((1...2).contains(failures.count), "\(failures)")
            for failure in failures {
                #expect(failure.isTransient, "\(failure)")
                #expect(failure.code == .connection, "\(failure)")
            }
        }
    }

    @Test func lostConnectionIsUnusable() async throws {
        try await withClient(maxConnections: 1) { client in
            let victim = try #require(try await client.query("SELECT pg_backend_pid() AS pid").first?.int("pid"))
            #expect(try terminateBackends([victim]) == 1)
            let (failed, usable) = try await client.withConnection { connection in
                do {
                    try connection.query("SELECT 1")
                    return (false, connection.isUsable)
                } catch {
                    return (true, connection.isUsable)
                }
            }
            #expect(failed)
            #expect(!usable)
            let replacement = try await client.query("SELECT pg_backend_pid() AS pid").first?.int("pid")
            #expect(replacement != nil && replacement != victim)
        }
    }

    @Test func connectionLeftInATransactionIsReplaced() async throws {
        try await withClient(maxConnections: 1) { client in
            let (pid, usable) = try await client.withConnection { connection in
                try connection.query("BEGIN")
                return (try connection.query("SELECT pg_backend_pid() AS pid").first?.int("pid"), connection.isUsable)
            }
            #expect(!usable)
            let next = try await client.query("SELECT pg_backend_pid() AS pid").first?.int("pid")
            #expect(next != nil && next != pid)
        }
    }

    @Test func closedConnectionRefusesWork() throws {
        let connection = try PostgresConnection.connect(try PostgresConfiguration(url: postgresURL))
        #expect(connection.isUsable)
        connection.close()
        connection.close()  // idempotent
        #expect(!connection.isUsable)
        let error = #expect(throws: PostgresError.self) { try connection.query("SELECT 1") }
        #expect(error?.code == .connection)
    }
}

// MARK: - Helpers

private struct Sample: Sendable {
    var s: String
    var i: Int
    var i32: Int32
    var i64: Int64
    var d: Double
    var b: Bool
    var u: UUID
    var t: Date
}

/// Counts bodies running at once and remembers the most.
private final class Gauge: @unchecked Sendable {  // all state behind `lock`
    private let lock = NSLock()
    private var current = 0
    private var highest = 0

    func enter() {
        lock.withLock {
            current += 1
            highest = max(highest, current)
        }
    }

    func leave() { lock.withLock { current -= 1 } }

    var peak: Int { lock.withLock { highest } }
}

/// A table or database name no parallel test shares.
private func uniqueName(_ prefix: String) -> String {
    "\(prefix)_\(UUID().uuidString.prefix(8).lowercased())"
}

private func withClient<T>(
    maxConnections: Int = 4,
    _ body: (PostgresClient) async throws -> T
) async throws -> T {
    let client = PostgresClient(
        configuration: try PostgresConfiguration(url: postgresURL),
        maxConnections: maxConnections
    )
    do {
        let value = try await body(client)
        await client.shutdown()
        return value
    } catch {
        await client.shutdown()
        throw error
    }
}

/// A connection outside any pool under test, for setup and for looking from the side.
private func withSideConnection<T>(_ body: (PostgresConnection) throws -> T) throws -> T {
    let connection = try PostgresConnection.connect(try PostgresConfiguration(url: postgresURL))
    defer { connection.close() }
    return try body(connection)
}

private func countRows(_ table: String, onNewConnection: Bool = true) throws -> Int? {
    try withSideConnection { try $0.query("SELECT count(*) AS n FROM \(table)").first?.int("n") }
}

private func countBackends(_ pids: Set<Int>) throws -> Int? {
    try withSideConnection { connection in
        try connection.query(
            "SELECT count(*) AS n FROM pg_stat_activity WHERE application_name = 'workerfleet' AND pid = ANY($1::int[])",
            [pidArray(pids)]
        ).first?.int("n")
    }
}

/// Kills only the given backends: other tests, running in parallel, use 'workerfleet' connections too.
/// Waits (up to 5 s) until each is gone, so the next statement on it fails for sure.
private func terminateBackends(_ pids: Set<Int>) throws -> Int? {
    try withSideConnection { connection in
        try connection.query(
            """
            SELECT count(*) FILTER (WHERE pg_terminate_backend(pid, 5000)) AS n FROM pg_stat_activity
            WHERE application_name = 'workerfleet' AND pid <> pg_backend_pid() AND pid = ANY($1::int[])
            """,
            [pidArray(pids)]
        ).first?.int("n")
    }
}

private func pidArray(_ pids: Set<Int>) -> String {
    "{" + pids.map(String.init).joined(separator: ",") + "}"
}

/// Runs `body` with a table name of its own, and drops that table afterwards, whatever happens.
private func withTableName<T>(_ prefix: String, _ body: (String) async throws -> T) async throws -> T {
    let table = uniqueName(prefix)
    func drop() throws {
        try withSideConnection { connection in _ = try connection.query("DROP TABLE IF EXISTS \(table)") }
    }
    do {
        let value = try await body(table)
        try drop()
        return value
    } catch {
        try? drop()
        throw error
    }
}
