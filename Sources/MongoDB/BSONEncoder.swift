import Foundation

/// Encodes `Encodable` values as BSON documents.
///
/// - `Date` becomes a BSON date (milliseconds, truncated towards the past), ``ObjectId`` an ObjectId,
///   `Data` binary (subtype 0), `UUID` binary (subtype 4), ``BSONValue`` and ``BSONDocument`` go in
///   as they are; `Int` becomes int64, `Int32` int32, floating point double.
/// - `nil` optionals are left out: synthesized `Encodable` skips them (`encodeIfPresent`). An explicit
///   `encodeNil()` writes BSON null.
/// - Keys of keyed containers (dictionaries included, whose keys often come from outside) must not be
///   empty, start with `$`, or contain `.` or NUL: such a key throws `EncodingError.invalidValue`
///   instead of becoming an operator or a path on the server.
public struct BSONEncoder: Sendable {
    /// An encoder; it has no options.
    public init() {}

    /// Encodes a value whose representation is a document (a struct, class or dictionary).
    public func encode<T: Encodable>(_ value: T) throws -> BSONDocument {
        let bson = try encodeValue(value)
        guard case .document(let document) = bson else {
            throw EncodingError.invalidValue(
                value,
                .init(codingPath: [], debugDescription: "\(T.self) encodes as \(bson.typeName), not as a document")
            )
        }
        return document
    }

    /// Encodes any value as a ``BSONValue``.
    public func encodeValue<T: Encodable>(_ value: T) throws -> BSONValue {
        let node = EncodingNode()
        try node.store(value, codingPath: [])
        return node.value
    }
}

/// A value under construction: containers fill it in as the value encodes itself.
final class EncodingNode {
    enum Content {
        case empty
        case value(BSONValue)
        case keyed([(key: String, node: EncodingNode)])
        case unkeyed([EncodingNode])
    }
    var content = Content.empty

    init() {}
    init(_ value: BSONValue) { content = .value(value) }

    var value: BSONValue {
        switch content {
        case .empty: return .document(BSONDocument())
        case .value(let value): return value
        case .keyed(let elements): return .document(BSONDocument(elements.map { (key: $0.key, value: $0.node.value) }))
        case .unkeyed(let nodes): return .array(nodes.map(\.value))
        }
    }

    /// Stores `value`, as a BSON special type or by letting it encode itself into this node.
    func store<T: Encodable>(_ value: T, codingPath: [CodingKey]) throws {
        if let special = try specialBSON(value) {
            content = .value(special)
        } else {
            try value.encode(to: BSONEncoderImpl(node: self, codingPath: codingPath))
        }
    }

    func appendKeyed(_ key: CodingKey, _ node: EncodingNode, codingPath: [CodingKey]) throws {
        do {
            try BSONDocument.validateDataKey(key.stringValue)
        } catch let error as BSONError {
            throw EncodingError.invalidValue(
                key.stringValue,
                .init(codingPath: codingPath + [key], debugDescription: error.description)
            )
        }
        if case .keyed(var elements) = content {
            content = .empty  // keeps the array uniquely referenced while it grows
            if let index = elements.firstIndex(where: { $0.key == key.stringValue }) {
                elements[index].node = node
            } else {
                elements.append((key: key.stringValue, node: node))
            }
            content = .keyed(elements)
        } else {
            content = .keyed([(key: key.stringValue, node: node)])
        }
    }

    func appendUnkeyed(_ node: EncodingNode) {
        if case .unkeyed(var nodes) = content {
            content = .empty
            nodes.append(node)
            content = .unkeyed(nodes)
        } else {
            content = .unkeyed([node])
        }
    }

    var unkeyedCount: Int {
        if case .unkeyed(let nodes) = content { return nodes.count }
        return 0
    }
}

private func specialBSON<T: Encodable>(_ value: T) throws -> BSONValue? {
    switch value {
    case let value as BSONValue: return value
    case let value as BSONDocument: return .document(value)
    case let value as ObjectId: return .objectId(value)
    case let value as Date: return BSONValue(value)
    case let value as Data: return .binary(subtype: 0, data: Array(value))
    case let value as UUID: return .binary(subtype: 4, data: withUnsafeBytes(of: value.uuid) { Array($0) })
    case let value as Int: return .int64(Int64(value))
    case let value as UInt64:
        guard let int = Int64(exactly: value) else { throw overflow(value) }
        return .int64(int)
    case let value as UInt:
        guard let int = Int64(exactly: value) else { throw overflow(value) }
        return .int64(int)
    default: return nil
    }
}

private func overflow<T>(_ value: T) -> EncodingError {
    EncodingError.invalidValue(value, .init(codingPath: [], debugDescription: "\(value) does not fit a BSON int64"))
}

struct BSONEncoderImpl: Encoder {
    let node: EncodingNode
    let codingPath: [CodingKey]
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func container<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedEncodingContainer<Key> {
        if case .keyed = node.content {} else { node.content = .keyed([]) }
        return KeyedEncodingContainer(KeyedBSONEncodingContainer<Key>(node: node, codingPath: codingPath))
    }

