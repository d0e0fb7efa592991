import Bolt
import FleetApp
import FleetJobs
import Foundation
import Postgres
import Testing

/// Graph migrations against the Bolt server (FalkorDB locally: constraints through its Redis port,
/// FLEET_GRAPH_REDIS_URL), recorded in a private PostgreSQL database.
@Suite("Graph migrations", .serialized)
struct GraphMigrationsTests {
    static let environment = ProcessInfo.processInfo.environment

    @Test func migratingTwiceIsANoOpAndDuplicateUserIdsAreRefused() async throws {
        let configuration = try FleetConfiguration.fromEnvironment(configDirectory: ".")
        let database = "graph_migrations_\(UInt32.random(in: 0...UInt32.max))"
        let admin = PostgresClient(configuration: configuration.postgres, maxConnections: 1)
        try await admin.query("CREATE DATABASE \(database)")
        var privateConfiguration = configuration.postgres
        privateConfiguration.database = database
        let postgres = PostgresClient(configuration: privateConfiguration, maxConnections: 2)
        let graph = BoltClient(configuration: configuration.bolt, maxConnections: 2)
        do {
            _ = try await PostgresMigrations.migrate(postgres)
            let first = try await GraphMigrations.migrate(
                graph,
                graphRedis: configuration.graphRedis,
                recordingIn: postgres
            )
            #expect(first == GraphMigrations.steps.map(\.version))
            let second = try await GraphMigrations.migrate(
                graph,
                graphRedis: configuration.graphRedis,
                recordingIn: postgres
            )
            #expect(second.isEmpty)
            // The constraints themselves are idempotent too (the graph outlives one fleet's records).
            for key in GraphMigrations.steps.flatMap(\.keys) {
                try await GraphMigrations.createUnique(key, graph: graph, graphRedis: configuration.graphRedis)
            }
            let recorded = try await postgres.query(
                "SELECT count(*) AS n FROM schema_versions WHERE service_name = $1",
                [GraphMigrations.serviceName]
            )
            #expect(recorded.first?.int("n") == GraphMigrations.steps.count)

            let userId = UUID().uuidString.lowercased()
            try await graph.run("CREATE (:User {user_id: $id})", parameters: ["id": .string(userId)])
            let duplicate = await #expect(throws: BoltError.self) {
                try await graph.run("CREATE (:User {user_id: $id})", parameters: ["id": .string(userId)])
            }
            #expect(duplicate?.isTransient == false)
            let eventId = UUID().uuidString.lowercased()
            try await graph.run("CREATE (:Event {event_id: $id})", parameters: ["id": .string(eventId)])
            await #expect(throws: BoltError.self) {
                try await graph.run("CREATE (:Event {event_id: $id})", parameters: ["id": .string(eventId)])
            }
            let count = try await graph.run(
                "MATCH (u:User) WHERE u.user_id = $id RETURN count(u) AS n",
                parameters: ["id": .string(userId)]
            )
            #expect(count.first("n") == 1)
            try await graph.run(
                "MATCH (n) WHERE (n:User AND n.user_id = $user) OR (n:Event AND n.event_id = $event) DETACH DELETE n",
                parameters: ["user": .string(userId), "event": .string(eventId)]
            )
        } catch {
            Issue.record(error)
        }
        await graph.shutdown()
        await postgres.shutdown()
        _ = try? await admin.query("DROP DATABASE IF EXISTS \(database) WITH (FORCE)")
        await admin.shutdown()
    }
}
