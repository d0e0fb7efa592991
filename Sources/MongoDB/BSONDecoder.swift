import Foundation

/// Decodes `Decodable` values from BSON, the inverse of ``BSONEncoder``.
///
/// A missing key and BSON null both decode as `nil` for an optional. Integers accept int32, int64
/// and doubles without a fraction that fit the type; `Double` accepts any number; `Date` a BSON date,
/// ``ObjectId`` an ObjectId, `Data` any binary, `UUID` a 16-byte binary.
public struct BSONDecoder: Sendable {
    /// A decoder; it has no options.
    public init() {}

    /// Decodes a `T` from a document, such as one read by ``MongoCollection/find(_:options:session:)``.
    /// - Throws: `DecodingError` naming the coding path, when a value is missing or of another BSON type.
    public func decode<T: Decodable>(_ type: T.Type, from document: BSONDocument) throws -> T {
        try decode(type, fromValue: .document(document))
    }

    /// Decodes a `T` from any BSON value: a document, an array, or a single value.
    /// - Throws: `DecodingError` naming the coding path, when a value is missing or of another BSON type.
    public func decode<T: Decodable>(_ type: T.Type, fromValue value: BSONValue) throws -> T {
        try BSONDecoderImpl(value: value, codingPath: []).decodeAny(type)
    }
}

struct BSONDecoderImpl: Decoder {
    let value: BSONValue
    let codingPath: [CodingKey]
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func container<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> {
        guard case .document(let document) = value else { throw mismatch(BSONDocument.self, value, codingPath) }
        return KeyedDecodingContainer(KeyedBSONDecodingContainer<Key>(document: document, codingPath: codingPath))
    }

    func unkeyedContainer() throws -> UnkeyedDecodingContainer {
        guard case .array(let values) = value else { throw mismatch([BSONValue].self, value, codingPath) }
        return UnkeyedBSONDecodingContainer(values: values, codingPath: codingPath)
    }

    func singleValueContainer() throws -> SingleValueDecodingContainer {
        SingleValueBSONDecodingContainer(decoder: self)
    }

    /// Decodes BSON's special types directly, everything else through its `init(from:)`.
    func decodeAny<T: Decodable>(_ type: T.Type) throws -> T {
        switch type {
        case is BSONValue.Type: return value as! T
        case is BSONDocument.Type:
            guard case .document(let document) = value else { throw mismatch(type, value, codingPath) }
            return document as! T
        case is ObjectId.Type:
            guard case .objectId(let id) = value else { throw mismatch(type, value, codingPath) }
            return id as! T
        case is Date.Type:
            guard let date = value.dateValue else { throw mismatch(type, value, codingPath) }
            return date as! T
        case is Data.Type:
            guard case .binary(_, let data) = value else { throw mismatch(type, value, codingPath) }
            return Data(data) as! T
        case is UUID.Type:
            guard case .binary(_, let data) = value, data.count == 16 else { throw mismatch(type, value, codingPath) }
            let uuid = data.withUnsafeBytes { $0.loadUnaligned(as: uuid_t.self) }
            return UUID(uuid: uuid) as! T
        default:
            return try T(from: self)
        }
    }

    func decodeInteger<T: FixedWidthInteger>(_ type: T.Type) throws -> T {
        let result: T?
        switch value {
        case .int32(let int): result = T(exactly: int)
        case .int64(let int): result = T(exactly: int)
        case .double(let double): result = T(exactly: double)
        default: throw mismatch(type, value, codingPath)
        }
        guard let result else {
            throw DecodingError.dataCorrupted(
                .init(codingPath: codingPath, debugDescription: "\(value.extendedJSON) does not fit \(T.self)")
            )
        }
        return result
    }

    func decodeDouble() throws -> Double {
        guard let double = value.doubleValue else { throw mismatch(Double.self, value, codingPath) }
        return double
    }

    func decodeString() throws -> String {
        guard case .string(let string) = value else { throw mismatch(String.self, value, codingPath) }
        return string
    }

    func decodeBool() throws -> Bool {
        guard case .bool(let bool) = value else { throw mismatch(Bool.self, value, codingPath) }
        return bool
    }
}

private func mismatch(_ type: Any.Type, _ value: BSONValue, _ codingPath: [CodingKey]) -> DecodingError {
    DecodingError.typeMismatch(
        type,
        .init(codingPath: codingPath, debugDescription: "expected \(type), found BSON \(value.typeName)")
    )
}

