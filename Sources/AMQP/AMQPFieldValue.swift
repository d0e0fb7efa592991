/// A value of an AMQP field table (message headers, queue arguments).
public enum AMQPFieldValue: Sendable, Equatable {
    case string(String)
    case int(Int64)
    case bool(Bool)
    case double(Double)
    case timestamp(UInt64)
    case table(AMQPTable)
    case array([AMQPFieldValue])
    case bytes([UInt8])
    case void

    public var string: String? {
        switch self {
        case .string(let value): return value
        case .bytes(let bytes): return String(decoding: bytes, as: UTF8.self)
        default: return nil
        }
    }

    public var int: Int64? {
        switch self {
        case .int(let value): return value
        case .timestamp(let value): return Int64(exactly: value)
        case .string(let value): return Int64(value)
        default: return nil
        }
    }
}

public typealias AMQPTable = [String: AMQPFieldValue]
