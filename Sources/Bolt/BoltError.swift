/// A failure talking to a Bolt server: the connection, the server's FAILURE, the protocol, or the configuration.
///
/// Messages never contain credentials: the address is ``BoltConfiguration/redactedAddress``.
public struct BoltError: Error, CustomStringConvertible, CustomDebugStringConvertible {
    /// What kind of failure. Static members rather than an enum, so kinds can be added later.
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        public let description: String
        private init(_ description: String) { self.description = description }

        /// The connection could not be opened, broke, or timed out. The connection is discarded.
        public static let connection = Code("connection")
        /// The server answered FAILURE; ``BoltError/serverCode`` holds its code. The connection was
        /// reset and stays usable.
        public static let server = Code("server")
        /// The server refused the credentials (LOGON failed).
        public static let authentication = Code("authentication")
        /// The server broke the protocol (bad bytes, unexpected message, no common version).
        /// The connection is discarded.
        public static let protocolViolation = Code("protocol")
        /// The configuration (URL, arguments) is invalid; retrying cannot help.
        public static let configuration = Code("configuration")
        /// The API was misused: a transaction used after it ended or failed, a closed connection.
        public static let usage = Code("usage")
    }

    public let code: Code
    /// The server's message, or what went wrong.
    public let message: String
    /// The redacted `host:port` of the server, or empty when there is none (a bad URL).
    public let address: String
    /// For ``Code/server`` and ``Code/authentication``: the Neo4j status code such as
    /// `Neo.ClientError.Statement.SyntaxError` (FalkorDB sends bare names such as `SyntaxError`).
    public let serverCode: String?

    public init(code: Code, message: String, address: String, serverCode: String? = nil) {
        self.code = code
        self.message = message
        self.address = address
        self.serverCode = serverCode
    }

    /// Whether trying again later, on another connection, may succeed.
    ///
    /// Connection failures are transient, and server failures classified `Neo.TransientError.*`,
    /// except the two the official drivers also treat as final: a terminated transaction and a
    /// stopped lock client (the user asked for those).
    public var isTransient: Bool {
        switch code {
        case .connection:
            return true
        case .server:
            guard let serverCode, serverCode.hasPrefix("Neo.TransientError.") else { return false }
            return serverCode != "Neo.TransientError.Transaction.Terminated"
                && serverCode != "Neo.TransientError.Transaction.LockClientStopped"
        default:
            return false
        }
    }

    public var description: String {
        let server = serverCode.map { "\($0): " } ?? ""
        return address.isEmpty
            ? "Bolt \(code) error: \(server)\(message)" : "Bolt \(code) error at \(address): \(server)\(message)"
    }

    public var debugDescription: String {
        "BoltError(code: \(code), address: \"\(address)\", serverCode: \(serverCode.map { "\"\($0)\"" } ?? "nil"), "
            + "transient: \(isTransient), message: \"\(message)\")"
    }
}
