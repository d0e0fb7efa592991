import NIOCore

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
    private(set) var body: ByteBuffer
    private var fieldsInRow = 0

    public init(table: String, reservingCapacity capacity: Int = 4096) {
        self.table = table
        body = ByteBufferAllocator().buffer(capacity: capacity)
        body.writeString("INSERT INTO \(table) FORMAT JSONEachRow\n")
    }

    /// Starts a row; every field up to ``endRow()`` belongs to it.
    public mutating func beginRow() {
        body.writeInteger(UInt8(ascii: "{"))
        fieldsInRow = 0
    }

    /// Ends the current row.
    public mutating func endRow() {
        body.writeStaticString("}\n")
        rowCount += 1
    }

    /// A string column, escaped as JSON (quotes, backslashes and control characters). Runs that need
    /// no escape are copied whole: byte by byte, this was the metrics writer's largest cost.
    public mutating func field(_ name: StaticString, string value: String) {
        key(name)
        body.writeInteger(UInt8(ascii: "\""))
        var value = value
        value.withUTF8 { bytes in
            var runStart = 0
            for (index, byte) in bytes.enumerated()
            where byte < 0x20 || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") {
                body.writeBytes(UnsafeRawBufferPointer(UnsafeBufferPointer(rebasing: bytes[runStart..<index])))
                switch byte {
                case UInt8(ascii: "\""): body.writeStaticString("\\\"")
                case UInt8(ascii: "\\"): body.writeStaticString("\\\\")
                default:
                    body.writeStaticString("\\u00")
                    body.writeInteger(Self.hexDigit(byte >> 4))
                    body.writeInteger(Self.hexDigit(byte & 0x0F))
                }
                runStart = index + 1
            }
            body.writeBytes(UnsafeRawBufferPointer(UnsafeBufferPointer(rebasing: bytes[runStart...])))
        }
        body.writeInteger(UInt8(ascii: "\""))
    }

    /// An integer column, its digits written in place (no `String` per value).
    public mutating func field(_ name: StaticString, integer value: Int64) {
        key(name)
        if value < 0 { body.writeInteger(UInt8(ascii: "-")) }
        var magnitude = value.magnitude
        var digits: (UInt64, UInt64, UInt64) = (0, 0, 0)  // 24 bytes: room for UInt64's 20 digits
        withUnsafeMutableBytes(of: &digits) { buffer in
            var position = buffer.count
            repeat {
                position -= 1
                buffer[position] = UInt8(ascii: "0") + UInt8(magnitude % 10)
                magnitude /= 10
            } while magnitude > 0
            body.writeBytes(UnsafeRawBufferPointer(rebasing: buffer[position...]))
        }
    }

    private mutating func key(_ name: StaticString) {
        if fieldsInRow > 0 { body.writeInteger(UInt8(ascii: ",")) }
        fieldsInRow += 1
        body.writeInteger(UInt8(ascii: "\""))
        body.writeStaticString(name)
        body.writeStaticString("\":")
    }

    private static func hexDigit(_ value: UInt8) -> UInt8 {
        value < 10 ? UInt8(ascii: "0") + value : UInt8(ascii: "a") + value - 10
    }
}
