/// A value of an AMQP field table (message headers, queue arguments).
public enum AMQPFieldValue: Sendable, Equatable {
    /// A UTF-8 long string (`S`).
    case string(String)
    /// A signed 64-bit integer (`l`); every integer kind read from the broker, 8 to 64 bits, arrives as one.
    case int(Int64)
    /// A boolean (`t`).
    case bool(Bool)
    /// A 64-bit float (`d`); 32-bit floats read from the broker are widened to one.
    case double(Double)
    /// A timestamp (`T`): seconds since the Unix epoch.
    case timestamp(UInt64)
    /// A nested field table (`F`).
    case table(AMQPTable)
    /// A field array (`A`).
    case array([AMQPFieldValue])
    /// A byte array (`x`).
    case bytes([UInt8])
    /// No value (`V`); also what a field of a kind this client does not read (a decimal) becomes, and a
    /// table or array nested deeper than ``maximumReadDepth``.
    case void

    /// The text of a string, or of a byte array decoded as UTF-8 (invalid bytes become U+FFFD); nil otherwise.
    public var string: String? {
        switch self {
        case .string(let value): return value
        case .bytes(let bytes): return String(decoding: bytes, as: UTF8.self)
        default: return nil
        }
    }

    /// The value of an integer, of a timestamp that fits in `Int64`, or of a string holding a
    /// decimal integer; nil otherwise.
    public var int: Int64? {
        switch self {
        case .int(let value): return value
        case .timestamp(let value): return Int64(exactly: value)
        case .string(let value): return Int64(value)
        default: return nil
        }
    }
}

/// A field table: message headers, or the arguments of a queue or exchange declaration.
public typealias AMQPTable = [String: AMQPFieldValue]