struct KeyedBSONDecodingContainer<Key: CodingKey>: KeyedDecodingContainerProtocol {
    let codingPath: [CodingKey]
    private let values: [String: BSONValue]
    let allKeys: [Key]

    init(document: BSONDocument, codingPath: [CodingKey]) {
        var values: [String: BSONValue] = [:]
        for (key, value) in document.elements where values[key] == nil { values[key] = value }  // first wins
        self.values = values
        self.codingPath = codingPath
        self.allKeys = document.keys.compactMap(Key.init(stringValue:))
    }

    func contains(_ key: Key) -> Bool { values[key.stringValue] != nil }

    private func decoder(for key: Key) throws -> BSONDecoderImpl {
        guard let value = values[key.stringValue] else {
            throw DecodingError.keyNotFound(
                key,
                .init(codingPath: codingPath, debugDescription: "no field \(String(reflecting: key.stringValue))")
            )
        }
        return BSONDecoderImpl(value: value, codingPath: codingPath + [key])
    }

    func decodeNil(forKey key: Key) throws -> Bool { (values[key.stringValue] ?? .null) == .null }
    func decode(_ type: Bool.Type, forKey key: Key) throws -> Bool { try decoder(for: key).decodeBool() }
    func decode(_ type: String.Type, forKey key: Key) throws -> String { try decoder(for: key).decodeString() }
    func decode(_ type: Double.Type, forKey key: Key) throws -> Double { try decoder(for: key).decodeDouble() }
    func decode(_ type: Float.Type, forKey key: Key) throws -> Float { Float(try decoder(for: key).decodeDouble()) }
    func decode(_ type: Int.Type, forKey key: Key) throws -> Int { try decoder(for: key).decodeInteger(type) }
    func decode(_ type: Int8.Type, forKey key: Key) throws -> Int8 { try decoder(for: key).decodeInteger(type) }
    func decode(_ type: Int16.Type, forKey key: Key) throws -> Int16 { try decoder(for: key).decodeInteger(type) }
    func decode(_ type: Int32.Type, forKey key: Key) throws -> Int32 { try decoder(for: key).decodeInteger(type) }
    func decode(_ type: Int64.Type, forKey key: Key) throws -> Int64 { try decoder(for: key).decodeInteger(type) }
    func decode(_ type: UInt.Type, forKey key: Key) throws -> UInt { try decoder(for: key).decodeInteger(type) }
    func decode(_ type: UInt8.Type, forKey key: Key) throws -> UInt8 { try decoder(for: key).decodeInteger(type) }
    func decode(_ type: UInt16.Type, forKey key: Key) throws -> UInt16 { try decoder(for: key).decodeInteger(type) }
    func decode(_ type: UInt32.Type, forKey key: Key) throws -> UInt32 { try decoder(for: key).decodeInteger(type) }
    func decode(_ type: UInt64.Type, forKey key: Key) throws -> UInt64 { try decoder(for: key).decodeInteger(type) }
    func decode<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T { try decoder(for: key).decodeAny(type) }

    func nestedContainer<NestedKey: CodingKey>(
        keyedBy type: NestedKey.Type,
        forKey key: Key
    ) throws -> KeyedDecodingContainer<NestedKey> {
        try decoder(for: key).container(keyedBy: type)
    }

    func nestedUnkeyedContainer(forKey key: Key) throws -> UnkeyedDecodingContainer {
        try decoder(for: key).unkeyedContainer()
    }

    func superDecoder() throws -> Decoder {
        BSONDecoderImpl(value: values["super"] ?? .null, codingPath: codingPath)
    }

    func superDecoder(forKey key: Key) throws -> Decoder {
        BSONDecoderImpl(value: values[key.stringValue] ?? .null, codingPath: codingPath + [key])
    }
}

struct UnkeyedBSONDecodingContainer: UnkeyedDecodingContainer {
    let values: [BSONValue]
    let codingPath: [CodingKey]
    var currentIndex = 0
    var count: Int? { values.count }
    var isAtEnd: Bool { currentIndex >= values.count }

    init(values: [BSONValue], codingPath: [CodingKey]) {
        self.values = values
        self.codingPath = codingPath
    }

