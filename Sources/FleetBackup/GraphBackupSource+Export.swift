import Bolt
import Crypto
import Foundation

/// Reading a graph: its dump lines, counts and samples.
extension GraphBackupSource {
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
}
