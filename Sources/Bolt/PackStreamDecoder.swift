/// Reads PackStream values from bytes that may be truncated or hostile: every length is checked
/// against the bytes left before anything is allocated, and nesting is limited, so bad input
/// throws ``PackStreamError`` instead of crashing or exhausting memory.
///
/// Integers are accepted in any size marker (FalkorDB sends `INT_64` for small ids).
struct PackStreamDecoder {
    /// Lists, maps and structures nested deeper than this are refused (a path inside a record is 4 deep).
    static let maximumDepth = 64

    private let bytes: [UInt8]
    private(set) var offset = 0
    private var depth = 0

    init(_ bytes: [UInt8]) { self.bytes = bytes }

    var isAtEnd: Bool { offset == bytes.count }

    /// A Bolt message: a top-level structure's tag and fields.
    mutating func decodeMessage() throws(PackStreamError) -> (tag: UInt8, fields: [BoltValue]) {
        let marker = try readByte()
        guard marker & 0xF0 == 0xB0 else { throw error("a message must be a structure, found marker 0x\(hex(marker))") }
        let tag = try readByte()
        return (tag, try readFields(Int(marker & 0x0F)))
    }

    mutating func decodeValue() throws(PackStreamError) -> BoltValue {
        let marker = try readByte()
        switch marker {
        case 0x00...0x7F: return .integer(Int64(marker))
        case 0xF0...0xFF: return .integer(Int64(Int8(bitPattern: marker)))
        case 0x80...0x8F: return .string(try readString(Int(marker & 0x0F)))
        case 0x90...0x9F: return .list(try readList(Int(marker & 0x0F)))
        case 0xA0...0xAF: return .map(try readMap(Int(marker & 0x0F)))
        case 0xB0...0xBF:
            let tag = try readByte()
            return try structure(tag: tag, fields: try readFields(Int(marker & 0x0F)))
        case 0xC0: return .null
        case 0xC1: return .float(Double(bitPattern: try read(UInt64.self)))
        case 0xC2: return .boolean(false)
        case 0xC3: return .boolean(true)
        case 0xC8: return .integer(Int64(Int8(bitPattern: try readByte())))
        case 0xC9: return .integer(Int64(Int16(bitPattern: try read(UInt16.self))))
        case 0xCA: return .integer(Int64(Int32(bitPattern: try read(UInt32.self))))
        case 0xCB: return .integer(Int64(bitPattern: try read(UInt64.self)))
        case 0xCC, 0xCD, 0xCE: return .bytes(try readBytes(try readSize(marker - 0xCC)))
        case 0xD0, 0xD1, 0xD2: return .string(try readString(try readSize(marker - 0xD0)))
        case 0xD4, 0xD5, 0xD6: return .list(try readList(try readSize(marker - 0xD4)))
        case 0xD8, 0xD9, 0xDA: return .map(try readMap(try readSize(marker - 0xD8)))
        default:
            offset -= 1
            throw error("unknown marker 0x\(hex(marker))")
        }
    }

    // MARK: - Sizes and scalars

    private mutating func readByte() throws(PackStreamError) -> UInt8 {
        guard offset < bytes.count else { throw error("unexpected end of data") }
        defer { offset += 1 }
        return bytes[offset]
    }

    private mutating func read<T: FixedWidthInteger & UnsignedInteger>(_: T.Type) throws(PackStreamError) -> T {
        let size = MemoryLayout<T>.size
        guard bytes.count - offset >= size else { throw error("unexpected end of data") }
        var value: T = 0
        for byte in bytes[offset..<offset + size] { value = value << 8 | T(byte) }
        offset += size
        return value
    }

    /// Size field after an 8/16/32-bit marker (`width` 0, 1, 2).
    private mutating func readSize(_ width: UInt8) throws(PackStreamError) -> Int {
        switch width {
        case 0: Int(try readByte())
        case 1: Int(try read(UInt16.self))
        default: Int(try read(UInt32.self))
        }
    }

    private mutating func readBytes(_ count: Int) throws(PackStreamError) -> [UInt8] {
        guard bytes.count - offset >= count else {
            throw error("declared length \(count) exceeds the \(bytes.count - offset) bytes left")
        }
        defer { offset += count }
        return Array(bytes[offset..<offset + count])
    }

