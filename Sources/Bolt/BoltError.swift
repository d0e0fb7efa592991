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
        /// The client was shut down while the call waited for a connection (a worker draining):
        /// another worker can run the same call.
        public static let shutDown = Code("shut down")
    }

    /// What kind of failure.
    public let code: Code
    /// The server's message, or what went wrong.
    public let message: String
    /// The redacted `host:port` of the server, or empty when there is none (a bad URL).
    public let address: String
    /// For ``Code/server`` and ``Code/authentication``: the Neo4j status code such as
    /// `Neo.ClientError.Statement.SyntaxError` (FalkorDB sends bare names such as `SyntaxError`).
    public let serverCode: String?
    /// Set by ``BoltConnection/connect(_:eventLoopGroup:logger:)`` when the TCP connection was
    /// made and the server then dropped it before HELLO and LOGON completed: no request was sent,
    /// so the pool connects again. Not set for timeouts and refusals; set for a failed TLS
    /// handshake too, which then costs two retries that fail the same way.
    var droppedDuringHandshake = false

    /// An error of `code` about the server at `address`, which must not hold credentials.
    public init(code: Code, message: String, address: String, serverCode: String? = nil) {
        self.code = code
        self.message = message
        self.address = address
        self.serverCode = serverCode
    }

    /// Whether trying again later, on another connection, may succeed.
    ///
    /// - ``Code/connection`` (refused, reset or closed mid-request, timed out) and ``Code/shutDown``:
    ///   transient.
    /// - ``Code/server``: every `Neo.TransientError.*`, including `Transaction.Terminated` and
    ///   `Transaction.LockClientStopped`: the official drivers do not retry those because their
    ///   caller may have asked for the termination, but the fleet never terminates its own
    ///   transactions, so one was ended by an operator or the server (a database stopping, a leader
    ///   switch, the memory guard) and the job is still valid. Also the `Neo.ClientError` codes that
    ///   describe the cluster's state rather than the request (`transientClientCodes`). Every other
    ///   code is permanent: `Neo.ClientError.*` (the request is wrong), `Neo.DatabaseError.*` (the
    ///   database failed to serve it; the drivers do not retry either), and FalkorDB's bare codes
    ///   such as `SyntaxError`, which carry no transient classification.
    /// - ``Code/authentication``: permanent (wrong credentials), except a rate-limited or expired
    ///   authorization, which a new connection gets past.
    /// - ``Code/protocolViolation``, ``Code/configuration``, ``Code/usage``: permanent.
    public var isTransient: Bool {
        switch code {
        case .connection, .shutDown:
            return true
        case .server, .authentication:
            guard let serverCode else { return false }
            return serverCode.hasPrefix("Neo.TransientError.") || Self.transientClientCodes.contains(serverCode)
        default:
            return false
        }
    }

    /// `Neo.ClientError` codes that say "not here, not now" rather than "not this request".
    private static let transientClientCodes: Set<String> = [
        // A write reached a cluster member that is not (or no longer) the leader.
        "Neo.ClientError.Cluster.NotALeader",
        // A write reached a read-only database or member: after a leader switch, or maintenance.
        "Neo.ClientError.General.ForbiddenOnReadOnlyDatabase",
        // The server's transaction timeout (db.transaction.timeout) under load: a timeout, like
        // the job's own deadline.
        "Neo.ClientError.Transaction.TransactionTimedOut",
        "Neo.ClientError.Transaction.TransactionTimedOutClientConfiguration",
        // The drivers close the connection and retry on these: a new connection authenticates again.
        "Neo.ClientError.Security.AuthorizationExpired",
        "Neo.ClientError.Security.AuthenticationRateLimit",
    ]

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
