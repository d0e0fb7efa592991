import Bolt
import ClickHouse
import MongoDB
import Postgres
import Redis

extension FleetStores {
    /// The store names of worker manifests (`stores:`) that ``probe(_:)`` knows.
    public static let probedStores: Set<String> = ["postgres", "redis", "mongodb", "neo4j", "clickhouse"]

    /// One cheap round trip to `store` through its pool: PostgreSQL `SELECT 1`, Redis `PING`, MongoDB
    /// `ping`, Neo4j `RETURN 1`, ClickHouse `SELECT 1`. Throws when the store does not answer, as
    /// `/readyz` needs (an unknown name throws too).
    public func probe(_ store: String) async throws {
        switch store {
        case "postgres": try await postgres.query("SELECT 1")
        case "redis": _ = try await redis.command(["PING"])
        case "mongodb": try await mongodb.withConnection { try $0.ping() }
        case "neo4j": try await graph.run("RETURN 1")
        case "clickhouse": try await clickhouse.execute("SELECT 1")
        default: throw UnknownStore(name: store)
        }
    }

    struct UnknownStore: Error, CustomStringConvertible {
        let name: String
        var description: String { "no probe for store \(name)" }
    }
}
