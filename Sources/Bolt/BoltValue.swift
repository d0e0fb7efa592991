/// A value that travels over Bolt: every PackStream type and every Bolt 5 structure.
///
/// Queries take their values only as parameters of this type, never spliced into Cypher text.
/// Maps are unordered here; the encoder writes their keys sorted, so encodings are deterministic.
public enum BoltValue: Sendable, Hashable {
    /// Cypher `null`, which is also what a missing property reads as.
    case null
    /// A boolean.
    case boolean(Bool)
    /// An integer; PackStream carries up to 64 bits, in the fewest bytes that hold the value.
    case integer(Int64)
    /// A 64-bit floating point number.
    case float(Double)
    /// A UTF-8 string.
    case string(String)
    /// A byte array.
    case bytes([UInt8])
    /// A list of values of any types.
    case list([BoltValue])
    /// A map from string keys to values.
    case map([String: BoltValue])
    /// A node, as returned for a node variable.
    case node(BoltNode)
    /// A relationship with both ends, as returned for a relationship variable.
    case relationship(BoltRelationship)
    /// A relationship inside a path.
    case unboundRelationship(BoltUnboundRelationship)
    /// A path, as returned for a path variable.
    case path(BoltPath)
    /// A Cypher `Date`.
    case date(BoltDate)
    /// A Cypher `Time` (with a UTC offset).
    case time(BoltTime)
    /// A Cypher `LocalTime`.
    case localTime(BoltLocalTime)
    /// A Cypher `DateTime` with a UTC offset.
    case dateTime(BoltDateTime)
    /// A Cypher `DateTime` with a named time zone.
    case dateTimeZoneId(BoltDateTimeZoneId)
    /// A Cypher `LocalDateTime`.
    case localDateTime(BoltLocalDateTime)
    /// A Cypher `Duration`.
    case duration(BoltDuration)
    /// A Cypher 2D `Point`.
    case point2D(BoltPoint2D)
    /// A Cypher 3D `Point`.
    case point3D(BoltPoint3D)
    /// A structure whose tag this client does not know; kept so newer servers do not break decoding.
    case structure(BoltStructure)
}

/// A PackStream structure with an unknown tag: its tag byte and fields, as received.
public struct BoltStructure: Sendable, Hashable {
    /// The structure's tag byte, which names its type.
    public var tag: UInt8
    /// The structure's fields, in order.
    public var fields: [BoltValue]

    /// A structure of `tag` with `fields`; encoding writes it as it is.
    public init(tag: UInt8, fields: [BoltValue]) {
        self.tag = tag
        self.fields = fields
    }
}

extension BoltValue {
    /// Whether this is ``null``.
    public var isNull: Bool { self == .null }

    /// The value of a `.boolean`; nil for other types.
    public var bool: Bool? {
        if case .boolean(let value) = self { return value }
        return nil
    }

    /// The value of an `.integer`; nil for other types (a float included).
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

    /// The value of a `.string`; nil for other types.
    public var string: String? {
        if case .string(let value) = self { return value }
        return nil
    }

    /// The elements of a `.list`; nil for other types.
    public var list: [BoltValue]? {
        if case .list(let value) = self { return value }
        return nil
    }

    /// The entries of a `.map`; nil for other types (a node's properties are in ``node``).
    public var map: [String: BoltValue]? {
        if case .map(let value) = self { return value }
        return nil
    }

    /// The node of a `.node`; nil for other types.
    public var node: BoltNode? {
        if case .node(let value) = self { return value }
        return nil
    }

    /// The relationship of a `.relationship`; nil for other types, an unbound relationship included.
    public var relationship: BoltRelationship? {
        if case .relationship(let value) = self { return value }
        return nil
    }

    /// The path of a `.path`; nil for other types.
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
    /// An `.integer`, for an `Int` variable (literals need no initializer).
    public init(_ value: Int) { self = .integer(Int64(value)) }
    /// A `.string`, for a `String` variable.
    public init(_ value: String) { self = .string(value) }
    /// A `.float`, for a `Double` variable.
    public init(_ value: Double) { self = .float(value) }
    /// A `.boolean`, for a `Bool` variable.
    public init(_ value: Bool) { self = .boolean(value) }
}
