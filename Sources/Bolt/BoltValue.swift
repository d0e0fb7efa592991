/// A value that travels over Bolt: every PackStream type and every Bolt 5 structure.
///
/// Queries take their values only as parameters of this type, never spliced into Cypher text.
/// Maps are unordered here; the encoder writes their keys sorted, so encodings are deterministic.
public enum BoltValue: Sendable, Hashable {
    case null
    case boolean(Bool)
    case integer(Int64)
    case float(Double)
    case string(String)
    case bytes([UInt8])
    case list([BoltValue])
    case map([String: BoltValue])
    case node(BoltNode)
    case relationship(BoltRelationship)
    case unboundRelationship(BoltUnboundRelationship)
    case path(BoltPath)
    case date(BoltDate)
    case time(BoltTime)
    case localTime(BoltLocalTime)
    case dateTime(BoltDateTime)
    case dateTimeZoneId(BoltDateTimeZoneId)
    case localDateTime(BoltLocalDateTime)
    case duration(BoltDuration)
    case point2D(BoltPoint2D)
    case point3D(BoltPoint3D)
    /// A structure whose tag this client does not know; kept so newer servers do not break decoding.
    case structure(BoltStructure)
}

/// A PackStream structure with an unknown tag: its tag byte and fields, as received.
public struct BoltStructure: Sendable, Hashable {
    public var tag: UInt8
    public var fields: [BoltValue]

    public init(tag: UInt8, fields: [BoltValue]) {
        self.tag = tag
        self.fields = fields
    }
}

extension BoltValue {
    public var isNull: Bool { self == .null }

    public var bool: Bool? {
        if case .boolean(let value) = self { return value }
        return nil
    }

    public var int: Int64? {
        if case .integer(let value) = self { return value }
        return nil
    }

    /// A float, or an integer widened to a float.
    public var double: Double? {
        switch self {
        case .float(let value): value
        case .integer(let value): Double(value)
        default: nil
        }
    }

    public var string: String? {
        if case .string(let value) = self { return value }
        return nil
    }

    public var list: [BoltValue]? {
        if case .list(let value) = self { return value }
        return nil
    }

    public var map: [String: BoltValue]? {
        if case .map(let value) = self { return value }
        return nil
    }

    public var node: BoltNode? {
        if case .node(let value) = self { return value }
        return nil
    }

    public var relationship: BoltRelationship? {
        if case .relationship(let value) = self { return value }
        return nil
    }

    public var path: BoltPath? {
        if case .path(let value) = self { return value }
        return nil
    }
}

extension BoltValue: ExpressibleByNilLiteral, ExpressibleByBooleanLiteral, ExpressibleByIntegerLiteral,
    ExpressibleByFloatLiteral, ExpressibleByStringLiteral, ExpressibleByArrayLiteral,
    ExpressibleByDictionaryLiteral
{
    public init(nilLiteral: ()) { self = .null }
    public init(booleanLiteral value: Bool) { self = .boolean(value) }
    public init(integerLiteral value: Int64) { self = .integer(value) }
    public init(floatLiteral value: Double) { self = .float(value) }
    public init(stringLiteral value: String) { self = .string(value) }
    public init(arrayLiteral elements: BoltValue...) { self = .list(elements) }

    /// A repeated key keeps its last value, as a PackStream map does.
    public init(dictionaryLiteral elements: (String, BoltValue)...) {
        self = .map(Dictionary(elements, uniquingKeysWith: { _, last in last }))
    }
}

extension BoltValue {
    public init(_ value: Int) { self = .integer(Int64(value)) }
    public init(_ value: String) { self = .string(value) }
    public init(_ value: Double) { self = .float(value) }
    public init(_ value: Bool) { self = .boolean(value) }
}
