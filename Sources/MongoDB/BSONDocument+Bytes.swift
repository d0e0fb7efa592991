/// BSON's binary format (bsonspec.org 1.1), written and read in Swift: libbson only ever sees
/// whole, checked documents.
extension BSONDocument {
    /// Deepest nesting of documents and arrays accepted when reading, against stack exhaustion.
    public static let maximumDepth = 100

    /// The document as BSON bytes.
    /// - Throws: ``BSONError`` for a key or regex part containing NUL (BSON stores them as C
    ///   strings), a decimal128 that is not 16 bytes, or a document over 2 GiB.
    public func bsonBytes() throws -> [UInt8] {
        var writer = BSONWriter()
        try writer.writeDocument(self)
        return writer.bytes
    }

    /// Reads one BSON document that fills `bytes` exactly.
    /// - Throws: ``BSONError`` for anything malformed: bad lengths, unknown or deprecated types,
    ///   invalid UTF-8, nesting deeper than ``maximumDepth``, trailing bytes.
    public init(bsonBytes bytes: some Collection<UInt8>) throws {
        var reader = BSONReader(bytes: Array(bytes))
        self = try reader.readDocument(depth: 0)
        guard reader.offset == reader.bytes.count else {
            throw BSONError("\(reader.bytes.count - reader.offset) bytes after the end of the BSON document")
        }
    }
}

struct BSONWriter {
    var bytes: [UInt8] = []

    mutating func writeDocument(_ document: BSONDocument) throws {
        try writeElements(document.elements)
    }

    private mutating func writeElements(_ elements: [(key: String, value: BSONValue)]) throws {
        let start = bytes.count
        appendInteger(Int32(0))  // length, patched below
        for (key, value) in elements {
            bytes.append(value.typeByte)
            try appendCString(key, what: "field name")
            try writeValue(value)
        }
        bytes.append(0)
        let length = bytes.count - start
        guard let length32 = Int32(exactly: length) else { throw BSONError("document too large: \(length) bytes") }
        withUnsafeBytes(of: length32.littleEndian) { raw in
            for index in 0..<4 { bytes[start + index] = raw[index] }
        }
    }

    private mutating func writeValue(_ value: BSONValue) throws {
        switch value {
        case .double(let double): appendInteger(double.bitPattern)
        case .string(let string):
            let utf8 = Array(string.utf8)
            appendInteger(Int32(utf8.count + 1))
            bytes.append(contentsOf: utf8)
            bytes.append(0)
        case .document(let document): try writeDocument(document)
        case .array(let values):
            try writeElements(values.enumerated().map { (key: String($0.offset), value: $0.element) })
        case .binary(let subtype, let data):
            if subtype == 0x02 {  // the old binary subtype repeats the length inside
                appendInteger(Int32(data.count + 4))
                bytes.append(subtype)
                appendInteger(Int32(data.count))
            } else {
                appendInteger(Int32(data.count))
                bytes.append(subtype)
            }
            bytes.append(contentsOf: data)
        case .objectId(let id): bytes.append(contentsOf: id.bytes)
        case .bool(let bool): bytes.append(bool ? 1 : 0)
        case .date(let milliseconds): appendInteger(milliseconds)
        case .null, .minKey, .maxKey: break
        case .regex(let pattern, let options):
            try appendCString(pattern, what: "regex pattern")
            // BSON requires the options in alphabetical order.
            try appendCString(String(options.sorted()), what: "regex options")
        case .int32(let int): appendInteger(int)
        case .int64(let int): appendInteger(int)
        case .decimal128(let raw):
            guard raw.count == 16 else { throw BSONError("a decimal128 has 16 bytes, not \(raw.count)") }
            bytes.append(contentsOf: raw)
        case .timestamp(let seconds, let increment):
            appendInteger(increment)
            appendInteger(seconds)
        }
    }

    private mutating func appendInteger<T: FixedWidthInteger>(_ value: T) {
        withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) }
    }

    private mutating func appendCString(_ string: String, what: String) throws {
        let utf8 = string.utf8
        if utf8.contains(0) {
            throw BSONError(
                "\(what) \(String(reflecting: String(string.prefix(64)))) contains NUL, which BSON cannot store there"
            )
        }
        bytes.append(contentsOf: utf8)
        bytes.append(0)
    }
}

struct BSONReader {
    let bytes: [UInt8]
    var offset = 0

    init(bytes: [UInt8]) { self.bytes = bytes }

    mutating func readDocument(depth: Int) throws -> BSONDocument {
        BSONDocument(try readElements(depth: depth))
    }

