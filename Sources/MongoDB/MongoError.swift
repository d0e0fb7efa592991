import CMongoc

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

    /// What kind of operation failed.
    public let kind: Kind
    /// libmongoc's error domain (`mongoc_error_domain_t`), 0 when the error did not come from it.
    public let domain: UInt32
    /// libmongoc's error code, or the server's (11000 for a duplicate key) for server errors.
    public let code: UInt32
    /// What failed, in words: libmongoc's or the server's message, or this client's.
    public let message: String
    /// The redacted address (`host:port,.../database`) of the deployment involved.
    public let address: String
    /// The server's error labels, such as `TransientTransactionError`.
    public let labels: [String]

    /// An error of `kind` about the deployment at `address`, which must not hold credentials.
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

    /// Whether the same operation may succeed later: connection and server-selection failures
    /// (``Kind/connection``), errors carrying a label that means "retry" (`transientLabels`), and
    /// the server codes for elections, shutdowns, timeouts, interruptions and write conflicts
    /// (`transientCodes`). Everything else, such as a duplicate key, a bad update, validation or
    /// authorization, fails again on a retry.
    public var isTransient: Bool {
        if kind == .connection { return true }
        if labels.contains(where: Self.transientLabels.contains) { return true }
        return kind == .server && Self.serverCodeDomains.contains(domain) && Self.transientCodes.contains(code)
    }

    /// Whether a unique index refused the write (server codes 11000, 11001, 12582).
    public var isDuplicateKey: Bool {
        kind == .server && (code == 11000 || code == 11001 || code == 12582)
    }

    private static let transientLabels: Set<String> = [
        "TransientTransactionError",  // the whole transaction may be retried
        "RetryableWriteError",  // the server or libmongoc says this write may be retried
        "UnknownTransactionCommitResult",  // the commit may be retried
    ]

    /// Domains whose `code` is the server's own: with error API 2, server replies
    /// (`MONGOC_ERROR_SERVER`) and write concern errors (`MONGOC_ERROR_WRITE_CONCERN`); 0 for an
    /// error built without libmongoc. libmongoc's own codes in its other domains overlap the server's
    /// (`MONGOC_ERROR_COLLECTION_UPDATE_FAILED` is 24, the server's `LockTimeout`) and mean something else.
    private static let serverCodeDomains: Set<UInt32> = [
        0, MONGOC_ERROR_SERVER.rawValue, MONGOC_ERROR_WRITE_CONCERN.rawValue,
    ]

    private static let transientCodes: Set<UInt32> = [
        // Network, as relayed by a mongos or a replica set member (retryable writes spec).
        6,  // HostUnreachable
        7,  // HostNotFound
        89,  // NetworkTimeout
        9001,  // SocketException
        202,  // NetworkInterfaceExceededTimeLimit
        // Elections and shutdowns: "not writable primary" and "node is recovering" (SDAM spec).
        91,  // ShutdownInProgress
        189,  // PrimarySteppedDown
        10058,  // LegacyNotPrimary
        10107,  // NotWritablePrimary
        11600,  // InterruptedAtShutdown
        11602,  // InterruptedDueToReplStateChange
        13435,  // NotPrimaryNoSecondaryOk
        13436,  // NotPrimaryOrSecondary
        133,  // FailedToSatisfyReadPreference: no eligible member right now
        134,  // ReadConcernMajorityNotAvailableYet (retryable reads spec)
        // Timeouts: the job's deadline, maxTimeMS or wtimeout under load.
        50,  // MaxTimeMSExpired
        262,  // ExceededTimeLimit
        // wtimeout: the write is on the primary but not yet replicated. A retry is safe: the job's
        // key is recorded in the document with its effect, so a retry that finds it writes nothing.
        64,  // WriteConcernFailed
        // Concurrency and interruption: another writer, an operator's killOp, a sharded
        // collection's routing table moving, a cursor or plan killed under the query.
        24,  // LockTimeout (server's code; libmongoc's 24 in its collection domain is excluded above)
        43,  // CursorNotFound: the retry reads anew
        46,  // LockBusy
        112,  // WriteConflict
        150,  // StaleEpoch
        175,  // QueryPlanKilled
        11601,  // Interrupted
        13388,  // StaleConfig
        // Disk full: freed by an operator or by compaction, like PostgreSQL's disk_full.
        14031,  // OutOfDiskSpace
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