    private mutating func readString(_ count: Int) throws(PackStreamError) -> String {
        let start = offset
        let utf8 = try readBytes(count)
        guard let text = Self.validUTF8(utf8) else { throw PackStreamError("invalid UTF-8 in a string", offset: start) }
        return text
    }

    // Validates instead of String(decoding:), which would silently replace bad bytes.
    static func validUTF8(_ bytes: [UInt8]) -> String? {
        var decoder = UTF8()
        var input = bytes.makeIterator()
        var result = ""
        result.unicodeScalars.reserveCapacity(bytes.count)
        while true {
            switch decoder.decode(&input) {
            case .scalarValue(let scalar): result.unicodeScalars.append(scalar)
            case .emptyInput: return result
            case .error: return nil
            }
        }
    }

    // MARK: - Containers

    private mutating func nested<T>(_ body: (inout Self) throws(PackStreamError) -> T) throws(PackStreamError) -> T {
        guard depth < Self.maximumDepth else { throw error("nesting deeper than \(Self.maximumDepth)") }
        depth += 1
        defer { depth -= 1 }
        return try body(&self)
    }

    /// Every element takes at least one byte: a larger count cannot be honest, so nothing is reserved for it.
    private func checkCount(_ count: Int, minimumBytesEach: Int) throws(PackStreamError) {
        guard count <= (bytes.count - offset) / minimumBytesEach else {
            throw error("declared size \(count) exceeds the \(bytes.count - offset) bytes left")
        }
    }

    private mutating func readList(_ count: Int) throws(PackStreamError) -> [BoltValue] {
        try checkCount(count, minimumBytesEach: 1)
        return try nested { (decoder: inout Self) throws(PackStreamError) in
            var elements: [BoltValue] = []
            elements.reserveCapacity(count)
            for _ in 0..<count { elements.append(try decoder.decodeValue()) }
            return elements
        }
    }

    private mutating func readFields(_ count: Int) throws(PackStreamError) -> [BoltValue] {
        try readList(count)
    }

    private mutating func readMap(_ count: Int) throws(PackStreamError) -> [String: BoltValue] {
        try checkCount(count, minimumBytesEach: 2)
        return try nested { (decoder: inout Self) throws(PackStreamError) in
            var entries: [String: BoltValue] = [:]
            entries.reserveCapacity(count)
            for _ in 0..<count {
                let keyOffset = decoder.offset
                guard case .string(let key) = try decoder.decodeValue() else {
                    throw PackStreamError("a map key must be a string", offset: keyOffset)
                }
                entries[key] = try decoder.decodeValue()  // a repeated key keeps its last value
            }
            return entries
        }
    }

    // MARK: - Structures

