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

    /// What kind of operation failed.
    public let code: Code
    /// The five-character SQLSTATE, for example "23505"; nil when the error did not come from the server.
    public let sqlState: String?
    /// The server's primary message, or libpq's own message for client-side failures.
    public let message: String
    /// The redacted address (`host:port/database`) of the server involved.
    public let address: String

    /// An error of `code` about the server at `address`, which must not hold a password.
    public init(code: Code, sqlState: String? = nil, message: String, address: String) {
        self.code = code
        self.sqlState = sqlState
        self.message = message
        self.address = address
    }

    /// Whether retrying the same operation later, on a fresh connection, may succeed.
    ///
    /// True for connection failures and for the SQLSTATEs that describe the server's passing state
    /// ("not now") rather than the statement or its data ("never"): whole classes 08 (connection),
    /// 53 (insufficient resources) and 57 (operator intervention), and the single states listed in
    /// `transientStates` with the reason for each. False for everything else, such as constraint
    /// violations, bad data, syntax, privileges or a corrupted table: those fail again on a retry.
    ///
    /// A job is idempotent in effect (its ledger row commits with it), so retrying an error that
    /// turns out to be permanent costs only time: it is dead-lettered after the retry schedule with
    /// its last error. Calling a transient error permanent dead-letters a valid job at once.
    public var isTransient: Bool {
        if code == .connection { return true }
        guard let sqlState, sqlState.utf8.count == 5 else { return false }
        return Self.transientClasses.contains(String(sqlState.prefix(2))) || Self.transientStates.contains(sqlState)
    }

    /// SQLSTATE classes whose every state is transient.
    private static let transientClasses: Set<String> = [
        // Connection exception: the session is gone or never started (08000, 08003, 08006, 08001,
        // 08004, 08007 transaction_resolution_unknown, 08P01 protocol_violation: a session out of
        // step; a fresh connection starts clean).
        "08",
        // Insufficient resources: 53000 insufficient_resources, 53100 disk_full (WAL archiving,
        // vacuum or an operator frees space), 53200 out_of_memory (also "out of shared memory"
        // from a full lock table), 53300 too_many_connections, 53400 configuration_limit_exceeded
        // (e.g. temp_file_limit under concurrent load). All describe the server's load, not the job.
        "53",
        // Operator intervention: 57000, 57014 query_canceled (statement_timeout or
        // pg_cancel_backend), 57P01 admin_shutdown, 57P02 crash_shutdown, 57P03 cannot_connect_now
        // (starting up, or recovery), 57P04 database_dropped (consistent with connecting to a
        // missing database, a transient connection error: a restore recreates it), 57P05
        // idle_session_timeout. Someone or something stopped the work, not the job's data.
        "57",
    ]

    /// Single transient SQLSTATEs outside those classes.
    private static let transientStates: Set<String> = [
        // The prepared statement is gone (DISCARD ALL, a pooler, a restart behind a proxy); the
        // connection forgets it and prepares it again on the retry.
        "26000",  // invalid_sql_statement_name
        // "cached plan must not change result type" after a table change; prepared again on the
        // retry. (The class also holds genuinely unsupported features, which the fleet's fixed,
        // tested statements do not use; such a bug would end in the DLQ after the retries.)
        "0A000",  // feature_not_supported
        // Writing through a connection that reaches a standby: after a failover, or while the
        // cluster is switched read-only for maintenance.
        "25006",  // read_only_sql_transaction
        // The server ended the session for idling inside a transaction (a stalled worker).
        "25P03",  // idle_in_transaction_session_timeout
        "40001",  // serialization_failure
        "40P01",  // deadlock_detected
        // The commit's outcome is unknown; safe to retry because the job's ledger row commits
        // with its effect: a retry of a job that did commit finds the row and skips.
        "40003",  // statement_completion_unknown
        "55P03",  // lock_not_available (lock_timeout, NOWAIT)
        // Another session uses the object (e.g. during a migration's DDL).
        "55006",  // object_in_use
        // OS-level failures (EIO, ENFILE, a full file table): the server's machine, not the job.
        // 58P01 undefined_file and 58P02 duplicate_file are an installation problem: permanent.
        "58000",  // system_error
        "58030",  // io_error
        // A long-running statement on a standby lost its snapshot; a fresh snapshot works.
        "72000",  // snapshot_too_old
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
