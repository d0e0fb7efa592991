/// A failure of the PostgreSQL client: connecting, running a statement, or reading configuration.
///
/// Carries the server's SQLSTATE when there is one, and only the redacted address: never a password.
public struct PostgresError: Error, CustomStringConvertible, CustomDebugStringConvertible {
    /// What kind of operation failed. Opaque so that kinds can be added without breaking `switch`es.
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        private enum Base: String, Sendable, Hashable {
            case connection, query, configuration, protocolViolation
        }
        private let base: Base
        private init(_ base: Base) { self.base = base }

        /// The server could not be reached or the connection was lost.
        public static let connection = Code(.connection)
        /// The server rejected a statement.
        public static let query = Code(.query)
        /// The configuration (for example its URL) is invalid.
        public static let configuration = Code(.configuration)
        /// The server answered something this client does not handle (for example COPY).
        public static let protocolViolation = Code(.protocolViolation)

        public var description: String { base.rawValue }
    }

    public let code: Code
    /// The five-character SQLSTATE, for example "23505"; nil when the error did not come from the server.
    public let sqlState: String?
    /// The server's primary message, or libpq's own message for client-side failures.
    public let message: String
    /// The redacted address (`host:port/database`) of the server involved.
    public let address: String

    public init(code: Code, sqlState: String? = nil, message: String, address: String) {
        self.code = code
        self.sqlState = sqlState
        self.message = message
        self.address = address
    }

    /// Whether retrying the same operation later, on a fresh connection, may succeed.
    ///
    /// True for connection failures and for the SQLSTATEs that mean "not now" rather than "never":
    /// class 08, serialization failure, deadlock, server shutdown or start-up, too many connections
    /// and lock not available. False for everything else, such as constraint violations or bad data.
    public var isTransient: Bool {
        if code == .connection { return true }
        guard let sqlState else { return false }
        if sqlState.hasPrefix("08") { return true }
        return Self.transientStates.contains(sqlState)
    }

    private static let transientStates: Set<String> = [
        "40001",  // serialization_failure
        "40P01",  // deadlock_detected
        "57P01",  // admin_shutdown
        "57P02",  // crash_shutdown
        "57P03",  // cannot_connect_now
        "53300",  // too_many_connections
        "55P03",  // lock_not_available
    ]

    public var description: String {
        let state = sqlState.map { " (SQLSTATE \($0))" } ?? ""
        return "PostgreSQL \(code) error\(state) at \(address): \(message)"
    }

    public var debugDescription: String {
        let state = sqlState.map { "\"\($0)\"" } ?? "nil"
        return
            "PostgresError(code: \(code), sqlState: \(state), message: \(String(reflecting: message)), address: \(String(reflecting: address)))"
    }
}