    func unkeyedContainer() -> UnkeyedEncodingContainer {
        if case .unkeyed = node.content {} else { node.content = .unkeyed([]) }
        return UnkeyedBSONEncodingContainer(node: node, codingPath: codingPath)
    }

    func singleValueContainer() -> SingleValueEncodingContainer {
        SingleValueBSONEncodingContainer(node: node, codingPath: codingPath)
    }
}

struct KeyedBSONEncodingContainer<Key: CodingKey>: KeyedEncodingContainerProtocol {
    let node: EncodingNode
    let codingPath: [CodingKey]

    private func put(_ value: BSONValue, _ key: Key) throws {
        try node.appendKeyed(key, EncodingNode(value), codingPath: codingPath)
    }

    mutating func encodeNil(forKey key: Key) throws { try put(.null, key) }
    mutating func encode(_ value: Bool, forKey key: Key) throws { try put(.bool(value), key) }
    mutating func encode(_ value: String, forKey key: Key) throws { try put(.string(value), key) }
    mutating func encode(_ value: Double, forKey key: Key) throws { try put(.double(value), key) }
    mutating func encode(_ value: Float, forKey key: Key) throws { try put(.double(Double(value)), key) }
    mutating func encode(_ value: Int, forKey key: Key) throws { try put(.int64(Int64(value)), key) }
    mutating func encode(_ value: Int8, forKey key: Key) throws { try put(.int32(Int32(value)), key) }
    mutating func encode(_ value: Int16, forKey key: Key) throws { try put(.int32(Int32(value)), key) }
    mutating func encode(_ value: Int32, forKey key: Key) throws { try put(.int32(value), key) }
    mutating func encode(_ value: Int64, forKey key: Key) throws { try put(.int64(value), key) }
    mutating func encode(_ value: UInt, forKey key: Key) throws { try put(try specialBSON(value)!, key) }
    mutating func encode(_ value: UInt8, forKey key: Key) throws { try put(.int32(Int32(value)), key) }
    mutating func encode(_ value: UInt16, forKey key: Key) throws { try put(.int32(Int32(value)), key) }
    mutating func encode(_ value: UInt32, forKey key: Key) throws { try put(.int64(Int64(value)), key) }
    mutating func encode(_ value: UInt64, forKey key: Key) throws { try put(try specialBSON(value)!, key) }

    mutating func encode<T: Encodable>(_ value: T, forKey key: Key) throws {
        let child = EncodingNode()
        try node.appendKeyed(key, child, codingPath: codingPath)
        try child.store(value, codingPath: codingPath + [key])
    }

    mutating func nestedContainer<NestedKey: CodingKey>(
        keyedBy keyType: NestedKey.Type,
        forKey key: Key
    ) -> KeyedEncodingContainer<NestedKey> {
        let child = EncodingNode()
        child.content = .keyed([])
        try? node.appendKeyed(key, child, codingPath: codingPath)
        return KeyedEncodingContainer(
            KeyedBSONEncodingContainer<NestedKey>(node: child, codingPath: codingPath + [key])
        )
    }

    mutating func nestedUnkeyedContainer(forKey key: Key) -> UnkeyedEncodingContainer {
        let child = EncodingNode()
        child.content = .unkeyed([])
        try? node.appendKeyed(key, child, codingPath: codingPath)
        return UnkeyedBSONEncodingContainer(node: child, codingPath: codingPath + [key])
    }

    mutating func superEncoder() -> Encoder { superEncoder(forKey: Key(stringValue: "super")!) }

    mutating func superEncoder(forKey key: Key) -> Encoder {
        let child = EncodingNode()
        try? node.appendKeyed(key, child, codingPath: codingPath)
        return BSONEncoderImpl(node: child, codingPath: codingPath + [key])
    }
}

struct UnkeyedBSONEncodingContainer: UnkeyedEncodingContainer {
    let node: EncodingNode
    let codingPath: [CodingKey]
    var count: Int { node.unkeyedCount }

    private var nextKey: CodingKey { IndexKey(intValue: count) }

