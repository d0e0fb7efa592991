import ArgumentParser
import Bolt
import ClickHouse
import FleetJobs
import MongoDB
import Postgres

struct Migrate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract:
            "Create or update the PostgreSQL schema, the MongoDB indexes, the Neo4j constraints and the ClickHouse tables; safe to run twice or concurrently.",
        discussion: """
            Every applied step is recorded in PostgreSQL schema_versions, under service_name \
            workerfleet.postgres, workerfleet.mongodb or workerfleet.neo4j. The MongoDB and Neo4j steps \
            (idempotent index and constraint creation) run every time, so a new database behind an \
            up-to-date record still gets them. On FalkorDB (the test \
            graph server) unique constraints go through its Redis port: set FLEET_GRAPH_REDIS_URL. \
            The ClickHouse tables (user_activity, performance_metrics; FLEET_CLICKHOUSE_URL) are recorded \
            in ClickHouse's own schema_versions, service_name workerfleet.clickhouse.
            """
    )

    @OptionGroup var common: CommonOptions

    func run() async throws {
        let configuration = try common.configuration()
        let postgres = PostgresClient(configuration: configuration.postgres, maxConnections: 1)
        let mongodb = MongoClient(configuration: configuration.mongodb, maxConnections: 1)
        let graph = BoltClient(configuration: configuration.bolt, maxConnections: 1)
        let clickhouse = ClickHouseClient(configuration: configuration.clickhouse)
        do {
            let applied =
                try await PostgresMigrations.migrate(postgres).map { "postgres \($0)" }
                + MongoMigrations.migrate(mongodb, recordingIn: postgres).map { "mongodb \($0)" }
                + GraphMigrations.migrate(graph, graphRedis: configuration.graphRedis, recordingIn: postgres)
                .map { "neo4j \($0)" }
                + ClickHouseMigrations.migrate(clickhouse).map { "clickhouse \($0)" }
            try? await clickhouse.shutdown()
            await graph.shutdown()
            await mongodb.shutdown()
            await postgres.shutdown()
            print(applied.isEmpty ? "schema is up to date" : "applied \(applied.joined(separator: ", "))")
        } catch {
            try? await clickhouse.shutdown()
            await graph.shutdown()
            await mongodb.shutdown()
            await postgres.shutdown()
            throw error
        }
    }
}
