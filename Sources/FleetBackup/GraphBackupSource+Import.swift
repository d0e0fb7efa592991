import Bolt
import Foundation

/// Writing a dump back into a graph, in small batches of Cypher.
extension GraphBackupSource {
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
}
