import FleetContract

/// Writes `INSERT … FORMAT JSONEachRow` rows straight into the request body, for writers on a hot
/// path: `JSONEncoder` costs several microseconds a row, which at tens of thousands of rows a second
/// takes a noticeable share of a 2-core machine from the jobs themselves.
///
/// ```swift
/// var rows = JSONEachRowWriter(table: "performance_metrics")
/// rows.beginRow()
/// rows.field("endpoint", string: "enrollment.update")
/// rows.field("status_code", integer: 200)
/// rows.endRow()
/// try await client.insert(rows)
/// ```
public struct JSONEachRowWriter: Sendable {
    /// The table the rows go to: a bare identifier, checked when inserted.
    public let table: String
    /// Rows written so far.
    public private(set) var rowCount = 0
    /// Collected in an array and sent as it is, never copied: `ByteBuffer`'s writes, a few dozen a
    /// row, cost more than the array's appends (6% of a no-op worker's CPU), and a batch of 5,000
    /// rows is about 1 MB.
    private var bytes: [UInt8] = []
    private var fieldsInRow = 0

    /// The request body: the `INSERT` line, then a line per row.
    var body: [UInt8] { bytes }

    public init(table: String, reservingCapacity capacity: Int = 4096) {
        self.table = table
        bytes.reserveCapacity(capacity)
        bytes.append(contentsOf: "INSERT INTO \(table) FORMAT JSONEachRow\n".utf8)
    }

    /// Starts a row; every field up to ``endRow()`` belongs to it.
    public mutating func beginRow() {
        bytes.append(UInt8(ascii: "{"))
        fieldsInRow = 0
    }

    /// Ends the current row.
    public mutating func endRow() {
        bytes.append(UInt8(ascii: "}"))
        bytes.append(UInt8(ascii: "\n"))
        rowCount += 1
    }

    /// A string column, escaped as JSON (quotes, backslashes and control characters; runs that need
    /// no escape are copied whole).
    public mutating func field(_ name: StaticString, string value: String) {
        key(name)
        JSONText.write(value, into: &bytes)
    }

    /// A `UUID` column holding a new random (version 4) UUID, written straight into the body.
    public mutating func field(_ name: StaticString, randomUUID: Void) {
        key(name)
        bytes.append(UInt8(ascii: "\""))
        UUIDText.appendRandom(to: &bytes)
        bytes.append(UInt8(ascii: "\""))
    }

    /// An integer column.
    public mutating func field(_ name: StaticString, integer value: Int64) {
        key(name)
        JSONText.write(value, into: &bytes)
    }

    private mutating func key(_ name: StaticString) {
        if fieldsInRow > 0 { bytes.append(UInt8(ascii: ",")) }
        fieldsInRow += 1
        bytes.append(UInt8(ascii: "\""))
        name.withUTF8Buffer { bytes.append(contentsOf: $0) }
        bytes.append(UInt8(ascii: "\""))
        bytes.append(UInt8(ascii: ":"))
    }
}
