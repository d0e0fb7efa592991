import Bolt
import FleetApp
import FleetCore
import FleetJobs
import FleetStoreKit
import Foundation
import Postgres
import Redis
import Testing

/// Errors produced by the real local servers, classified as the README's table says: the table's
/// unit tests build the errors by hand, these check that the servers' errors carry what the
/// classification reads (SQLSTATE, reply prefix, Bolt code).
@Suite("Store errors from real servers", .timeLimit(.minutes(1)))
struct StoreErrorClassificationTests {
    static let environment = ProcessInfo.processInfo.environment

    func postgres(_ body: (PostgresClient) async throws -> Void) async throws {
        let configuration = try PostgresConfiguration(
            url: Self.environment["FLEET_POSTGRES_URL"] ?? FleetConfiguration.defaultPostgresURL
        )
        let client = PostgresClient(configuration: configuration, maxConnections: 1)
        do { try await body(client) } catch { Issue.record(error) }
        await client.shutdown()
    }

    @Test func aStatementTimeoutIsTransient() async throws {
        try await postgres { client in
            let error = await #expect(throws: PostgresError.self) {
                try await client.withTransaction { connection in
                    try connection.query("SET LOCAL statement_timeout = '20ms'")
                    try connection.query("SELECT pg_sleep(2)")
                }
            }
            #expect(error?.sqlState == "57014")
            let refused = try #require(error)
            let classification = FailureClassifier.stores.classify(refused)
            #expect(!classification.permanent)
            #expect(classification.reason == "postgres_unavailable")
        }
    }

    @Test func aWriteInAReadOnlyTransactionIsTransient() async throws {
        try await postgres { client in
            let error = await #expect(throws: PostgresError.self) {
                try await client.withTransaction { connection in
                    try connection.query("SET TRANSACTION READ ONLY")
                    try connection.query("CREATE TABLE never_created_\(UInt32.random(in: 0...UInt32.max)) (i int)")
                }
            }
            #expect(error?.sqlState == "25006")
            let refused = try #require(error)
            #expect(FailureClassifier.stores.classify(refused).permanent == false)
        }
    }

    @Test func aSyntaxErrorIsPermanent() async throws {
        try await postgres { client in
            let error = await #expect(throws: PostgresError.self) { try await client.query("SELEC 1") }
            let refused = try #require(error)
            #expect(FailureClassifier.stores.classify(refused).permanent)
        }
    }

    @Test func falkorDBSyntaxErrorStaysPermanent() async throws {
        let client = BoltClient(
            configuration: try BoltConfiguration(url: Self.environment["FLEET_BOLT_URL"] ?? "bolt://127.0.0.1:17687")
        )
        let error = await #expect(throws: BoltError.self) { try await client.run("RETURN nope(") }
        await client.shutdown()
        let failure = try #require(error)
        #expect(failure.code == .server)
        #expect(failure.serverCode?.hasSuffix("SyntaxError") == true, "\(failure)")
        let classification = FailureClassifier.stores.classify(failure)
        #expect(classification.permanent)
        #expect(classification.reason == "neo4j_rejected")
    }

    @Test func aBoltClientShutDownIsTransient() async throws {
        let client = BoltClient(
            configuration: try BoltConfiguration(url: Self.environment["FLEET_BOLT_URL"] ?? "bolt://127.0.0.1:17687")
        )
        await client.shutdown()
        let error = await #expect(throws: BoltError.self) { try await client.run("RETURN 1") }
        let classification = FailureClassifier.stores.classify(try #require(error))
        #expect(!classification.permanent)
        #expect(classification.reason == "shutting_down")
    }

    @Test func redisWrongTypeIsPermanent() async throws {
        let client = RedisClient(
            configuration: try RedisConfiguration(
                url: Self.environment["FLEET_REDIS_URL"] ?? FleetConfiguration.defaultRedisURL
            )
        )
        let key = "test:classify:\(UUID().uuidString)"
        do {
            try await client.command(["SET", key, "v", "PX", "60000"])
            let error = await #expect(throws: RedisError.self) { try await client.command(["LPUSH", key, "x"]) }
            #expect(error?.serverErrorPrefix == "WRONGTYPE")
            let refused = try #require(error)
            #expect(FailureClassifier.stores.classify(refused).permanent)
            try await client.command(["DEL", key])
        } catch {
            Issue.record(error)
        }
        await client.shutdown()
    }
}
