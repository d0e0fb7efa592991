import Bolt
import Crypto
import Foundation
import Redis

/// Neo4j (FalkorDB here): nodes with labels, properties and their id, relationships with type,
/// ends and properties, and the indexes and unique constraints, as JSON lines
/// (``GraphDumpRecord``), re-imported in small batches of Cypher.
///
/// A target is a graph (FalkorDB) or database (Neo4j) on the same server, selected by the `db`
/// field of Bolt's RUN (``BoltConfiguration/database``); FalkorDB 4.16 reads the graph name from
/// the first key of that map instead (``BoltConfiguration/falkorDBGraphSelection``, set when
/// `FLEET_GRAPH_REDIS_URL` says the server is FalkorDB), and only in RUN, so every query here is an
/// auto-commit `run`, never a transaction. FalkorDB makes a graph on its first
/// write and deletes one with `GRAPH.DELETE` on its Redis port (`FLEET_GRAPH_REDIS_URL`). Neo4j 5
/// Enterprise needs `CREATE DATABASE` / `DROP DATABASE` on the `system` database first; Community
/// has one database only, so a verify there needs a second server (README, "Backups").
///
/// Not a snapshot: nodes, then relationships, are read in pages of 500 by id. A restore writes
/// strings as escaped literals, not parameters (FalkorDB splices string parameters unescaped), in
/// statements of at most a few KB (larger ones crash FalkorDB), and ties relationships to their
/// ends through a temporary label and id property (`__FleetBackup`, `__fleet_backup_id`), indexed
/// during the import and removed after it.
public struct GraphBackupSource: BackupSource {
    public let store = BackupStore.neo4j
    public let artifactExtension = "graph.fbk"
    public let contentFormat = "fleet graph jsonl v1"

    let configuration: BoltConfiguration
    let graphRedis: RedisConfiguration?
    let schemaVersions: SchemaVersionReader?
    /// Creates a unique constraint on a target (FalkorDB needs its Redis port for that): the
    /// migrations' own function, injected so this module needs no job code.
    let createUnique: @Sendable (_ label: String, _ property: String, _ graph: BoltClient) async throws -> Void

    static let pageSize = 500
    static let statementBytes = 2_000
    static let importLabel = "__FleetBackup"
    static let importKey = "__fleet_backup_id"
    /// FalkorDB's graph when Bolt names none.
    static let falkorDefaultGraph = "falkordb"

    public init(
        configuration: BoltConfiguration,
        graphRedis: RedisConfiguration?,
        schemaVersions: SchemaVersionReader?,
        createUnique:
            @escaping @Sendable (_ label: String, _ property: String, _ graph: BoltClient) async throws -> Void
    ) {
        self.configuration = configuration
        self.graphRedis = graphRedis
        self.schemaVersions = schemaVersions
        self.createUnique = createUnique
    }

    var liveName: String { configuration.database ?? Self.falkorDefaultGraph }

    public func export(into writer: ArtifactWriter) async throws -> BackupInventory {
        let box = UncheckedBox(writer)
        var inventory = try await withGraph(configuration.database) { graph in
            try await Self.walk(graph, writer: box)
        }
        inventory.schemaVersion = try await schemaVersions?.latest()
        return inventory
    }

    public func inventory(of target: String) async throws -> BackupInventory {
        try checkTarget(target)
        return try await withGraph(target) { graph in try await Self.walk(graph, writer: nil) }
    }

    public func isEmpty(_ target: String) async throws -> Bool {
        try checkTarget(target)
        return try await withGraph(target) { graph in
            do {
                return try await graph.run("MATCH (n) RETURN count(n) AS n").first("n")?.int == 0
            } catch let error as BoltError where error.message.contains("empty key") {
                return true  // FalkorDB: no such graph
            }
        }
    }

    public func createScratch(tag: String) async throws -> String {
        // Neo4j database names allow letters, digits, dots and dashes (no underscore).
        let name = "fleet-verify-" + tag + scratchSuffix()
        // FalkorDB makes a graph on its first write; Neo4j 5 Enterprise needs the database made first
        // (Community refuses: it has one database, so verify needs a second server there).
        if graphRedis == nil {
            _ = try await withGraph("system") { system in try await system.run("CREATE DATABASE `\(name)` WAIT") }
        }
        return name
    }

    public func drop(_ target: String) async throws {
        try checkTarget(target)
        if let graphRedis {
            let redis = RedisClient(configuration: graphRedis, maxConnections: 1)
            do {
                _ = try await redis.command(["GRAPH.DELETE", target])
            } catch let error as RedisError
                where error.message.contains("empty key") || error.message.contains("not exist")
            {
                // Never written: nothing to drop.
            } catch {
                await redis.shutdown()
                throw error
            }
            await redis.shutdown()
            return
        }
        if target.hasPrefix("fleet-verify-") {
            // Neo4j Enterprise: a scratch database of createScratch(tag:).
            _ = try await withGraph("system") { system in
                try await system.run("DROP DATABASE `\(target)` IF EXISTS WAIT")
            }
            return
        }
        try await withGraph(target) { graph in
            while try await graph.run("MATCH (n) WITH n LIMIT 1000 DETACH DELETE n RETURN count(n) AS n")
                .first("n")?.int ?? 0 > 0
            {}
        }
    }

    // MARK: - Helpers

    func checkTarget(_ target: String) throws(BackupError) {
        guard target != liveName else {
            throw BackupError(.unsupported, "restoring over or dropping the live graph \(target) is not offered")
        }
        guard !target.isEmpty, target.count <= 63,
            target.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_" || $0 == "-") })
        else {
            throw BackupError(.unsupported, "graph names for restores are letters, digits, _ and -: \(target)")
        }
    }

    func withGraph<T: Sendable>(_ database: String?, _ body: @Sendable (BoltClient) async throws -> T) async throws -> T
    {
        var targetConfiguration = configuration
        targetConfiguration.database = database
        // FalkorDB (its Redis port is configured): a graph is named its own way (BoltConfiguration).
        targetConfiguration.falkorDBGraphSelection = graphRedis != nil
        let client = BoltClient(configuration: targetConfiguration, maxConnections: 1)
        do {
            let result = try await body(client)
            await client.shutdown()
            return result
        } catch {
            await client.shutdown()
            throw error
        }
    }
}
