import BlockingIO
import FleetStoreKit
import Foundation
import Testing

@testable import FleetCore
@testable import Postgres

/// The server under test; CI and developers point this at their own.
private let postgresURL =
    ProcessInfo.processInfo.environment["FLEET_POSTGRES_URL"] ?? "postgresql://fleet:fleet@127.0.0.1:55432/fleet"

/// libpq's URL parameters, the timeouts every connection gets, and how a deadline or a cancelled
/// caller stops a statement in progress.
@Suite("Postgres timeouts and URL parameters", .timeLimit(.minutes(2)))
struct PostgresTimeoutTests {
    // MARK: - URL parameters (no server)

    @Test func urlParametersReachLibpq() throws {
        let configuration = try PostgresConfiguration(
            url: "postgresql://fleet:pw@db1:5432,[::1]:5433,db3/jobs?target_session_attrs=read-write"
                + "&sslmode=verify-full&sslrootcert=%2Fetc%2Fca.pem&connect_timeout=7&application_name=billing"
                + "&keepalives_idle=5&statement_timeout=2min&lock_timeout=1500&idle_in_transaction_session_timeout=90s"
                + "&options=-c%20work_mem%3D8MB"
        )
        #expect(configuration.endpoints.map(\.description) == ["db1:5432", "[::1]:5433", "db3:5432"])
        #expect(configuration.host == "db1")
        #expect(configuration.redactedAddress == "db1:5432,[::1]:5433,db3:5432/jobs")
        #expect(configuration.connectTimeoutSeconds == 7)
        #expect(configuration.statementTimeout == .seconds(120))
        #expect(configuration.lockTimeout == .milliseconds(1500))
        let libpq = Dictionary(uniqueKeysWithValues: configuration.libpqParameters)
        #expect(libpq["host"] == "db1,::1,db3")
        #expect(libpq["port"] == "5432,5433,5432")
        #expect(libpq["target_session_attrs"] == "read-write")
        #expect(libpq["sslmode"] == "verify-full")
        #expect(libpq["sslrootcert"] == "/etc/ca.pem")
        #expect(libpq["connect_timeout"] == "7")
        #expect(libpq["application_name"] == "billing")
        // The URL's value wins over the default; the other defaults stay.
        #expect(libpq["keepalives_idle"] == "5")
        #expect(libpq["keepalives_interval"] == "10")
        #expect(libpq["tcp_user_timeout"] == "30000")
        #expect(
            libpq["options"]
                == "-c TimeZone=UTC -c DateStyle=ISO,MDY -c statement_timeout=120000 -c lock_timeout=1500"
                + " -c idle_in_transaction_session_timeout=90000 -c work_mem=8MB"
        )
        #expect(libpq["password"] == "pw")
        #expect(configuration.libpqParameters.last?.0 == "password")
    }

    @Test func defaultsWithoutParameters() throws {
        let configuration = try PostgresConfiguration(url: "postgresql://fleet@db/jobs")
        #expect(configuration.statementTimeout == .seconds(60))
        #expect(configuration.lockTimeout == .seconds(10))
        #expect(configuration.idleInTransactionSessionTimeout == nil)
        let libpq = Dictionary(uniqueKeysWithValues: configuration.libpqParameters)
        #expect(libpq["keepalives"] == "1")
        #expect(libpq["keepalives_idle"] == "30")
        #expect(libpq["keepalives_interval"] == "10")
        #expect(libpq["keepalives_count"] == "3")
        #expect(libpq["tcp_user_timeout"] == "30000")
        #expect(libpq["application_name"] == "workerfleet")
        #expect(libpq["connect_timeout"] == "5")
        #expect(libpq["password"] == nil)
        #expect(libpq["options"]?.contains("idle_in_transaction_session_timeout") == false)
    }

    @Test func unknownParameterIsNamedWithoutThePassword() {
        let error = #expect(throws: PostgresError.self) {
            try PostgresConfiguration(url: "postgresql://u:hunter2@h/d?sslmode=require&statment_timeout=5s")
        }
        #expect(error?.code == .configuration)
        #expect(error?.message.contains("unknown parameter statment_timeout") == true, "\(String(describing: error))")
        #expect(error.map { !"\($0)".contains("hunter2") } == true)
        // A secret value is never repeated, even in the error about it.
        let secret = #expect(throws: PostgresError.self) {
            try PostgresConfiguration(url: "postgresql://u@h/d?keepalives_idle=hunter2")
        }
        #expect(secret.map { !"\($0)".contains("hunter2") && "\($0)".contains("keepalives_idle") } == true)
    }

    @Test func printingAConfigurationShowsNoSecret() throws {
        let configuration = try PostgresConfiguration(
            url: "postgresql://u:hunter2@h/d?sslpassword=hunter3&sslmode=require"
        )
        for text in [
            "\(configuration)", String(reflecting: configuration),
            {
                var out = ""
                dump(configuration, to: &out)
                return out
            }(),
        ] {
            #expect(!text.contains("hunter2") && !text.contains("hunter3"), "\(text)")
        }
        #expect("\(configuration)" == "PostgresConfiguration(h:5432/d)")
    }

    // MARK: - Against the server

    @Test func statementTimeoutEndsALongStatementAsATransientError() async throws {
        let client = PostgresClient(
            configuration: try PostgresConfiguration(url: postgresURL + "?statement_timeout=300ms")
        )
        let started = ContinuousClock.now
        let error = await #expect(throws: PostgresError.self) { try await client.query("SELECT pg_sleep(10)") }
        #expect(ContinuousClock.now - started < .seconds(8))
        #expect(error?.sqlState == "57014", "\(String(describing: error))")
        #expect(error?.isTransient == true)
        let classified = FailureClassifier.stores.classify(try #require(error))
        #expect(classified.permanent == false)
        #expect(classified.reason == "postgres_unavailable")
        // The connection stays usable: a server-side timeout is a failed statement, not a lost session.
        #expect(try await client.query("SELECT 1 AS one").first?.int("one") == 1)
        await client.shutdown()
    }

    @Test func lockTimeoutEndsALockWaitAsATransientError() async throws {
        let table = "lock_timeout_\(UUID().uuidString.prefix(8).lowercased())"
        let client = PostgresClient(
            configuration: try PostgresConfiguration(url: postgresURL + "?lock_timeout=200ms"),
            maxConnections: 2
        )
        try await client.query("CREATE TABLE \(table) (id int PRIMARY KEY)")
        try await client.query("INSERT INTO \(table) VALUES (1)")
        let error = try await client.withTransaction { holder in
            try holder.query("SELECT * FROM \(table) WHERE id = 1 FOR UPDATE")
            // Another connection of the same pool waits for that row lock, until lock_timeout.
            let connection = try PostgresConnection.connect(
                try PostgresConfiguration(url: postgresURL + "?lock_timeout=200ms")
            )
            defer { connection.close() }
            do {
                try connection.query("UPDATE \(table) SET id = 2 WHERE id = 1")
                return nil as PostgresError?
            } catch let error as PostgresError {
                return error
            }
        }
        #expect(error?.sqlState == "55P03", "\(String(describing: error))")
        #expect(error?.isTransient == true)
        try await client.query("DROP TABLE \(table)")
        await client.shutdown()
    }

    @Test func aDeadlineCancelsTheRunningStatementAndThePoolServesTheNextQuery() async throws {
        let client = PostgresClient(configuration: try PostgresConfiguration(url: postgresURL), maxConnections: 1)
        let marker = "deadline_\(UUID().uuidString.prefix(8))"
        let started = ContinuousClock.now
        await #expect(throws: DeadlineExceeded.self) {
            try await withDeadline(.milliseconds(500)) {
                try await client.query("SELECT pg_sleep(60) AS \(marker)")
            }
        }
        #expect(
            ContinuousClock.now - started < .seconds(5),
            "withDeadline returned after \(ContinuousClock.now - started)"
        )
        // The pool's only connection comes back (retired and replaced) well before pg_sleep would end.
        let next = try await client.query("SELECT 1 AS one")
        #expect(next.first?.int("one") == 1)
        #expect(
            ContinuousClock.now - started < .seconds(8),
            "the next query ran after \(ContinuousClock.now - started)"
        )
        // The server stopped the statement (the cancel request), rather than running it to its end.
        let stillRunning = try await client.query(
            "SELECT count(*) AS n FROM pg_stat_activity WHERE query LIKE $1 AND state = 'active' AND pid <> pg_backend_pid()",
            ["%\(marker)%"]
        )
        #expect(stillRunning.first?.int("n") == 0)
        await client.shutdown()
    }

    @Test func aCancelledCallerInterruptsItsStatement() async throws {
        let client = PostgresClient(configuration: try PostgresConfiguration(url: postgresURL), maxConnections: 1)
        let marker = "cancelled_\(UUID().uuidString.prefix(8))"
        let call = Task { try await client.query("SELECT pg_sleep(60) AS \(marker)") }
        // Cancel only once the statement runs on the server, however slowly the pool connects.
        let side = try PostgresConnection.connect(try PostgresConfiguration(url: postgresURL))
        defer { side.close() }
        let waitStarted = ContinuousClock.now
        while try side.query(
            "SELECT count(*) AS n FROM pg_stat_activity WHERE query LIKE $1 AND state = 'active' AND pid <> pg_backend_pid()",
            ["%\(marker)%"]
        ).first?.int("n") != 1 {
            try #require(ContinuousClock.now - waitStarted < .seconds(30), "the statement never started")
            try await Task.sleep(for: .milliseconds(20))
        }
        let started = ContinuousClock.now
        call.cancel()
        let error = await #expect(throws: (any Error).self) { try await call.value }
        #expect(ContinuousClock.now - started < .seconds(5), "returned after \(ContinuousClock.now - started)")
        // The server cancelled the statement (57014, transient).
        let postgresError = error as? PostgresError
        #expect(postgresError?.sqlState == "57014", "\(String(describing: error))")
        #expect(postgresError?.isTransient == true)
        #expect(try await client.query("SELECT 2 AS two").first?.int("two") == 2)
        await client.shutdown()
    }

    @Test func multiHostURLSkipsAHostThatRefuses() async throws {
        let real = try PostgresConfiguration(url: postgresURL)
        // Port 1 on loopback: nothing listens there, so the connection is refused at once.
        let credentials = real.password.map { "\(real.user):\($0)" } ?? real.user
        let url =
            "postgresql://\(credentials)@127.0.0.1:1,\(real.endpoints[0].description)/\(real.database)"
            + "?target_session_attrs=read-write"
        let client = PostgresClient(configuration: try PostgresConfiguration(url: url), maxConnections: 1)
        let port = try await client.query("SELECT inet_server_port() AS port").first?.int("port")
        #expect(port == real.port)
        await client.shutdown()
    }

    @Test func sessionRunsWithTheConfiguredTimeouts() async throws {
        let client = PostgresClient(
            configuration: try PostgresConfiguration(
                url: postgresURL + "?lock_timeout=3s&idle_in_transaction_session_timeout=90s"
            )
        )
        let rows = try await client.query(
            "SELECT current_setting('statement_timeout') AS st, current_setting('lock_timeout') AS lt,"
                + " current_setting('idle_in_transaction_session_timeout') AS it"
        )
        let row = try #require(rows.first)
        #expect(row["st"] == "1min")
        #expect(row["lt"] == "3s")
        #expect(row["it"] == "90s")
        await client.shutdown()
    }
}
