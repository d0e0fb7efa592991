import ArgumentParser
import FleetJobs
import MongoDB
import Postgres

struct Migrate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Create or update the PostgreSQL schema and the MongoDB indexes; safe to run twice or concurrently.",
        discussion: """
            Every applied step is recorded in PostgreSQL schema_versions, under service_name \
            workerfleet.postgres or workerfleet.mongodb.
            """
    )

    @OptionGroup var common: CommonOptions

    func run() async throws {
        let configuration = try common.configuration()
        let postgres = PostgresClient(configuration: configuration.postgres, maxConnections: 1)
        let mongodb = MongoClient(configuration: configuration.mongodb, maxConnections: 1)
        do {
            let applied =
                try await PostgresMigrations.migrate(postgres).map { "postgres \($0)" }
                + MongoMigrations.migrate(mongodb, recordingIn: postgres).map { "mongodb \($0)" }
            await mongodb.shutdown()
            await postgres.shutdown()
            print(applied.isEmpty ? "schema is up to date" : "applied \(applied.joined(separator: ", "))")
        } catch {
            await mongodb.shutdown()
            await postgres.shutdown()
            throw error
        }
    }
}
