/// A failure of the MongoDB client: configuration, connecting, a command the server refused, or a
/// document that could not be converted.
///
/// Carries libmongoc's error domain and code (with the server's code for server errors), the
/// server's error labels, and only the redacted address: never credentials.
public struct MongoError: Error, CustomStringConvertible, CustomDebugStringConvertible {
    /// What kind of operation failed. Opaque so that kinds can be added without breaking `switch`es.
    public struct Kind: Sendable, Hashable, CustomStringConvertible {
        private enum Base: String, Sendable, Hashable {
            case connection, server, configuration, invalidDocument, client
        }
        private let base: Base
        private init(_ base: Base) { self.base = base }

        /// The server could not be reached, selected, or the connection broke.
        public static let connection = Kind(.connection)
        /// The server answered with an error (duplicate key, bad update, write concern, ...).
        public static let server = Kind(.server)
        /// The configuration (for example its URL) is invalid.
        public static let configuration = Kind(.configuration)
        /// A document or reply could not be converted to or from BSON.
        public static let invalidDocument = Kind(.invalidDocument)
        /// libmongoc refused the call itself (invalid arguments, a transaction in the wrong state).
        public static let client = Kind(.client)

        public var description: String { base.rawValue }
    }

    public let kind: Kind
    /// libmongoc's error domain (`mongoc_error_domain_t`), 0 when the error did not come from it.
    public let domain: UInt32
    /// libmongoc's error code, or the server's (11000 for a duplicate key) for server errors.
    public let code: UInt32
    public let message: String
    /// The redacted address (`host:port,.../database`) of the deployment involved.
    public let address: String
    /// The server's error labels, such as `TransientTransactionError`.
    public let labels: [String]

    public init(
        kind: Kind,
        domain: UInt32 = 0,
        code: UInt32 = 0,
        message: String,
        address: String,
        labels: [String] = []
    ) {
        self.kind = kind
        self.domain = domain
        self.code = code
        self.message = message
        self.address = address
        self.labels = labels
    }

    /// Whether the same operation may succeed later: connection and server-selection failures,
    /// errors labelled `TransientTransactionError`, `RetryableWriteError` or
    /// `UnknownTransactionCommitResult`, and the server codes for elections, shutdowns, timeouts
    /// and write conflicts.
    public var isTransient: Bool {
        if kind == .connection { return true }
        if labels.contains(where: Self.transientLabels.contains) { return true }
        return kind == .server && Self.transientCodes.contains(code)
    }

    /// Whether a unique index refused the write (server codes 11000, 11001, 12582).
    public var isDuplicateKey: Bool {
        kind == .server && (code == 11000 || code == 11001 || code == 12582)
    }

    private static let transientLabels: Set<String> = [
        "TransientTransactionError", "RetryableWriteError", "UnknownTransactionCommitResult",
    ]

    private static let transientCodes: Set<UInt32> = [
        6,  // HostUnreachable
        7,  // HostNotFound
        89,  // NetworkTimeout
        91,  // ShutdownInProgress
        112,  // WriteConflict
        189,  // PrimarySteppedDown
        262,  // ExceededTimeLimit
        9001,  // SocketException
        10107,  // NotWritablePrimary
        11600,  // InterruptedAtShutdown
        11602,  // InterruptedDueToReplStateChange
        13435,  // NotPrimaryNoSecondaryOk
        13436,  // NotPrimaryOrSecondary
        50,  // MaxTimeMSExpired
        64,  // WriteConcernFailed
    ]

    public var description: String {
        let codeText = code == 0 ? "" : " (code \(code))"
        return "MongoDB \(kind) error\(codeText) at \(address): \(message)"
    }

    public var debugDescription: String {
        "MongoError(kind: \(kind), domain: \(domain), code: \(code), message: \(String(reflecting: message)), "
            + "address: \(String(reflecting: address)), labels: \(labels))"
    }
}
