/// A reply from Redis.
///
/// Bulk strings are decoded as UTF-8; invalid bytes become U+FFFD, so this client is meant for text
/// values (it sends any `String` byte-exactly, including NUL and CR LF).
public enum RedisValue: Sendable, Equatable {
    /// A nil bulk string or nil array, such as `GET` of a missing key or a Lua `false`.
    case null
    /// A bulk string, decoded as UTF-8.
    case string(String)
    /// An integer reply, such as the result of `INCR` or `DEL`.
    case integer(Int64)
    /// An array reply, such as the result of `MGET` or `EXEC`.
    case array([RedisValue])
    /// A simple status reply, such as `OK` or `PONG`.
    case status(String)
    /// An error reply. ``RedisConnection/command(_:)`` throws a top-level error reply as
    /// ``RedisError``; this case appears only in pipeline results and inside arrays.
    case error(String)

    /// The text of a string or status reply, or the decimal text of an integer.
    public var string: String? {
        switch self {
        case .string(let text), .status(let text): text
        case .integer(let number): String(number)
        default: nil
        }
    }

    /// An integer reply, or a string reply that holds a decimal integer (such as `GET` of a counter).
    public var int: Int64? {
        switch self {
        case .integer(let number): number
        case .string(let text): Int64(text)
        default: nil
        }
    }

    /// The elements of an array reply.
    public var array: [RedisValue]? {
        if case .array(let elements) = self { return elements }
        return nil
    }

    /// Whether this is ``null``.
    public var isNull: Bool { self == .null }
}
