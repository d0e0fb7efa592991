import ClickHouse
import Foundation
import NIOCore

/// ClickHouse: every table of the configured database that holds rows of its own (MergeTree family,
/// Log family, Memory; views are left out), as its `SHOW CREATE TABLE` DDL and its rows in
/// `TabSeparated`, streamed from the HTTP interface into the artifact (``ClickHouseDump``).
/// TabSeparated gives back exactly what it read: strings of any bytes (escaped), UUIDs, Float64s in
/// their shortest exact form; DateTimes are dumped as Unix times (10 digits).
///
/// Not a snapshot (ClickHouse has none): tables are dumped one after the other while inserts may
/// continue. Counts and samples describe exactly the rows dumped (they are computed from the dump's
/// own lines). The schema version is the newest of ClickHouse's own `schema_versions` table.
///
/// A restore creates the target database, each table from its DDL (the database name in its head
/// rewritten to the target), and inserts the rows one record (about 1 MiB) per INSERT.
public struct ClickHouseBackupSource: BackupSource {
    public let store = BackupStore.clickhouse
    public let artifactExtension = "chtsv.fbk"
    public let contentFormat = "fleet clickhouse tsv v1"

    /// A client of the live database; scratch and restore targets are named in the statements.
    let client: ClickHouseClient
    /// The `service_name` of this store's rows in ClickHouse's `schema_versions`; nil: none recorded.
    let schemaService: String?

    public init(client: ClickHouseClient, schemaService: String?) {
        self.client = client
        self.schemaService = schemaService
    }

    var liveDatabase: String { client.configuration.database }

    public func export(into writer: ArtifactWriter) async throws -> BackupInventory {
        let box = UncheckedBox(writer)
        var inventory = BackupInventory()
        for table in try await tables(in: liveDatabase) {
            let json = try JSONEncoder().encode(table)
            try await runBlocking { try box.value.write(ClickHouseDump.frame(.table, [UInt8](json))) }
            let streamed = StreamedRows(into: box)
            try await streamRows(of: table, in: liveDatabase) { try streamed.add($0) }
            guard streamed.rows.isComplete else {
                throw BackupError(.corrupted, "the rows of \(table.name) did not end with a whole line")
            }
            try await runBlocking { try streamed.finish() }
            inventory.counts[table.name] = streamed.rows.count
            inventory.samples[table.name] = streamed.rows.digest
        }
        try await runBlocking { try box.value.write(ClickHouseDump.frame(.end, [])) }
        if inventory.counts["schema_versions"] != nil { inventory.schemaVersion = try await schemaVersion() }
        return inventory
    }

    public func restore(from reader: ArtifactReader, into target: String, replace: Bool) async throws {
        try checkTarget(target)
        let box = UncheckedBox(reader)
        try await client.execute("CREATE DATABASE IF NOT EXISTS \(ClickHouseLiteral.identifier(target))")
        var current: ClickHouseDump.Table?
        while true {
            let (kind, payload) = try await runBlocking { try ClickHouseDump.read(box.value) }
            switch kind {
            case .table:
                let table: ClickHouseDump.Table
                do {
                    table = try JSONDecoder().decode(ClickHouseDump.Table.self, from: Data(payload))
                } catch {
                    throw BackupError(.corrupted, "a ClickHouse table record is not valid: \(error)")
                }
                let name = ClickHouseLiteral.identifier(target) + "." + ClickHouseLiteral.identifier(table.name)
                if replace { try await client.execute("DROP TABLE IF EXISTS \(name)") }
                try await client.execute(try ClickHouseDump.retarget(table.create, from: table, to: target))
                current = table
            case .rows:
                guard let table = current else { throw BackupError(.corrupted, "rows before any table") }
                guard payload.last == 0x0A else { throw BackupError(.corrupted, "a rows record ends inside a row") }
                let columns = table.columns.map { ClickHouseLiteral.identifier($0.name) }.joined(separator: ", ")
                try await client.execute(
                    "INSERT INTO \(ClickHouseLiteral.identifier(target)).\(ClickHouseLiteral.identifier(table.name)) "
                        + "(\(columns)) FORMAT TabSeparated",
                    data: payload
                )
            case .end:
                guard try await runBlocking({ try box.value.readExactly(1) }) == nil else {
                    throw BackupError(.corrupted, "bytes follow the ClickHouse dump's end record")
                }
                return
            }
        }
    }

    public func inventory(of target: String) async throws -> BackupInventory {
        var inventory = BackupInventory()
        for table in try await tables(in: target) {
            let streamed = StreamedRows(into: nil)
            try await streamRows(of: table, in: target) { try streamed.add($0) }
            inventory.counts[table.name] = streamed.rows.count
            inventory.samples[table.name] = streamed.rows.digest
        }
        return inventory
    }

    public func isEmpty(_ target: String) async throws -> Bool {
        try checkTarget(target)
        return try await client.count(
            "SELECT count() AS n FROM system.tables WHERE database = \(ClickHouseLiteral.string(target))"
        ) == 0
    }

