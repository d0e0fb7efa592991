import ClickHouse
import Crypto
import Foundation

/// The ClickHouse dump format (`fleet clickhouse tsv v1`): a sequence of records, each one kind byte,
/// a 4-byte little-endian length and that many bytes. `T` a table (JSON ``ClickHouseDump/Table``),
/// `R` rows of the last `T` (whole `TabSeparated` lines, about 1 MiB a record), `E` the end (empty).
enum ClickHouseDump {
    enum Record: UInt8 {
        case table = 0x54  // T
        case rows = 0x52  // R
        case end = 0x45  // E
    }

    /// A record longer than this is damage, not data (rows records are about ``rowsRecordBytes``).
    static let maxRecordBytes = 256 << 20
    /// Rows are written, and restored with one INSERT each, in records of about this size.
    static let rowsRecordBytes = 1 << 20

    /// One table: its DDL as `SHOW CREATE TABLE` gave it, in the database it came from, and the
    /// columns its rows hold, in order.
    struct Table: Codable, Equatable {
        var name: String
        var engine: String
        var database: String
        var create: String
        var columns: [Column]
    }

    struct Column: Codable, Equatable {
        var name: String
        var type: String

        /// The expression that dumps the column: DateTime as its Unix time in 10 digits, so the text
        /// does not depend on the server's time zone (a local time in a repeated DST hour names two
        /// instants). ClickHouse reads such a number back into a DateTime, but 18.16 refuses one of
        /// fewer than 5 digits (`0`, the default DateTime), hence the zero padding. Every other type
        /// as its own text.
        var selectExpression: String {
            let quoted = ClickHouseLiteral.identifier(name)
            guard type == "DateTime" || type.hasPrefix("DateTime(") else { return quoted }
            return "substring(toString(toUInt64(toUnixTimestamp(\(quoted))) + 10000000000), 2)"
        }
    }

    static func frame(_ kind: Record, _ payload: some Collection<UInt8>) -> [UInt8] {
        let count = UInt32(payload.count)
        return [
            kind.rawValue, UInt8(count & 0xFF), UInt8(count >> 8 & 0xFF), UInt8(count >> 16 & 0xFF), UInt8(count >> 24),
        ]
            + payload
    }

    /// The next record of `reader`. Blocking.
    static func read(_ reader: ArtifactReader) throws(BackupError) -> (Record, [UInt8]) {
        guard let head = try reader.readExactly(5) else {
            throw BackupError(.corrupted, "the ClickHouse dump ends without its end record")
        }
        guard let kind = Record(rawValue: head[0]) else {
            throw BackupError(.corrupted, "unknown ClickHouse dump record \(head[0])")
        }
        let length = Int(head[1]) | Int(head[2]) << 8 | Int(head[3]) << 16 | Int(head[4]) << 24
        guard length <= maxRecordBytes else {
            throw BackupError(.corrupted, "a ClickHouse dump record has a bad length")
        }
        if length == 0 { return (kind, []) }
        guard let payload = try reader.readExactly(length) else {
            throw BackupError(.corrupted, "the ClickHouse dump ends inside a record")
        }
        return (kind, payload)
    }

    /// Engines whose tables hold rows of their own. Views, materialized views (and their `.inner.`
    /// tables), Distributed, Merge, Buffer, Null, Dictionary and external engines are left out.
    static func holdsOwnData(engine: String, name: String) -> Bool {
        guard !name.hasPrefix(".inner.") else { return false }
        return engine.hasSuffix("MergeTree") || ["TinyLog", "StripeLog", "Log", "Memory"].contains(engine)
    }

    /// `ddl` (`CREATE TABLE db.table …` as `SHOW CREATE TABLE` writes it, names back-quoted or not)
    /// creating the same table in `target` instead. Only that head is rewritten; a DDL that does not
    /// start with it is refused rather than guessed at.
    static func retarget(_ ddl: String, from table: Table, to target: String) throws(BackupError) -> String {
        let head = "CREATE TABLE "
        for database in Set([table.database, ClickHouseLiteral.identifier(table.database)]) {
            for name in Set([table.name, ClickHouseLiteral.identifier(table.name)]) {
                let prefix = head + database + "." + name
                guard ddl.hasPrefix(prefix) else { continue }
                let rest = ddl.dropFirst(prefix.count)
                guard let next = rest.first, next == " " || next == "(" || next == "\n" else { continue }
                return head + ClickHouseLiteral.identifier(target) + "." + ClickHouseLiteral.identifier(table.name)
                    + rest
            }
        }
        throw BackupError(.corrupted, "the DDL of \(table.name) does not start with CREATE TABLE and its name")
    }
}

/// Splits a `TabSeparated` answer arriving in chunks into whole lines (a row per line: TabSeparated
/// escapes newlines inside values), counts them, and keeps the ``BackupInventory/sampleSize``
/// smallest in byte order: the sample, in an order that does not depend on how the server happens to
/// return rows.
struct TabSeparatedRows {
    private(set) var count = 0
    private var pending: [UInt8] = []
    private var smallest: [[UInt8]] = []

    /// Appends a chunk; returns the whole lines it completed (with their newlines).
    mutating func add(_ chunk: some Collection<UInt8>) -> [UInt8] {
        pending.append(contentsOf: chunk)
        guard let last = pending.lastIndex(of: 0x0A) else { return [] }
        let complete = Array(pending[...last])
        pending.removeSubrange(...last)
        for line in complete.split(separator: 0x0A, omittingEmptySubsequences: false).dropLast() {
            count += 1
            sample(Array(line))
        }
        return complete
    }

    /// Whether the answer ended at the end of a line.
    var isComplete: Bool { pending.isEmpty }

    private mutating func sample(_ line: [UInt8]) {
        if smallest.count == BackupInventory.sampleSize, let largest = smallest.last,
            !line.lexicographicallyPrecedes(largest)
        {
            return
        }
        var low = 0
        var high = smallest.count
        while low < high {
            let middle = (low + high) / 2
            if smallest[middle].lexicographicallyPrecedes(line) { low = middle + 1 } else { high = middle }
        }
        smallest.insert(line, at: low)
        if smallest.count > BackupInventory.sampleSize { smallest.removeLast() }
    }

    /// Hex SHA-256 of the sampled lines, each followed by a newline, smallest first.
    var digest: String {
        var hasher = SHA256()
        for line in smallest { hasher.update(data: line + [0x0A]) }
        return hasher.finalize().map { String(format: "%02x", $0) }.joined()
    }
}
