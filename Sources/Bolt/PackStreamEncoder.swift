/// Entry points for PackStream, the binary format of Bolt values.
public enum PackStream {
    /// The encoding of one value. Map keys are written sorted, so equal values give equal bytes.
    public static func encode(_ value: BoltValue) throws(PackStreamError) -> [UInt8] {
        var encoder = PackStreamEncoder()
        try encoder.encode(value)
        return encoder.bytes
    }

    /// Decodes exactly one value; trailing bytes are an error.
    public static func decode(_ bytes: [UInt8]) throws(PackStreamError) -> BoltValue {
        var decoder = PackStreamDecoder(bytes)
        let value = try decoder.decodeValue()
        guard decoder.isAtEnd else { throw PackStreamError("trailing bytes after the value", offset: decoder.offset) }
        return value
    }
}

/// Appends PackStream encodings to a byte array, always with the smallest marker that fits.
struct PackStreamEncoder {
    private(set) var bytes: [UInt8] = []

    mutating func encode(_ value: BoltValue) throws(PackStreamError) {
        switch value {
        case .null: bytes.append(0xC0)
        case .boolean(let flag): bytes.append(flag ? 0xC3 : 0xC2)
        case .integer(let number): encodeInteger(number)
        case .float(let number):
            bytes.append(0xC1)
            appendBigEndian(number.bitPattern)
        case .string(let text): try encodeString(text)
        case .bytes(let data):
            try writeSize(data.count, tiny: nil, markers: (0xCC, 0xCD, 0xCE), what: "byte array")
            bytes.append(contentsOf: data)
        case .list(let elements):
            try writeSize(elements.count, tiny: 0x90, markers: (0xD4, 0xD5, 0xD6), what: "list")
            for element in elements { try encode(element) }
        case .map(let entries): try encodeMap(entries)
        case .node(let node):
            try structure(
                0x4E,
                [
                    .integer(node.id), .list(node.labels.map(BoltValue.string)), .map(node.properties),
                    .string(node.elementId),
                ]
            )
        case .relationship(let rel):
            try structure(
                0x52,
                [
                    .integer(rel.id), .integer(rel.startNodeId), .integer(rel.endNodeId),
                    .string(rel.type), .map(rel.properties), .string(rel.elementId), .string(rel.startNodeElementId),
                    .string(rel.endNodeElementId),
                ]
            )
        case .unboundRelationship(let rel):
            try structure(0x72, [.integer(rel.id), .string(rel.type), .map(rel.properties), .string(rel.elementId)])
        case .path(let path):
            try structure(
                0x50,
                [
                    .list(path.nodes.map(BoltValue.node)),
                    .list(path.relationships.map(BoltValue.unboundRelationship)),
                    .list(path.indices.map(BoltValue.integer)),
                ]
            )
        case .date(let date): try structure(0x44, [.integer(date.daysSinceEpoch)])
        case .time(let time):
            try structure(0x54, [.integer(time.nanosecondsSinceMidnight), .integer(time.offsetSeconds)])
        case .localTime(let time): try structure(0x74, [.integer(time.nanosecondsSinceMidnight)])
        case .dateTime(let dt):
            try structure(0x49, [.integer(dt.seconds), .integer(dt.nanoseconds), .integer(dt.offsetSeconds)])
        case .dateTimeZoneId(let dt):
            try structure(0x69, [.integer(dt.seconds), .integer(dt.nanoseconds), .string(dt.zoneId)])
        case .localDateTime(let dt): try structure(0x64, [.integer(dt.seconds), .integer(dt.nanoseconds)])
        case .duration(let d):
            try structure(0x45, [.integer(d.months), .integer(d.days), .integer(d.seconds), .integer(d.nanoseconds)])
        case .point2D(let p): try structure(0x58, [.integer(p.srid), .float(p.x), .float(p.y)])
        case .point3D(let p): try structure(0x59, [.integer(p.srid), .float(p.x), .float(p.y), .float(p.z)])
        case .structure(let s): try structure(s.tag, s.fields)
        }
    }

    /// A structure header and its fields; Bolt messages are structures too.
    mutating func structure(_ tag: UInt8, _ fields: [BoltValue]) throws(PackStreamError) {
        guard fields.count <= 15 else {
            throw PackStreamError("a structure has at most 15 fields, not \(fields.count)")
        }
        bytes.append(0xB0 | UInt8(fields.count))
        bytes.append(tag)
        for field in fields { try encode(field) }
    }

    private mutating func encodeInteger(_ number: Int64) {
        switch number {
        case -16...127: bytes.append(UInt8(bitPattern: Int8(number)))
        case -128 ... -17:
            bytes.append(0xC8)
            bytes.append(UInt8(bitPattern: Int8(number)))
        case -32_768...32_767:
            bytes.append(0xC9)
            appendBigEndian(UInt16(bitPattern: Int16(number)))
        case -2_147_483_648...2_147_483_647:
            bytes.append(0xCA)
            appendBigEndian(UInt32(bitPattern: Int32(number)))
        default:
            bytes.append(0xCB)
            appendBigEndian(UInt64(bitPattern: number))
        }
    }

    private mutating func encodeString(_ text: String) throws(PackStreamError) {
        let utf8 = text.utf8
        try writeSize(utf8.count, tiny: 0x80, markers: (0xD0, 0xD1, 0xD2), what: "string")
        bytes.append(contentsOf: utf8)
    }

    private mutating func encodeMap(_ entries: [String: BoltValue]) throws(PackStreamError) {
        try writeSize(entries.count, tiny: 0xA0, markers: (0xD8, 0xD9, 0xDA), what: "map")
        for key in entries.keys.sorted() {
            try encodeString(key)
            try encode(entries[key]!)
        }
    }

    /// Tiny form (size in the marker's low nibble) below 16 when the type has one, then 8, 16, 32-bit sizes.
    private mutating func writeSize(
        _ size: Int,
        tiny: UInt8?,
        markers: (UInt8, UInt8, UInt8),
        what: String
    ) throws(PackStreamError) {
        if let tiny, size < 16 {
            bytes.append(tiny | UInt8(size))
        } else if size <= 0xFF {
            bytes.append(markers.0)
            bytes.append(UInt8(size))
        } else if size <= 0xFFFF {
            bytes.append(markers.1)
            appendBigEndian(UInt16(size))
        } else if size <= 0xFFFF_FFFF {
            bytes.append(markers.2)
            appendBigEndian(UInt32(size))
        } else {
            throw PackStreamError("a \(what) of \(size) elements is too large for PackStream")
        }
    }

    private mutating func appendBigEndian<T: FixedWidthInteger>(_ value: T) {
        withUnsafeBytes(of: value.bigEndian) { bytes.append(contentsOf: $0) }
    }
}
