import FleetApp
import FleetJobs
import Foundation
import Postgres

/// A PostgreSQL database of one test's own, on the server of FLEET_POSTGRES_URL.
enum FreshDatabase {
    /// Runs `body` against a new database, migrated unless `migrate` is false (with the steps the
    /// migration applied), and drops it afterwards, whether `body` succeeded or threw.
    static func with(
        _ prefix: String,
        migrate: Bool = true,
        maxConnections: Int = 4,
        _ body: (PostgresClient, _ applied: [String]) async throws -> Void
    ) async throws {
        var configuration = try PostgresConfiguration(
            url: ProcessInfo.processInfo.environment["FLEET_POSTGRES_URL"] ?? FleetConfiguration.defaultPostgresURL
        )
        let name = "\(prefix)_\(UInt32.random(in: 0...UInt32.max))"
        let admin = PostgresClient(configuration: configuration, maxConnections: 1)
        try await admin.query("CREATE DATABASE \(name)")
        configuration.database = name
        let client = PostgresClient(configuration: configuration, maxConnections: maxConnections)
        var failure: (any Error)?
        do {
            let applied = migrate ? try await PostgresMigrations.migrate(client) : []
            try await body(client, applied)
        } catch {
            failure = error
        }
        await client.shutdown()
        _ = try? await admin.query("DROP DATABASE IF EXISTS \(name) WITH (FORCE)")
        await admin.shutdown()
        if let failure { throw failure }
    }
}