    public func createScratch(tag: String) async throws -> String {
        let name = "fleet_verify_" + tag + scratchSuffix()
        try await client.execute("CREATE DATABASE \(name)")
        return name
    }

    public func drop(_ target: String) async throws {
        try checkTarget(target)
        try await client.execute("DROP DATABASE IF EXISTS \(ClickHouseLiteral.identifier(target))")
    }

    // MARK: - Helpers

    /// The tables of `database` that hold rows of their own, by name, with DDL and columns
    /// (MATERIALIZED and ALIAS columns are computed again on insert, so they are not dumped).
    func tables(in database: String) async throws -> [ClickHouseDump.Table] {
        struct Row: Decodable {
            let name: String
            let engine: String
        }
        struct ColumnRow: Decodable {
            let name: String
            let type: String
        }
        struct Statement: Decodable { let statement: String }
        let quotedDatabase = ClickHouseLiteral.string(database)
        let rows = try await client.query(
            "SELECT name, engine FROM system.tables WHERE database = \(quotedDatabase) ORDER BY name",
            as: Row.self
        )
        var tables: [ClickHouseDump.Table] = []
        for row in rows where ClickHouseDump.holdsOwnData(engine: row.engine, name: row.name) {
            let columns = try await client.query(
                "SELECT name, type FROM system.columns WHERE database = \(quotedDatabase) AND table = "
                    + "\(ClickHouseLiteral.string(row.name)) AND default_kind NOT IN ('MATERIALIZED', 'ALIAS')",
                as: ColumnRow.self
            )
            let qualified = ClickHouseLiteral.identifier(database) + "." + ClickHouseLiteral.identifier(row.name)
            guard let ddl = try await client.query("SHOW CREATE TABLE \(qualified)", as: Statement.self).first else {
                throw BackupError(.tool, "SHOW CREATE TABLE \(row.name) returned nothing")
            }
            tables.append(
                .init(
                    name: row.name,
                    engine: row.engine,
                    database: database,
                    create: ddl.statement,
                    columns: columns.map { .init(name: $0.name, type: $0.type) }
                )
            )
        }
        return tables
    }

    /// Streams `table`'s rows of `database` as TabSeparated, in no particular order; `body` runs on
    /// the connection's thread and may block.
    func streamRows(
        of table: ClickHouseDump.Table,
        in database: String,
        _ body: @escaping @Sendable (ByteBuffer) throws -> Void
    ) async throws {
        let expressions = table.columns.map(\.selectExpression).joined(separator: ", ")
        let qualified = ClickHouseLiteral.identifier(database) + "." + ClickHouseLiteral.identifier(table.name)
        try await client.stream("SELECT \(expressions) FROM \(qualified) FORMAT TabSeparated", into: body)
    }

    /// The greatest version in `schema_versions` for ``schemaService`` (zero-padded, so text order is
    /// numeric order); nil when none is recorded.
    func schemaVersion() async throws -> String? {
        guard let schemaService else { return nil }
        struct Version: Decodable { let version: String }
        let rows = try await client.query(
            "SELECT max(version) AS version FROM schema_versions WHERE service_name = "
                + ClickHouseLiteral.string(schemaService),
            as: Version.self
        )
        guard let version = rows.first?.version, !version.isEmpty else { return nil }
        return version
    }

    /// Targets: letters, digits and `_`, and never the live database or ClickHouse's own.
    func checkTarget(_ target: String) throws(BackupError) {
        guard target != liveDatabase, target != "system" else {
            throw BackupError(.unsupported, "restoring over or dropping the database \(target) is not offered")
        }
        guard !target.isEmpty, target.count <= 63,
            target.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_") })
        else {
            throw BackupError(.unsupported, "database names for restores are letters, digits and _: \(target)")
        }
    }
}

/// One table's rows as they stream in: counted and sampled, and for an export framed into the
/// artifact in records of about ``ClickHouseDump/rowsRecordBytes``.
// @unchecked Sendable: the connection's thread feeds it during the request; it is read and finished
// after the request returned, never from two threads at once.
final class StreamedRows: @unchecked Sendable {
    private(set) var rows = TabSeparatedRows()
    private var record: [UInt8] = []
    private let writer: UncheckedBox<ArtifactWriter>?

    /// `writer`: where the records go; nil only counts and samples.
    init(into writer: UncheckedBox<ArtifactWriter>?) {
        self.writer = writer
    }

    /// Takes a chunk of the answer; writes a record once enough whole lines are in. Blocks.
    func add(_ chunk: ByteBuffer) throws {
        let lines = rows.add(chunk.readableBytesView)
        guard let writer else { return }
        record += lines
        guard record.count >= ClickHouseDump.rowsRecordBytes else { return }
        try writer.value.write(ClickHouseDump.frame(.rows, record))
        record = []
    }

    /// Writes the last, partial record. Blocks.
    func finish() throws {
        guard let writer, !record.isEmpty else { return }
        try writer.value.write(ClickHouseDump.frame(.rows, record))
        record = []
    }
}
