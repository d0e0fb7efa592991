import Foundation
import Testing

@testable import FleetBackup

@Suite("Graph dumps: records, Cypher literals, import batches")
struct GraphDumpTests {
    @Test func recordsRoundTripThroughTheirJSONLines() throws {
        let records: [GraphDumpRecord] = [
            .index(label: "Company", property: "name"),
            .unique(label: "User", property: "user_id"),
            .node(
                id: 7,
                labels: ["Mentor", "User"],
                properties: ["n": .integer(3), "x": .float(3), "tags": .list([.string("a")])]
            ),
            .relationship(id: 2, type: "KNOWS", start: 7, end: 9, properties: ["ok": .boolean(true)]),
            .end(nodes: 1, relationships: 1),
        ]
        for record in records {
            let line = try record.line()
            #expect(line.last == 0x0A)
            #expect(try JSONDecoder().decode(GraphDumpRecord.self, from: Data(line.dropLast())) == record)
        }
        // An integer stays an integer, a float a float.
        let line = String(decoding: try records[2].line(), as: UTF8.self)
        #expect(line.contains(#""n":{"i":3}"#))
        #expect(line.contains(#""x":{"f":3}"#))
    }

    @Test func stringsBecomeEscapedLiteralsNotParameters() {
        #expect(Cypher.string(#"O'Brien "x" \ end"#) == #"'O\'Brien \"x\" \\ end'"#)
        #expect(Cypher.string("a\nb\tc\rd") == #"'a\nb\tc\rd'"#)
        #expect(Cypher.string("Zoë 😀") == "'Zoë 😀'")
        #expect(Cypher.name("we`ird") == "`we``ird`")
        #expect(GraphValue.float(2).cypher == "2.0")
        #expect(GraphValue.float(0.1).cypher == "0.1")
        #expect(GraphValue.list([.integer(1), .string("x")]).cypher == "[1, 'x']")
    }

    @Test func importGroupsByLabelsAndTypeInSmallStatements() {
        var batch = GraphBackupSource.PendingImport()
        var statements: [String] = []
        for id in 0..<100 {
            let labels = id < 60 ? ["Person"] : ["Company"]
            if let statement = batch.add(
                .node(
                    id: Int64(id),
                    labels: labels,
                    properties: ["name": .string("n\(id) " + String(repeating: "x", count: 60))]
                )
            ) {
                statements.append(statement)
            }
        }
        if let statement = batch.add(.relationship(id: 1, type: "KNOWS", start: 1, end: 2, properties: [:])) {
            statements.append(statement)
        }
        if let statement = batch.flush() { statements.append(statement) }
        #expect(statements.count > 3)
        #expect(statements.allSatisfy { $0.utf8.count < GraphBackupSource.statementBytes + 300 })
        #expect(statements.allSatisfy { !($0.contains(":`Person`") && $0.contains(":`Company`")) })
        #expect(statements.last?.hasPrefix("UNWIND [{s: 1, e: 2, p: {}}] AS r MATCH (a:`__FleetBackup`") == true)
        #expect(statements.last?.contains("CREATE (a)-[x:`KNOWS`]->(b)") == true)
    }
}

@Suite("Backup runner rules and layout")
struct BackupRulesTests {
    @Test func differencesNameEachTableThatDiffers() {
        let manifest = BackupManifest(
            store: "mongodb",
            artifact: "a",
            startedAt: Date(),
            finishedAt: Date(),
            size: 1,
            sha256: String(repeating: "0", count: 64),
            schemaVersion: nil,
            counts: ["a": 2, "b": 3, "empty": 0],
            samples: ["a": "x", "b": "y"],
            keyId: nil,
            content: ""
        )
        let same = BackupInventory(counts: ["a": 2, "b": 3], samples: ["a": "x", "b": "y"])
        #expect(BackupRunner.differences(expected: manifest, restored: same).isEmpty)
        let other = BackupInventory(counts: ["a": 2, "b": 4, "c": 1], samples: ["a": "z", "b": "y", "c": "q"])
        #expect(
            BackupRunner.differences(expected: manifest, restored: other) == [
                "a: sample checksum differs", "b: 4 restored, manifest says 3", "c: 1 restored, manifest says 0",
            ]
        )
    }

    @Test func namesSortByTimeAndRetentionKeepsTheNewest() throws {
        let folder = try TestFolder()
        defer { folder.remove() }
        let layout = BackupLayout(root: folder.path)
        try layout.prepare(.postgres)
        let base = Date(timeIntervalSince1970: 1_795_000_000)
        var paths: [String] = []
        for i in 0..<4 {
            let path = layout.artifactPath(
                .postgres,
                at: base.addingTimeInterval(Double(i) * 0.5),
                extension: "pgdump.fbk"
            )
            try Data([1]).write(to: URL(fileURLWithPath: path))
            try BackupManifestTests.manifest().json().write(to: BackupLayout.manifestPath(ofArtifact: path))
            paths.append(path)
        }
        #expect(paths.first?.hasSuffix("/postgres/postgres-20261118T110640.000Z.pgdump.fbk") == true)
        #expect(paths == paths.sorted())
        // An artifact left without a manifest by a backup that died, older than what is kept.
        let orphan = layout.artifactPath(.postgres, at: base.addingTimeInterval(0.1), extension: "pgdump.fbk")
        try Data([1]).write(to: URL(fileURLWithPath: orphan))
        #expect(layout.entries(.postgres).map(\.artifactPath) == paths)
        let removed = layout.applyRetention(.postgres, keep: 2)
        #expect(Set(removed) == Set(paths.prefix(2) + [orphan]))
        #expect(layout.entries(.postgres).map(\.artifactPath) == Array(paths.suffix(2)))
        #expect(layout.newest(.postgres)?.artifactPath == paths.last)
    }
}

extension [UInt8] {
    fileprivate func write(to path: String) throws { try Data(self).write(to: URL(fileURLWithPath: path)) }
}
