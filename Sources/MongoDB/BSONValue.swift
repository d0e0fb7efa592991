import Foundation

/// One BSON value, of every type current MongoDB servers store. (The deprecated types undefined,
/// DBPointer, symbol and JavaScript code are refused when read.)
///
/// Building documents from `BSONValue`s keeps data and query operators apart: a `.string` is stored
/// as a string whatever it contains (`"$where"`, `"{\"$gt\": \"\"}"`), and only keys written in
/// code become operators. Never turn payload JSON into a filter or update document.
public enum BSONValue: Sendable, Equatable {
    /// A 64-bit binary floating point number.
    case double(Double)
    /// A UTF-8 string.
    case string(String)
    /// An embedded document.
    case document(BSONDocument)
    /// An array; on the wire, a document keyed `"0"`, `"1"`, ...
    case array([BSONValue])
    /// Binary data with its subtype (0 generic, 4 UUID, ...).
    case binary(subtype: UInt8, data: [UInt8])
    /// A 12-byte ObjectId, the usual `_id`.
    case objectId(ObjectId)
    /// A boolean.
    case bool(Bool)
    /// A UTC datetime, in milliseconds since 1970 (negative before).
    case date(Int64)
    /// BSON null, which ``BSONDecoder`` reads as `nil` for an optional.
    case null
    /// A regular expression: its pattern and its option letters, such as `i` for case-insensitive.
    case regex(pattern: String, options: String)
    /// A 32-bit integer.
    case int32(Int32)
    /// A 64-bit integer.
    case int64(Int64)
    /// An IEEE 754-2008 decimal128, kept as its 16 raw bytes (little-endian, as on the wire).
    case decimal128([UInt8])
    /// A MongoDB internal timestamp: seconds and an ordinal within the second.
    case timestamp(seconds: UInt32, increment: UInt32)
    /// The value that compares below every other BSON value.
    case minKey
    /// The value that compares above every other BSON value.
    case maxKey

    /// A BSON date for `date`, truncated to whole milliseconds (towards the past).
    public init(_ date: Date) {
        let milliseconds = date.timeIntervalSince1970 * 1000
        // Date counts from 2001 in a Double, so a date made from whole milliseconds comes back a hair
        // off them (-0.001 s reads as -0.0010000467 s): within that noise, take the whole millisecond.
        let nearest = milliseconds.rounded()
        let noise = 4 * 1000 * date.timeIntervalSinceReferenceDate.magnitude.ulp + 4 * milliseconds.magnitude.ulp
        self = .date(Int64((milliseconds - nearest).magnitude <= noise ? nearest : milliseconds.rounded(.down)))
    }

    /// The date of a `.date`; nil for other types.
    public var dateValue: Date? {
        guard case .date(let milliseconds) = self else { return nil }
        return Date(timeIntervalSince1970: TimeInterval(milliseconds) / 1000)
    }

    /// The string of a `.string`; nil for other types.
    public var stringValue: String? {
        guard case .string(let value) = self else { return nil }
        return value
    }

    /// The document of a `.document`; nil for other types.
    public var documentValue: BSONDocument? {
        guard case .document(let value) = self else { return nil }
        return value
    }

    /// The elements of an `.array`; nil for other types.
    public var arrayValue: [BSONValue]? {
        guard case .array(let value) = self else { return nil }
        return value
    }

    /// The ObjectId of an `.objectId`; nil for other types.
    public var objectIdValue: ObjectId? {
        guard case .objectId(let value) = self else { return nil }
        return value
    }

    /// The boolean of a `.bool`; nil for other types.
    public var boolValue: Bool? {
        guard case .bool(let value) = self else { return nil }
        return value
    }

    /// The value of an int32, an int64, or a double with no fractional part that fits.
    public var intValue: Int? {
        switch self {
        case .int32(let value): return Int(value)
        case .int64(let value): return Int(exactly: value)
        case .double(let value): return Int(exactly: value)
        default: return nil
        }
    }

    /// The value of a double, an int32 or an int64.
    public var doubleValue: Double? {
        switch self {
        case .double(let value): return value
        case .int32(let value): return Double(value)
        case .int64(let value): return Double(value)
        default: return nil
        }
    }

    /// The BSON type byte.
    var typeByte: UInt8 {
        switch self {
        case .double: return 0x01
        case .string: return 0x02
        case .document: return 0x03
        case .array: return 0x04
        case .binary: return 0x05
        case .objectId: return 0x07
        case .bool: return 0x08
        case .date: return 0x09
        case .null: return 0x0A
        case .regex: return 0x0B
        case .int32: return 0x10
        case .timestamp: return 0x11
        case .int64: return 0x12
        case .decimal128: return 0x13
        case .minKey: return 0xFF
        case .maxKey: return 0x7F
        }
    }
}

extension BSONValue: ExpressibleByStringLiteral, ExpressibleByIntegerLiteral, ExpressibleByFloatLiteral,
    ExpressibleByBooleanLiteral, ExpressibleByArrayLiteral, ExpressibleByDictionaryLiteral, ExpressibleByNilLiteral
{
    public init(stringLiteral value: String) { self = .string(value) }
    /// An int32 when it fits, else an int64, as the MongoDB shell does.
    public init(integerLiteral value: Int) {
        self = Int32(exactly: value).map(BSONValue.int32) ?? .int64(Int64(value))
    }
    public init(floatLiteral value: Double) { self = .double(value) }
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    public init(arrayLiteral elements: BSONValue...) { self = .array(elements) }
    public init(dictionaryLiteral elements: (String, BSONValue)...) {
        self = .document(BSONDocument(elements.map { (key: $0.0, value: $0.1) }))
    }
    public init(nilLiteral: ()) { self = .null }
}
