import Foundation
import Testing

@testable import FleetBackup

/// The ClickHouse dump's pure parts: the DDL's database rewrite, which tables are dumped, the
/// DateTime select expression, and the line splitter that counts and samples rows.
@Suite("ClickHouse dump")
struct ClickHouseDumpTests {
    static func table(_ name: String, database: String = "fleet", create: String) -> ClickHouseDump.Table {
        .init(name: name, engine: "MergeTree", database: database, create: create, columns: [])
    }

    @Test("The DDL's head names the target instead, as 18.16 and current servers write it")
    func retargetsTheHead() throws {
        let old = "CREATE TABLE fleet.user_activity ( event_id UUID) ENGINE = MergeTree() ORDER BY event_id"
        #expect(
            try ClickHouseDump.retarget(old, from: Self.table("user_activity", create: old), to: "fleet_verify_x")
                == "CREATE TABLE `fleet_verify_x`.`user_activity` ( event_id UUID) ENGINE = MergeTree() ORDER BY event_id"
        )
        let modern = "CREATE TABLE fleet.t\n(\n    `a` String\n)\nENGINE = MergeTree\nORDER BY a"
        #expect(
            try ClickHouseDump.retarget(modern, from: Self.table("t", create: modern), to: "r")
                == "CREATE TABLE `r`.`t`\n(\n    `a` String\n)\nENGINE = MergeTree\nORDER BY a"
        )
        // Names that need quoting come back-quoted (a back quote escaped by a backslash, as the
        // server writes it); the rest of the DDL (which may mention the
        // database again, in a comment or a default) is left alone.
        let quoted = "CREATE TABLE `my-db`.`odd\\`name` (s String DEFAULT 'my-db.x') ENGINE = Log"
        let table = Self.table("odd`name", database: "my-db", create: quoted)
        #expect(
            try ClickHouseDump.retarget(quoted, from: table, to: "t2")
                == "CREATE TABLE `t2`.`odd\\`name` (s String DEFAULT 'my-db.x') ENGINE = Log"
        )
    }

    @Test("A DDL that does not start with CREATE TABLE and the table's own name is refused")
    func refusesOtherHeads() {
        for ddl in [
            "CREATE VIEW fleet.v AS SELECT 1",
            "CREATE TABLE other.t (a String) ENGINE = Log",
            "CREATE TABLE fleet.t2 (a String) ENGINE = Log",
            "CREATE TABLE fleet.t",
        ] {
            #expect(throws: BackupError.self) {
                try ClickHouseDump.retarget(ddl, from: Self.table("t", create: ddl), to: "x")
            }
        }
    }

    @Test("Tables with rows of their own are dumped; views and proxies are not")
    func engines() {
        for engine in ["MergeTree", "ReplacingMergeTree", "SummingMergeTree", "Log", "TinyLog", "StripeLog", "Memory"] {
            #expect(ClickHouseDump.holdsOwnData(engine: engine, name: "t"), "\(engine)")
        }
        for engine in ["View", "MaterializedView", "Distributed", "Merge", "Buffer", "Null", "Dictionary", "Kafka"] {
            #expect(!ClickHouseDump.holdsOwnData(engine: engine, name: "t"), "\(engine)")
        }
        #expect(!ClickHouseDump.holdsOwnData(engine: "MergeTree", name: ".inner.daily"))
    }

    @Test("DateTime columns are dumped as 10-digit Unix times, other columns as themselves")
    func selectExpressions() {
        let padded = "substring(toString(toUInt64(toUnixTimestamp(`timestamp`)) + 10000000000), 2)"
        #expect(
            ClickHouseDump.Column(name: "timestamp", type: "DateTime").selectExpression == padded
        )
        #expect(
            ClickHouseDump.Column(name: "at", type: "DateTime('Europe/Berlin')").selectExpression
                == padded.replacingOccurrences(of: "`timestamp`", with: "`at`")
        )
        #expect(ClickHouseDump.Column(name: "d", type: "Date").selectExpression == "`d`")
        #expect(ClickHouseDump.Column(name: "id", type: "UUID").selectExpression == "`id`")
    }

    @Test("Rows split across chunks are counted once each; the sample does not depend on their order")
    func rowsAndSample() {
        let lines = (0..<250).map { "row \(String(format: "%03d", $0))\tvalue\\n\\t\u{00FF}" }
        let text = Array(lines.joined(separator: "\n").utf8) + [0x0A]
        var inOrder = TabSeparatedRows()
        var passed: [UInt8] = []
        // Chunks of 7 bytes: lines and multi-byte characters cut anywhere.
        for start in stride(from: 0, to: text.count, by: 7) {
            passed += inOrder.add(text[start..<min(start + 7, text.count)])
        }
        #expect(inOrder.count == 250)
        #expect(inOrder.isComplete)
        #expect(passed == text, "every whole line is handed on, once, in order")

        var reversed = TabSeparatedRows()
        _ = reversed.add(Array(lines.reversed().joined(separator: "\n").utf8) + [0x0A])
        #expect(reversed.count == 250)
        #expect(reversed.digest == inOrder.digest)

        // Only the first 100 in byte order count: a change after them leaves the sample alone,
        // one among them does not.
        var later = TabSeparatedRows()
        _ = later.add(Array((lines.dropLast() + ["row 999 changed"]).joined(separator: "\n").utf8) + [0x0A])
        #expect(later.digest == inOrder.digest)
        var earlier = TabSeparatedRows()
        _ = earlier.add(Array((["row 000 changed"] + lines.dropFirst()).joined(separator: "\n").utf8) + [0x0A])
        #expect(earlier.digest != inOrder.digest)

        var cut = TabSeparatedRows()
        _ = cut.add(Array("a\tb\nc".utf8))
        #expect(cut.count == 1)
        #expect(!cut.isComplete)
    }

    @Test("Empty rows (a table of one empty String column) are rows too")
    func emptyLines() {
        var rows = TabSeparatedRows()
        _ = rows.add(Array("\n\nx\n".utf8))
        #expect(rows.count == 3)
    }
}