    private mutating func next() throws -> BSONDecoderImpl {
        guard !isAtEnd else {
            throw DecodingError.valueNotFound(
                BSONValue.self,
                .init(codingPath: codingPath + [IndexKey(intValue: currentIndex)], debugDescription: "array ended")
            )
        }
        defer { currentIndex += 1 }
        return BSONDecoderImpl(value: values[currentIndex], codingPath: codingPath + [IndexKey(intValue: currentIndex)])
    }

    mutating func decodeNil() throws -> Bool {
        guard !isAtEnd, values[currentIndex] == .null else { return false }
        currentIndex += 1
        return true
    }
    mutating func decode(_ type: Bool.Type) throws -> Bool { try next().decodeBool() }
    mutating func decode(_ type: String.Type) throws -> String { try next().decodeString() }
    mutating func decode(_ type: Double.Type) throws -> Double { try next().decodeDouble() }
    mutating func decode(_ type: Float.Type) throws -> Float { Float(try next().decodeDouble()) }
    mutating func decode(_ type: Int.Type) throws -> Int { try next().decodeInteger(type) }
    mutating func decode(_ type: Int8.Type) throws -> Int8 { try next().decodeInteger(type) }
    mutating func decode(_ type: Int16.Type) throws -> Int16 { try next().decodeInteger(type) }
    mutating func decode(_ type: Int32.Type) throws -> Int32 { try next().decodeInteger(type) }
    mutating func decode(_ type: Int64.Type) throws -> Int64 { try next().decodeInteger(type) }
    mutating func decode(_ type: UInt.Type) throws -> UInt { try next().decodeInteger(type) }
    mutating func decode(_ type: UInt8.Type) throws -> UInt8 { try next().decodeInteger(type) }
    mutating func decode(_ type: UInt16.Type) throws -> UInt16 { try next().decodeInteger(type) }
    mutating func decode(_ type: UInt32.Type) throws -> UInt32 { try next().decodeInteger(type) }
    mutating func decode(_ type: UInt64.Type) throws -> UInt64 { try next().decodeInteger(type) }
    mutating func decode<T: Decodable>(_ type: T.Type) throws -> T { try next().decodeAny(type) }

    mutating func nestedContainer<NestedKey: CodingKey>(
        keyedBy type: NestedKey.Type
    ) throws -> KeyedDecodingContainer<NestedKey> {
        try next().container(keyedBy: type)
    }
    mutating func nestedUnkeyedContainer() throws -> UnkeyedDecodingContainer { try next().unkeyedContainer() }
    mutating func superDecoder() throws -> Decoder { try next() }
}

struct SingleValueBSONDecodingContainer: SingleValueDecodingContainer {
    let decoder: BSONDecoderImpl
    var codingPath: [CodingKey] { decoder.codingPath }

    func decodeNil() -> Bool { decoder.value == .null }
    func decode(_ type: Bool.Type) throws -> Bool { try decoder.decodeBool() }
    func decode(_ type: String.Type) throws -> String { try decoder.decodeString() }
    func decode(_ type: Double.Type) throws -> Double { try decoder.decodeDouble() }
    func decode(_ type: Float.Type) throws -> Float { Float(try decoder.decodeDouble()) }
    func decode(_ type: Int.Type) throws -> Int { try decoder.decodeInteger(type) }
    func decode(_ type: Int8.Type) throws -> Int8 { try decoder.decodeInteger(type) }
    func decode(_ type: Int16.Type) throws -> Int16 { try decoder.decodeInteger(type) }
    func decode(_ type: Int32.Type) throws -> Int32 { try decoder.decodeInteger(type) }
    func decode(_ type: Int64.Type) throws -> Int64 { try decoder.decodeInteger(type) }
    func decode(_ type: UInt.Type) throws -> UInt { try decoder.decodeInteger(type) }
    func decode(_ type: UInt8.Type) throws -> UInt8 { try decoder.decodeInteger(type) }
    func decode(_ type: UInt16.Type) throws -> UInt16 { try decoder.decodeInteger(type) }
    func decode(_ type: UInt32.Type) throws -> UInt32 { try decoder.decodeInteger(type) }
    func decode(_ type: UInt64.Type) throws -> UInt64 { try decoder.decodeInteger(type) }
    func decode<T: Decodable>(_ type: T.Type) throws -> T { try decoder.decodeAny(type) }
}