    mutating func encodeNil() throws { node.appendUnkeyed(EncodingNode(.null)) }
    mutating func encode(_ value: Bool) throws { node.appendUnkeyed(EncodingNode(.bool(value))) }
    mutating func encode(_ value: String) throws { node.appendUnkeyed(EncodingNode(.string(value))) }
    mutating func encode(_ value: Double) throws { node.appendUnkeyed(EncodingNode(.double(value))) }
    mutating func encode(_ value: Int) throws { node.appendUnkeyed(EncodingNode(.int64(Int64(value)))) }
    mutating func encode(_ value: Int32) throws { node.appendUnkeyed(EncodingNode(.int32(value))) }
    mutating func encode(_ value: Int64) throws { node.appendUnkeyed(EncodingNode(.int64(value))) }
    mutating func encode(_ value: Float) throws { node.appendUnkeyed(EncodingNode(.double(Double(value)))) }
    mutating func encode(_ value: Int8) throws { node.appendUnkeyed(EncodingNode(.int32(Int32(value)))) }
    mutating func encode(_ value: Int16) throws { node.appendUnkeyed(EncodingNode(.int32(Int32(value)))) }
    mutating func encode(_ value: UInt8) throws { node.appendUnkeyed(EncodingNode(.int32(Int32(value)))) }
    mutating func encode(_ value: UInt16) throws { node.appendUnkeyed(EncodingNode(.int32(Int32(value)))) }
    mutating func encode(_ value: UInt32) throws { node.appendUnkeyed(EncodingNode(.int64(Int64(value)))) }
    mutating func encode(_ value: UInt) throws { node.appendUnkeyed(EncodingNode(try specialBSON(value)!)) }
    mutating func encode(_ value: UInt64) throws { node.appendUnkeyed(EncodingNode(try specialBSON(value)!)) }

    mutating func encode<T: Encodable>(_ value: T) throws {
        let child = EncodingNode()
        let key = nextKey
        node.appendUnkeyed(child)
        try child.store(value, codingPath: codingPath + [key])
    }

    mutating func nestedContainer<NestedKey: CodingKey>(
        keyedBy keyType: NestedKey.Type
    ) -> KeyedEncodingContainer<NestedKey> {
        let child = EncodingNode()
        child.content = .keyed([])
        let key = nextKey
        node.appendUnkeyed(child)
        return KeyedEncodingContainer(
            KeyedBSONEncodingContainer<NestedKey>(node: child, codingPath: codingPath + [key])
        )
    }

    mutating func nestedUnkeyedContainer() -> UnkeyedEncodingContainer {
        let child = EncodingNode()
        child.content = .unkeyed([])
        let key = nextKey
        node.appendUnkeyed(child)
        return UnkeyedBSONEncodingContainer(node: child, codingPath: codingPath + [key])
    }

    mutating func superEncoder() -> Encoder {
        let child = EncodingNode()
        let key = nextKey
        node.appendUnkeyed(child)
        return BSONEncoderImpl(node: child, codingPath: codingPath + [key])
    }
}

struct SingleValueBSONEncodingContainer: SingleValueEncodingContainer {
    let node: EncodingNode
    let codingPath: [CodingKey]

    mutating func encodeNil() throws { node.content = .value(.null) }
    mutating func encode(_ value: Bool) throws { node.content = .value(.bool(value)) }
    mutating func encode(_ value: String) throws { node.content = .value(.string(value)) }
    mutating func encode(_ value: Double) throws { node.content = .value(.double(value)) }
    mutating func encode(_ value: Float) throws { node.content = .value(.double(Double(value))) }
    mutating func encode(_ value: Int) throws { node.content = .value(.int64(Int64(value))) }
    mutating func encode(_ value: Int32) throws { node.content = .value(.int32(value)) }
    mutating func encode(_ value: Int64) throws { node.content = .value(.int64(value)) }
    mutating func encode(_ value: Int8) throws { node.content = .value(.int32(Int32(value))) }
    mutating func encode(_ value: Int16) throws { node.content = .value(.int32(Int32(value))) }
    mutating func encode(_ value: UInt8) throws { node.content = .value(.int32(Int32(value))) }
    mutating func encode(_ value: UInt16) throws { node.content = .value(.int32(Int32(value))) }
    mutating func encode(_ value: UInt32) throws { node.content = .value(.int64(Int64(value))) }
    mutating func encode(_ value: UInt) throws { node.content = .value(try specialBSON(value)!) }
    mutating func encode(_ value: UInt64) throws { node.content = .value(try specialBSON(value)!) }
    mutating func encode<T: Encodable>(_ value: T) throws { try node.store(value, codingPath: codingPath) }
}

/// The coding key of an array element.
struct IndexKey: CodingKey {
    let intValue: Int?
    let stringValue: String
    init(intValue: Int) {
        self.intValue = intValue
        self.stringValue = String(intValue)
    }
    init?(stringValue: String) {
        guard let int = Int(stringValue) else { return nil }
        self.init(intValue: int)
    }
}

extension BSONValue {
    /// The BSON type's name, for messages.
    public var typeName: String {
        switch self {
        case .double: return "double"
        case .string: return "string"
        case .document: return "document"
        case .array: return "array"
        case .binary: return "binary"
        case .objectId: return "objectId"
        case .bool: return "bool"
        case .date: return "date"
        case .null: return "null"
        case .regex: return "regex"
        case .int32: return "int32"
        case .int64: return "int64"
        case .decimal128: return "decimal128"
        case .timestamp: return "timestamp"
        case .minKey: return "minKey"
        case .maxKey: return "maxKey"
        }
    }
}