    private mutating func readElements(depth: Int) throws -> [(key: String, value: BSONValue)] {
        guard depth <= BSONDocument.maximumDepth else {
            throw BSONError("documents nested deeper than \(BSONDocument.maximumDepth) levels")
        }
        let start = offset
        let length = Int(try readInteger(Int32.self))
        guard length >= 5, start + length <= bytes.count else {
            throw BSONError("document length \(length) at offset \(start) does not fit the \(bytes.count) bytes")
        }
        let end = start + length
        var elements: [(key: String, value: BSONValue)] = []
        while true {
            guard offset < end else { throw BSONError("document at offset \(start) lacks its final NUL") }
            let type = bytes[offset]
            offset += 1
            if type == 0 { break }
            let key = try readCString(limit: end)
            elements.append((key: key, value: try readValue(type: type, key: key, depth: depth, limit: end)))
        }
        guard offset == end else { throw BSONError("document at offset \(start) ends before its stated length") }
        return elements
    }

    private mutating func readValue(type: UInt8, key: String, depth: Int, limit: Int) throws -> BSONValue {
        switch type {
        case 0x01: return .double(Double(bitPattern: try readInteger(UInt64.self)))
        case 0x02: return .string(try readString(limit: limit))
        case 0x03: return .document(try readDocument(depth: depth + 1))
        case 0x04: return .array(try readElements(depth: depth + 1).map(\.value))
        case 0x05:
            let count = Int(try readInteger(Int32.self))
            let subtype = try readBytes(1, limit: limit)[0]
            guard count >= 0 else { throw BSONError("negative binary length for \(String(reflecting: key))") }
            var data = try readBytes(count, limit: limit)
            if subtype == 0x02 {
                guard data.count >= 4 else { throw BSONError("old binary subtype without its inner length") }
                data.removeFirst(4)
            }
            return .binary(subtype: subtype, data: data)
        case 0x07: return .objectId(ObjectId(bytes: try readBytes(12, limit: limit))!)
        case 0x08:
            switch try readBytes(1, limit: limit)[0] {
            case 0: return .bool(false)
            case 1: return .bool(true)
            case let other: throw BSONError("boolean byte \(other) for \(String(reflecting: key))")
            }
        case 0x09: return .date(try readInteger(Int64.self))
        case 0x0A: return .null
        case 0x0B:
            let pattern = try readCString(limit: limit)
            return .regex(pattern: pattern, options: try readCString(limit: limit))
        case 0x10: return .int32(try readInteger(Int32.self))
        case 0x11:
            let increment = try readInteger(UInt32.self)
            return .timestamp(seconds: try readInteger(UInt32.self), increment: increment)
        case 0x12: return .int64(try readInteger(Int64.self))
        case 0x13: return .decimal128(try readBytes(16, limit: limit))
        case 0xFF: return .minKey
        case 0x7F: return .maxKey
        default:
            throw BSONError("unsupported BSON type 0x\(String(type, radix: 16)) for field \(String(reflecting: key))")
        }
    }

    private mutating func readBytes(_ count: Int, limit: Int) throws -> [UInt8] {
        guard count >= 0, offset + count <= min(limit, bytes.count) else {
            throw BSONError("BSON value at offset \(offset) runs past the end of its document")
        }
        defer { offset += count }
        return Array(bytes[offset..<offset + count])
    }

    private mutating func readInteger<T: FixedWidthInteger>(_: T.Type) throws -> T {
        let size = MemoryLayout<T>.size
        guard offset + size <= bytes.count else { throw BSONError("BSON ends inside a \(size)-byte number") }
        var value = T.zero
        for index in 0..<size { value |= T(truncatingIfNeeded: bytes[offset + index]) << (8 * index) }
        offset += size
        return value
    }

    private mutating func readCString(limit: Int) throws -> String {
        guard let nul = bytes[offset..<min(limit, bytes.count)].firstIndex(of: 0) else {
            throw BSONError("unterminated field name or C string at offset \(offset)")
        }
        defer { offset = nul + 1 }
        return try utf8String(bytes[offset..<nul])
    }

    private mutating func readString(limit: Int) throws -> String {
        let length = Int(try readInteger(Int32.self))
        guard length >= 1 else { throw BSONError("string length \(length) at offset \(offset - 4)") }
        let raw = try readBytes(length, limit: limit)
        guard raw.last == 0 else { throw BSONError("string at offset \(offset - length) lacks its final NUL") }
        return try utf8String(raw.dropLast())
    }

    private func utf8String(_ raw: some Collection<UInt8>) throws -> String {
        guard let string = String(validating: raw, as: UTF8.self) else {
            throw BSONError("invalid UTF-8 in BSON string at offset \(offset)")
        }
        return string
    }
}