    private func structure(tag: UInt8, fields: [BoltValue]) throws(PackStreamError) -> BoltValue {
        var reader = FieldReader(fields: fields, tag: tag, offset: offset)
        switch tag {
        case 0x4E:
            // Bolt 4 nodes have 3 fields; Bolt 5 adds the element id.
            try reader.expectCount(3, 4)
            let id = try reader.int()
            return .node(
                BoltNode(
                    id: id,
                    labels: try reader.strings(),
                    properties: try reader.map(),
                    elementId: try reader.optionalString()
                )
            )
        case 0x52:
            try reader.expectCount(5, 8)
            let id = try reader.int()
            let start = try reader.int()
            let end = try reader.int()
            return .relationship(
                BoltRelationship(
                    id: id,
                    startNodeId: start,
                    endNodeId: end,
                    type: try reader.string(),
                    properties: try reader.map(),
                    elementId: try reader.optionalString(),
                    startNodeElementId: try reader.optionalString(),
                    endNodeElementId: try reader.optionalString()
                )
            )
        case 0x72:
            try reader.expectCount(3, 4)
            let id = try reader.int()
            return .unboundRelationship(
                BoltUnboundRelationship(
                    id: id,
                    type: try reader.string(),
                    properties: try reader.map(),
                    elementId: try reader.optionalString()
                )
            )
        case 0x50:
            try reader.expectCount(3)
            let nodes = try reader.list { value throws(PackStreamError) in value.node }
            let relationships = try reader.list { value throws(PackStreamError) -> BoltUnboundRelationship? in
                if case .unboundRelationship(let rel) = value { return rel }
                return nil
            }
            let indices = try reader.list { value throws(PackStreamError) in value.int }
            return .path(BoltPath(nodes: nodes, relationships: relationships, indices: indices))
        case 0x44:
            try reader.expectCount(1)
            return .date(BoltDate(daysSinceEpoch: try reader.int()))
        case 0x54:
            try reader.expectCount(2)
            return .time(BoltTime(nanosecondsSinceMidnight: try reader.int(), offsetSeconds: try reader.int()))
        case 0x74:
            try reader.expectCount(1)
            return .localTime(BoltLocalTime(nanosecondsSinceMidnight: try reader.int()))
        case 0x49:
            try reader.expectCount(3)
            return .dateTime(
                BoltDateTime(seconds: try reader.int(), nanoseconds: try reader.int(), offsetSeconds: try reader.int())
            )
        case 0x69:
            try reader.expectCount(3)
            return .dateTimeZoneId(
                BoltDateTimeZoneId(
                    seconds: try reader.int(),
                    nanoseconds: try reader.int(),
                    zoneId: try reader.string()
                )
            )
        case 0x64:
            try reader.expectCount(2)
            return .localDateTime(BoltLocalDateTime(seconds: try reader.int(), nanoseconds: try reader.int()))
        case 0x45:
            try reader.expectCount(4)
            return .duration(
                BoltDuration(
                    months: try reader.int(),
                    days: try reader.int(),
                    seconds: try reader.int(),
                    nanoseconds: try reader.int()
                )
            )
        case 0x58:
            try reader.expectCount(3)
            return .point2D(BoltPoint2D(srid: try reader.int(), x: try reader.double(), y: try reader.double()))
        case 0x59:
            try reader.expectCount(4)
            return .point3D(
                BoltPoint3D(
                    srid: try reader.int(),
                    x: try reader.double(),
                    y: try reader.double(),
                    z: try reader.double()
                )
            )
        default:
            return .structure(BoltStructure(tag: tag, fields: fields))
        }
    }

    private func error(_ message: String) -> PackStreamError { PackStreamError(message, offset: offset) }
    private func hex(_ byte: UInt8) -> String { String(byte, radix: 16, uppercase: true) }
}

/// Reads a known structure's fields in order, each checked for its type.
private struct FieldReader {
    let fields: [BoltValue]
    let tag: UInt8
    let offset: Int
    private var index = 0

    init(fields: [BoltValue], tag: UInt8, offset: Int) {
        self.fields = fields
        self.tag = tag
        self.offset = offset
    }

    func expectCount(_ counts: Int...) throws(PackStreamError) {
        guard counts.contains(fields.count) else {
            throw failure("has \(fields.count) fields, expected \(counts.map(String.init).joined(separator: " or "))")
        }
    }

    mutating func next() -> BoltValue? {
        guard index < fields.count else { return nil }
        defer { index += 1 }
        return fields[index]
    }

    mutating func int() throws(PackStreamError) -> Int64 {
        guard let value = next()?.int else { throw failure("field \(index) must be an integer") }
        return value
    }

    mutating func double() throws(PackStreamError) -> Double {
        guard case .float(let value) = next() else { throw failure("field \(index) must be a float") }
        return value
    }

    mutating func string() throws(PackStreamError) -> String {
        guard let value = next()?.string else { throw failure("field \(index) must be a string") }
        return value
    }

    /// Element ids: absent (Bolt 4) or null fall back to the integer id.
    mutating func optionalString() throws(PackStreamError) -> String? {
        switch next() {
        case nil, .null?: return nil
        case .string(let value)?: return value
        default: throw failure("field \(index) must be a string")
        }
    }

    mutating func map() throws(PackStreamError) -> [String: BoltValue] {
        guard let value = next()?.map else { throw failure("field \(index) must be a map") }
        return value
    }

    mutating func strings() throws(PackStreamError) -> [String] {
        try list { value throws(PackStreamError) in value.string }
    }

    mutating func list<T>(_ element: (BoltValue) throws(PackStreamError) -> T?) throws(PackStreamError) -> [T] {
        guard let values = next()?.list else { throw failure("field \(index) must be a list") }
        var result: [T] = []
        for value in values {
            guard let converted = try element(value) else {
                throw failure("field \(index) has an element of the wrong type")
            }
            result.append(converted)
        }
        return result
    }

    private func failure(_ message: String) -> PackStreamError {
        PackStreamError("structure 0x\(String(tag, radix: 16, uppercase: true)) \(message)", offset: offset)
    }
}
