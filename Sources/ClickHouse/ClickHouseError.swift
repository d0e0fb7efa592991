import Foundation

/// A failure talking to ClickHouse: the connection, the server's exception, or the configuration.
///
/// Messages never contain credentials: the address is ``ClickHouseConfiguration/redactedAddress``.
public struct ClickHouseError: Error, CustomStringConvertible, Sendable {
    public struct Kind: Sendable, Hashable, CustomStringConvertible {
        public let description: String
        private init(_ description: String) { self.description = description }

        /// The server could not be reached, the connection broke, or the request timed out.
        public static let connection = Kind("connection")
        /// The server answered with an exception (`Code: N, e.displayText() = ...`).
        public static let server = Kind("server")
        /// The URL or the arguments are invalid; retrying cannot help.
        public static let configuration = Kind("configuration")
        /// The answer does not have the shape the caller needed (or is too long).
        public static let unexpectedReply = Kind("unexpected reply")
    }

    public let kind: Kind
    /// ClickHouse's numeric exception code (62 for a syntax error, 60 for an unknown table...);
    /// nil when the server sent none.
    public let code: Int?
    /// The server's message (its `e.displayText()`), or what went wrong on this side.
    public let message: String
    /// The redacted `host:port/database` of the server.
    public let address: String
    /// The HTTP status of the answer, when there was one.
    public let httpStatus: Int?

    public init(kind: Kind, code: Int? = nil, message: String, address: String, httpStatus: Int? = nil) {
        self.kind = kind
        self.code = code
        self.message = message
        self.address = address
        self.httpStatus = httpStatus
    }

    /// Whether the same request may succeed later.
    ///
    /// Connection failures and timeouts are; server exceptions are only for the codes in
    /// ``transientCodes`` (overload, timeouts, a table being read-only for a while) and for HTTP
    /// 502/503/504 answers without a code (a proxy in front of the server). A syntax error (62),
    /// an unknown table (60) or column (47), or bad data (27, 117...) fails again on a retry.
    public var isTransient: Bool {
        switch kind {
        case .connection:
            return true
        case .server:
            if let code { return Self.transientCodes.keys.contains(code) }
            return [502, 503, 504].contains(httpStatus ?? 0)
        default:
            return false
        }
    }

    /// ClickHouse exception codes that describe a passing state of the server, with why.
    public static let transientCodes: [Int: String] = [
        159: "TIMEOUT_EXCEEDED: the query ran past max_execution_time",
        164: "READONLY: the user is read-only for now (a server in maintenance)",
        202: "TOO_MANY_SIMULTANEOUS_QUERIES: the server is at max_concurrent_queries",
        203: "NO_FREE_CONNECTION: a pool inside the server is exhausted",
        209: "SOCKET_TIMEOUT",
        210: "NETWORK_ERROR",
        241: "MEMORY_LIMIT_EXCEEDED: other queries hold the memory",
        242: "TABLE_IS_READ_ONLY: a replica lost its coordinator",
        252: "TOO_MANY_PARTS: merges lag behind inserts",
        319: "UNKNOWN_STATUS_OF_INSERT",
        394: "QUERY_WAS_CANCELLED",
    ]

    public var description: String {
        let code = code.map { "code \($0): " } ?? ""
        return "ClickHouse \(kind) error at \(address): \(code)\(message)"
    }

    /// `DB::Exception: Cannot parse input` of `DB::Exception: Cannot parse input: expected , before: <data>`:
    /// the exception's name without the details that may quote data.
    static func headline(_ message: String) -> String {
        let prefix = "DB::Exception: "
        let body = message.hasPrefix(prefix) ? message.dropFirst(prefix.count) : message[...]
        let head = body.prefix { $0 != ":" && $0 != "\n" && $0 != "(" }.prefix(120)
        return (message.hasPrefix(prefix) ? prefix : "") + head.trimmingCharacters(in: .whitespaces)
            + " (details withheld: they may quote row data)"
    }

    /// Parses an exception body, `Code: 62, e.displayText() = DB::Exception: Syntax error..., e.what() = DB::Exception`
    /// (18.16), or `Code: 62. DB::Exception: Syntax error... (SYNTAX_ERROR) (version ...)` (current servers).
    /// The header code, when the server sent `X-ClickHouse-Exception-Code`, wins.
    static func parseException(body: String, headerCode: Int?) -> (code: Int?, message: String) {
        var text = body.trimmingCharacters(in: .whitespacesAndNewlines)[...]
        var code = headerCode
        if text.hasPrefix("Code: ") {
            let digits = text.dropFirst(6).prefix { $0.isNumber }
            if code == nil { code = Int(digits) }
            text = text.dropFirst(6 + digits.count)
            if text.hasPrefix(",") || text.hasPrefix(".") { text = text.dropFirst() }
            text = text.drop { $0 == " " }
            if text.hasPrefix("e.displayText() = ") { text = text.dropFirst("e.displayText() = ".count) }
            if let what = text.range(of: ", e.what() = ", options: .backwards) { text = text[..<what.lowerBound] }
        }
        // Long messages (a syntax error lists every expected token) are cut: an error is a summary.
        let message = text.count > 500 ? String(text.prefix(500)) + "…" : String(text)
        return (code, message)
    }
}
