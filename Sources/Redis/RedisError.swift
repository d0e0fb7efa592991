/// A failure talking to Redis: the connection, the server's error reply, or the configuration.
///
/// Messages never contain credentials: the address is ``RedisConfiguration/redactedAddress``.
public struct RedisError: Error, CustomStringConvertible, CustomDebugStringConvertible {
    /// What kind of failure. Static members rather than an enum, so kinds can be added later.
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        public let description: String
        private init(_ description: String) { self.description = description }

        /// The connection could not be opened, broke, or timed out. The connection is discarded.
        public static let connection = Code("connection")
        /// The server answered with an error reply (`-ERR ...`); the connection stays usable.
        public static let server = Code("server")
        /// The configuration (URL, arguments) is invalid; retrying cannot help.
        public static let configuration = Code("configuration")
        /// The server's reply does not have the shape the caller needed.
        public static let unexpectedReply = Code("unexpected reply")
    }

    /// What kind of failure.
    public let code: Code
    /// For ``Code/server`` errors, the server's error text, starting with its prefix (`ERR`, `NOSCRIPT`...).
    public let message: String
    /// The redacted `host:port/db` of the server, or empty when there is none (a bad URL).
    public let address: String

    /// An error of `code` about the server at `address`, which must not hold a password.
    public init(code: Code, message: String, address: String) {
        self.code = code
        self.message = message
        self.address = address
    }

    /// Whether trying again later, on another connection, may succeed.
    ///
    /// Connection failures and timeouts are transient. Server errors are not, except those that
    /// describe a passing server state (see `transientServerPrefixes`) and the reply a server at
    /// its `maxclients` sends a new connection. Everything else (`ERR` syntax, `WRONGTYPE`,
    /// `NOPERM`, `NOSCRIPT` that survived the reload, `MOVED` from a cluster this client does not
    /// route for, `NOTBUSY`, `BUSYKEY`, `CROSSSLOT`, `EXECABORT`...) fails again on a retry.
    public var isTransient: Bool {
        switch code {
        case .connection:
            return true
        case .server:
            // RedisConnection reports a failed AUTH as "AUTH failed: <reply>": classify the reply.
            let reply =
                message.hasPrefix(Self.authFailedPrefix) ? message.dropFirst(Self.authFailedPrefix.count) : message[...]
            if reply.hasPrefix("ERR max number of clients reached") { return true }
            let prefix = reply.prefix { $0 != " " }
            return Self.transientServerPrefixes.contains(String(prefix))
        default:
            return false
        }
    }

    /// The server's error prefix, such as `ERR` or `NOSCRIPT`; nil unless the code is ``Code/server``.
    public var serverErrorPrefix: String? {
        code == .server ? String(message.prefix { $0 != " " }) : nil
    }

    private static let authFailedPrefix = "AUTH failed: "

    /// Error reply prefixes that mean "not now".
    private static let transientServerPrefixes: Set<String> = [
        "LOADING",  // the dataset is being loaded into memory after a restart
        "BUSY",  // a script or function runs past its time limit until it ends or is killed
        "TRYAGAIN",  // a multi-key command during cluster resharding
        "MASTERDOWN",  // a replica lost its master (replica-serve-stale-data no)
        "READONLY",  // a write reached a replica: after a failover, until the connection is replaced
        "OOM",  // maxmemory reached under noeviction: expiring keys and readers free memory
        "CLUSTERDOWN",  // a cluster slot has no serving node during a failover
        "NOREPLICAS",  // fewer replicas than min-replicas-to-write are connected
        "MISCONF",  // writes stopped because an RDB save failed (disk full or unwritable)
        "UNBLOCKED",  // a blocked client was released because the node changed role
    ]

    public var description: String {
        address.isEmpty ? "Redis \(code) error: \(message)" : "Redis \(code) error at \(address): \(message)"
    }

    public var debugDescription: String {
        "RedisError(code: \(code), address: \"\(address)\", transient: \(isTransient), message: \"\(message)\")"
    }
}
