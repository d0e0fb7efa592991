import ArgumentParser
import FleetJobs
import Postgres

struct Migrate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Create or update the PostgreSQL schema; safe to run twice or concurrently."
    )

    @OptionGroup var common: CommonOptions

    func run() async throws {
        let configuration = try common.configuration()
        let client = PostgresClient(configuration: configuration.postgres, maxConnections: 1)
        do {
            let applied = try await PostgresMigrations.migrate(client)
            await client.shutdown()
            print(applied.isEmpty ? "schema is up to date" : "applied \(applied.joined(separator: ", "))")
        } catch {
            await client.shutdown()
            throw error
        }
    }
}
