import Bolt
import FleetStoreKit
import Postgres
import Redis

/// The Neo4j constraints: the seed's unique ids, then the fleet's own. Recorded in PostgreSQL
/// `schema_versions` as service `workerfleet.neo4j`; every step is idempotent, because the graph
/// may be shared by several fleets (and test databases) that record their steps separately.
///
/// Neo4j 5 gets `CREATE CONSTRAINT name IF NOT EXISTS ... IS UNIQUE`. FalkorDB (the test server)
/// refuses that syntax with a bare `SyntaxError`; there a unique constraint is created over its
/// Redis port with `GRAPH.CONSTRAINT CREATE`, after an exact-match index on the property, and
/// is usable once `db.constraints()` reports it `OPERATIONAL`.
public enum GraphMigrations {
    /// One unique node property.
    public struct UniqueKey: Sendable, Equatable {
        public let label: String
        public let property: String

        public init(label: String, property: String) {
            self.label = label
            self.property = property
        }

        /// The Neo4j constraint name.
        var name: String { "\(label.lowercased())_\(property)_unique" }
    }

    public struct Step: Sendable {
        public let version: String
        public let description: String
        public let keys: [UniqueKey]
    }

    public static let serviceName = "workerfleet.neo4j"
    /// The graph FalkorDB's Bolt endpoint uses when no database is named (seen with GRAPH.LIST).
    public static let falkorDefaultGraph = "falkordb"

    public static let steps: [Step] = [
        Step(
            version: "0001",
            description: "unique User.user_id, Event.event_id, Mentor.user_id",
            keys: [
                UniqueKey(label: "User", property: "user_id"),
                UniqueKey(label: "Event", property: "event_id"),
                UniqueKey(label: "Mentor", property: "user_id"),
            ]
        ),
        Step(
            version: "0002",
            description: "unique FleetAppliedJob.key: the record of applied networking jobs",
            keys: [UniqueKey(label: GraphJobClaim.appliedJobLabel, property: "key")]
        ),
        Step(
            version: "0003",
            description: "unique FleetRegistrationCancels.key: cancellations that came before their registration",
            keys: [UniqueKey(label: NetworkingGraph.registrationCancelsLabel, property: "key")]
        ),
    ]

    public struct MigrationError: Error, CustomStringConvertible {
        public let description: String
    }

    /// Applies every step (idempotently: see ``SchemaVersions/applyAll``) and returns the versions
    /// this call recorded.
    ///
    /// - Parameter graphRedis: FalkorDB's Redis port; needed only when the server is FalkorDB.
    public static func migrate(
        _ graph: BoltClient,
        graphRedis: RedisConfiguration?,
        recordingIn postgres: PostgresClient
    ) async throws -> [String] {
        try await SchemaVersions.applyAll(
            steps,
            service: serviceName,
            version: \.version,
            description: \.description,
            recordingIn: postgres
        ) { step in
            for key in step.keys { try await createUnique(key, graph: graph, graphRedis: graphRedis) }
        }
    }

    /// Creates the constraint unless it exists.
    public static func createUnique(
        _ key: UniqueKey,
        graph: BoltClient,
        graphRedis: RedisConfiguration?
    ) async throws {
        // Labels and properties are constants of this file, never input: they may go in the text.
        do {
            try await graph.run(
                "CREATE CONSTRAINT \(key.name) IF NOT EXISTS FOR (n:\(key.label)) REQUIRE n.\(key.property) IS UNIQUE"
            )
            return
        } catch let error as BoltError where isFalkorDBRefusal(error) {
            // FalkorDB: fall through to its own way.
        }
        guard let graphRedis else {
            throw MigrationError(
                description: "the graph server refused CREATE CONSTRAINT (FalkorDB?); set FLEET_GRAPH_REDIS_URL "
                    + "to its Redis port so the constraint can be made with GRAPH.CONSTRAINT"
            )
        }
        try await falkorUnique(key, graph: graph, graphRedis: graphRedis)
    }

    /// Neo4j reports `Neo.ClientError.Statement.SyntaxError`; FalkorDB a bare `SyntaxError`.
    static func isFalkorDBRefusal(_ error: BoltError) -> Bool {
        error.code == .server && error.serverCode.map { !$0.hasPrefix("Neo.") } == true
    }

    private static func falkorUnique(_ key: UniqueKey, graph: BoltClient, graphRedis: RedisConfiguration) async throws {
        let graphName = graph.configuration.database ?? falkorDefaultGraph
        if try await !hasIndex(key, graph) {
            do {
                try await graph.run("CREATE INDEX FOR (n:\(key.label)) ON (n.\(key.property))")
            } catch let error as BoltError where error.message.contains("already indexed") {
                // A concurrent migrator made it.
            }
        }
        if try await constraintStatus(key, graph) == nil {
            let redis = RedisClient(configuration: graphRedis, maxConnections: 1)
            do {
                try await redis.command([
                    "GRAPH.CONSTRAINT", "CREATE", graphName, "UNIQUE", "NODE", key.label, "PROPERTIES", "1",
                    key.property,
                ])
            } catch let error as RedisError where error.message.contains("already exists") {
                // A concurrent migrator made it.
            } catch {
                await redis.shutdown()
                throw error
            }
            await redis.shutdown()
        }
        // The constraint is built in the background; it enforces nothing until OPERATIONAL.
        let deadline = ContinuousClock.now + .seconds(60)
        while true {
            switch try await constraintStatus(key, graph) {
            case "OPERATIONAL"?:
                return
            case "FAILED"?:
                throw MigrationError(
                    description: "FalkorDB could not build the unique constraint on \(key.label).\(key.property): "
                        + "the graph holds duplicates"
                )
            default:
                guard ContinuousClock.now < deadline else {
                    throw MigrationError(
                        description:
                            "the unique constraint on \(key.label).\(key.property) is not operational after 60 s"
                    )
                }
                try await Task.sleep(for: .milliseconds(50))
            }
        }
    }

    private static func hasIndex(_ key: UniqueKey, _ graph: BoltClient) async throws -> Bool {
        let result = try await graph.run("CALL db.indexes() YIELD label, properties RETURN label, properties")
        return result.records.contains { record in
            record["label"]?.string == key.label
                && (record["properties"]?.list ?? []).contains(.string(key.property))
        }
    }

    /// The status of FalkorDB's unique constraint on the key (`PENDING`, `OPERATIONAL`, `FAILED`), nil when absent.
    private static func constraintStatus(_ key: UniqueKey, _ graph: BoltClient) async throws -> String? {
        let result = try await graph.run(
            "CALL db.constraints() YIELD type, label, properties, entitytype, status "
                + "RETURN type, label, properties, entitytype, status"
        )
        let match = result.records.first { record in
            record["type"]?.string == "UNIQUE" && record["label"]?.string == key.label
                && record["entitytype"]?.string == "NODE" && record["properties"]?.list == [.string(key.property)]
        }
        return match?["status"]?.string
    }
}
