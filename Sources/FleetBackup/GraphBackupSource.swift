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

    public func createScratch() async throws -> String {
        // Neo4j database names allow letters, digits, dots and dashes (no underscore).
        let name = "fleet-verify-" + scratchSuffix()
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
            // Neo4j Enterprise: a scratch database of createScratch().
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

    // MARK: - Export and inventory

    /// Reads the whole graph in pages; writes its dump lines when `writer` is given; returns the
    /// counts (nodes per label, relationships per `-[TYPE]->`) and samples.
    static func walk(_ graph: BoltClient, writer: UncheckedBox<ArtifactWriter>?) async throws -> BackupInventory {
        var lines: [UInt8] = []
        func emit(_ record: GraphDumpRecord) async throws {
            guard writer != nil else { return }
            lines += try record.line()
            if lines.count >= 256 * 1024 { try await flush() }
        }
        func flush() async throws {
            guard let writer, !lines.isEmpty else { return }
            let chunk = lines
            lines = []
            try await runBlocking { try writer.value.write(chunk) }
        }
        var samples = GraphSamples()
        for record in try await schema(graph) { try await emit(record) }
        var last: Int64 = -1
        var nodes = 0
        var nodeKeys: [Int64: String] = [:]
        while true {
            let page = try await graph.run(
                "MATCH (n) WHERE id(n) > $last RETURN n ORDER BY id(n) LIMIT \(pageSize)",
                parameters: ["last": .integer(last)]
            )
            for row in page.rows {
                guard let node = row.first?.node else { continue }
                if node.labels.contains(importLabel) {
                    throw BackupError(
                        .unsupported,
                        "the graph holds a node of an unfinished restore (label \(importLabel))"
                    )
                }
                var properties: [String: GraphValue] = [:]
                for (key, value) in node.properties { properties[key] = try GraphValue(value, property: key) }
                let labels = node.labels.sorted()
                nodeKeys[node.id] = samples.addNode(labels: labels, properties: properties)
                try await emit(.node(id: node.id, labels: labels, properties: properties))
                last = node.id
                nodes += 1
            }
            if page.rows.count < pageSize { break }
        }
        last = -1
        var relationships = 0
        while true {
            let page = try await graph.run(
                "MATCH ()-[r]->() WHERE id(r) > $last RETURN r ORDER BY id(r) LIMIT \(pageSize)",
                parameters: ["last": .integer(last)]
            )
            for row in page.rows {
                guard let relationship = row.first?.relationship else { continue }
                var properties: [String: GraphValue] = [:]
                for (key, value) in relationship.properties { properties[key] = try GraphValue(value, property: key) }
                samples.addRelationship(
                    type: relationship.type,
                    properties: properties,
                    start: nodeKeys[relationship.startNodeId] ?? "?",
                    end: nodeKeys[relationship.endNodeId] ?? "?"
                )
                try await emit(
                    .relationship(
                        id: relationship.id,
                        type: relationship.type,
                        start: relationship.startNodeId,
                        end: relationship.endNodeId,
                        properties: properties
                    )
                )
                last = relationship.id
                relationships += 1
            }
            if page.rows.count < pageSize { break }
        }
        try await emit(.end(nodes: nodes, relationships: relationships))
        try await flush()
        return samples.inventory
    }

    /// Indexes and unique constraints: FalkorDB's procedures, else Neo4j 5's SHOW commands.
    static func schema(_ graph: BoltClient) async throws -> [GraphDumpRecord] {
        var records: [GraphDumpRecord] = []
        do {
            let indexes = try await graph.run(
                "CALL db.indexes() YIELD label, properties, entitytype RETURN label, properties, entitytype"
            )
            let constraints = try await graph.run(
                "CALL db.constraints() YIELD type, label, properties, entitytype RETURN type, label, properties, entitytype"
            )
            let unique = Set(
                constraints.records.filter { $0["type"]?.string == "UNIQUE" && $0["entitytype"]?.string == "NODE" }
                    .flatMap { record in
                        (record["properties"]?.list ?? []).compactMap(\.string).map {
                            (record["label"]?.string ?? "") + "\u{0}" + $0
                        }
                    }
            )
            for record in indexes.records where record["entitytype"]?.string == "NODE" {
                let label = record["label"]?.string ?? ""
                guard label != importLabel else { continue }
                for property in (record["properties"]?.list ?? []).compactMap(\.string)
                where !unique.contains(label + "\u{0}" + property) {
                    records.append(.index(label: label, property: property))
                }
            }
            for key in unique.sorted() {
                let parts = key.split(separator: "\u{0}", omittingEmptySubsequences: false).map(String.init)
                records.append(.unique(label: parts[0], property: parts[1]))
            }
            return records
        } catch let error as BoltError where error.code == .server {
            // Neo4j 5: no db.indexes(); its SHOW commands say the same.
        }
        let constraints = try await graph.run(
            "SHOW CONSTRAINTS YIELD type, entityType, labelsOrTypes, properties RETURN type, entityType, labelsOrTypes, properties"
        )
        for record in constraints.records
        where record["type"]?.string == "UNIQUENESS" && record["entityType"]?.string == "NODE" {
            let labels = (record["labelsOrTypes"]?.list ?? []).compactMap(\.string)
            let properties = (record["properties"]?.list ?? []).compactMap(\.string)
            if let label = labels.first, properties.count == 1 {
                records.append(.unique(label: label, property: properties[0]))
            }
        }
        let indexes = try await graph.run(
            "SHOW INDEXES YIELD type, entityType, labelsOrTypes, properties, owningConstraint "
                + "RETURN type, entityType, labelsOrTypes, properties, owningConstraint"
        )
        for record in indexes.records
        where record["type"]?.string == "RANGE" && record["entityType"]?.string == "NODE"
            && (record["owningConstraint"]?.isNull ?? true)
        {
            let labels = (record["labelsOrTypes"]?.list ?? []).compactMap(\.string)
            let properties = (record["properties"]?.list ?? []).compactMap(\.string)
            if let label = labels.first, properties.count == 1 {
                records.append(.index(label: label, property: properties[0]))
            }
        }
        return records
    }

    // MARK: - Restore

    public func restore(from reader: ArtifactReader, into target: String, replace: Bool) async throws {
        try checkTarget(target)
        if replace { try await drop(target) }
        let box = UncheckedBox(reader)
        try await withGraph(target) { graph in
            var schema: [GraphDumpRecord] = []
            var pending = PendingImport()
            var indexed = false
            var ended = false
            while !ended {
                let lines = try await runBlocking { () -> [[UInt8]] in
                    var lines: [[UInt8]] = []
                    while lines.count < 200, let line = try box.value.readLine() { lines.append(line) }
                    return lines
                }
                if lines.isEmpty { throw BackupError(.corrupted, "the graph dump ends without its end record") }
                for line in lines {
                    if ended { throw BackupError(.corrupted, "lines follow the graph dump's end record") }
                    let record: GraphDumpRecord
                    do { record = try JSONDecoder().decode(GraphDumpRecord.self, from: Data(line)) } catch {
                        throw BackupError(.corrupted, "a graph dump line is not a record: \(error)")
                    }
                    switch record {
                    case .index, .unique:
                        schema.append(record)
                    case .node, .relationship:
                        if !indexed {
                            try await graph.run(
                                "CREATE INDEX FOR (n:\(Cypher.name(Self.importLabel))) ON (n.\(Cypher.name(Self.importKey)))"
                            )
                            indexed = true
                        }
                        if let statement = pending.add(record) { try await graph.run(statement) }
                    case .end:
                        ended = true
                    }
                }
            }
            if let statement = pending.flush() { try await graph.run(statement) }
            guard try box.value.readLine() == nil else {
                throw BackupError(.corrupted, "lines follow the graph dump's end record")
            }
            if indexed {
                let label = Cypher.name(Self.importLabel)
                let key = Cypher.name(Self.importKey)
                while try await graph.run(
                    "MATCH (n:\(label)) WITH n LIMIT 1000 REMOVE n:\(label), n.\(key) RETURN count(n) AS n"
                ).first("n")?.int ?? 0 > 0 {}
                try await graph.run("DROP INDEX FOR (n:\(label)) ON (n.\(key))")
            }
            for record in schema {
                switch record {
                case .index(let label, let property):
                    try await graph.run("CREATE INDEX FOR (n:\(Cypher.name(label))) ON (n.\(Cypher.name(property)))")
                case .unique(let label, let property):
                    try await createUnique(label, property, graph)
                default: break
                }
            }
        }
    }

    /// Groups nodes of the same labels (relationships of the same type) into one `UNWIND` statement
    /// of literal maps, up to ``statementBytes``.
    struct PendingImport {
        var kind = ""
        var rows: [String] = []
        var size = 0

        mutating func add(_ record: GraphDumpRecord) -> String? {
            let key: String
            let row: String
            switch record {
            case .node(let id, let labels, let properties):
                key = "n" + labels.map(Cypher.name).joined(separator: ":")
                row = "{i: \(id), p: \(Cypher.map(properties))}"
            case .relationship(_, let type, let start, let end, let properties):
                key = "r" + Cypher.name(type)
                row = "{s: \(start), e: \(end), p: \(Cypher.map(properties))}"
            default: return nil
            }
            var ready: String?
            if key != kind || size + row.utf8.count > GraphBackupSource.statementBytes { ready = flush() }
            kind = key
            rows.append(row)
            size += row.utf8.count
            return ready
        }

        mutating func flush() -> String? {
            guard !rows.isEmpty else { return nil }
            defer {
                rows = []
                size = 0
            }
            let list = "[" + rows.joined(separator: ", ") + "]"
            let label = Cypher.name(GraphBackupSource.importLabel)
            let key = Cypher.name(GraphBackupSource.importKey)
            if kind.hasPrefix("n") {
                let labels = String(kind.dropFirst())
                return
                    "UNWIND \(list) AS r CREATE (n\(labels.isEmpty ? "" : ":" + labels):\(label) {\(key): r.i}) SET n += r.p"
            }
            let type = String(kind.dropFirst())
            return "UNWIND \(list) AS r MATCH (a:\(label) {\(key): r.s}), (b:\(label) {\(key): r.e}) "
                + "CREATE (a)-[x:\(type)]->(b) SET x += r.p"
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

/// Counts and samples of a graph: nodes per label (`(no label)` for none), relationships per
/// `-[TYPE]->`, and per each the SHA-256 of the ``BackupInventory/sampleSize`` smallest canonical
/// forms (labels and properties; a relationship's with its ends' forms), which do not depend on ids.
struct GraphSamples {
    private var counts: [String: Int] = [:]
    private var smallest: [String: [String]] = [:]

    mutating func addNode(labels: [String], properties: [String: GraphValue]) -> String {
        let canonical = Cypher.map([
            "labels": .list(labels.map(GraphValue.string)), "p": .string(Cypher.map(properties)),
        ])
        for label in labels.isEmpty ? ["(no label)"] : labels { add(label, canonical) }
        return canonical
    }

    mutating func addRelationship(type: String, properties: [String: GraphValue], start: String, end: String) {
        add("-[\(type)]->", Cypher.map(["s": .string(start), "e": .string(end), "p": .string(Cypher.map(properties))]))
    }

    private mutating func add(_ key: String, _ canonical: String) {
        counts[key, default: 0] += 1
        var list = smallest[key, default: []]
        let index = list.firstIndex { $0 > canonical } ?? list.endIndex
        if index < BackupInventory.sampleSize {
            list.insert(canonical, at: index)
            if list.count > BackupInventory.sampleSize { list.removeLast() }
        }
        smallest[key] = list
    }

    var inventory: BackupInventory {
        var inventory = BackupInventory(counts: counts)
        for (key, list) in smallest {
            var hasher = SHA256()
            for item in list { hasher.update(data: Array(item.utf8) + [0x0A]) }
            inventory.samples[key] = hasher.finalize().map { String(format: "%02x", $0) }.joined()
        }
        return inventory
    }
}
