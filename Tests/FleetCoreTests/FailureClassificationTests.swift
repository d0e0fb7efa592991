import Bolt
import FleetCore
import FleetStoreKit
import MongoDB
import Postgres
import Redis
import Testing

/// Every store error the README's classification table lists, one case per row: whether
/// ``FailureClassifier`` retries it (transient) or dead-letters it at once (permanent), and the
/// reason it gives. The `why` column is the README's.
@Suite("Failure classification per store")
struct FailureClassificationTests {
    struct Row: Sendable, CustomTestStringConvertible {
        enum Store: String, Sendable {
            case postgres = "PostgreSQL"
            case redis = "Redis"
            case neo4j = "Neo4j (Bolt)"
            case mongodb = "MongoDB"
        }

        let store: Store
        /// The error as the README names it.
        let name: String
        let permanent: Bool
        let why: String
        let error: any Error
        let reason: String

        init(
            _ store: Store,
            _ name: String,
            _ permanent: Bool,
            _ why: String,
            _ error: any Error,
            reason: String? = nil
        ) {
            self.store = store
            self.name = name
            self.permanent = permanent
            self.why = why
            self.error = error
            let prefix = ["PostgreSQL": "postgres", "Redis": "redis", "Neo4j (Bolt)": "neo4j", "MongoDB": "mongodb"][
                store.rawValue
            ]!
            self.reason = reason ?? "\(prefix)_\(permanent ? "rejected" : "unavailable")"
        }

        var testDescription: String { "\(store.rawValue): \(name)" }
    }

    static let transient = false
    static let permanent = true

    static func pg(_ state: String) -> PostgresError {
        PostgresError(code: .query, sqlState: state, message: "m", address: "db:5432/fleet")
    }

    static func redis(_ message: String) -> RedisError {
        RedisError(code: .server, message: message, address: "cache:6379/0")
    }

    static func bolt(_ serverCode: String, _ code: BoltError.Code = .server) -> BoltError {
        BoltError(code: code, message: "m", address: "graph:7687", serverCode: serverCode)
    }

    static func mongo(_ code: UInt32, domain: UInt32 = 17) -> MongoError {
        MongoError(kind: .server, domain: domain, code: code, message: "m", address: "doc:27017/fleet")
    }

    static func mongo(label: String) -> MongoError {
        MongoError(kind: .server, domain: 17, code: 1, message: "m", address: "doc:27017/fleet", labels: [label])
    }

    static let rows: [Row] = [
        // MARK: PostgreSQL
        Row(
            .postgres,
            "connection refused or lost (no SQLSTATE)",
            transient,
            "the server is down, restarting or unreachable",
            PostgresError(code: .connection, message: "m", address: "db:5432/fleet")
        ),
        Row(
            .postgres,
            "08006 connection_failure (class 08)",
            transient,
            "the session broke; a fresh connection starts clean",
            pg("08006")
        ),
        Row(
            .postgres,
            "08P01 protocol_violation (class 08)",
            transient,
            "a session out of step; a fresh connection starts clean",
            pg("08P01")
        ),
        Row(
            .postgres,
            "40001 serialization_failure",
            transient,
            "a concurrent transaction won; the retry sees its result",
            pg("40001")
        ),
        Row(
            .postgres,
            "40P01 deadlock_detected",
            transient,
            "the server chose this transaction as the victim",
            pg("40P01")
        ),
        Row(
            .postgres,
            "40003 statement_completion_unknown",
            transient,
            "outcome unknown; the ledger row makes the retry skip if it committed",
            pg("40003")
        ),
        Row(.postgres, "55P03 lock_not_available", transient, "lock_timeout or NOWAIT under contention", pg("55P03")),
        Row(
            .postgres,
            "55006 object_in_use",
            transient,
            "another session (e.g. a migration) holds the object",
            pg("55006")
        ),
        Row(
            .postgres,
            "26000 invalid_sql_statement_name",
            transient,
            "prepared statement lost (DISCARD ALL, pooler, restart); prepared again on the retry",
            pg("26000")
        ),
        Row(
            .postgres,
            "0A000 feature_not_supported",
            transient,
            "\"cached plan must not change result type\" after a table change; prepared again on the retry",
            pg("0A000")
        ),
        Row(
            .postgres,
            "25006 read_only_sql_transaction",
            transient,
            "the connection reaches a standby after a failover or during maintenance",
            pg("25006")
        ),
        Row(
            .postgres,
            "25P03 idle_in_transaction_session_timeout",
            transient,
            "the server ended a stalled session",
            pg("25P03")
        ),
        Row(.postgres, "57014 query_canceled", transient, "statement_timeout or an operator's cancel", pg("57014")),
        Row(
            .postgres,
            "57P01 admin_shutdown",
            transient,
            "the server is shutting down (restart, failover)",
            pg("57P01")
        ),
        Row(.postgres, "57P02 crash_shutdown", transient, "another backend crashed; the server restarts", pg("57P02")),
        Row(.postgres, "57P03 cannot_connect_now", transient, "the server is starting up or in recovery", pg("57P03")),
        Row(
            .postgres,
            "57P04 database_dropped",
            transient,
            "as connecting to a missing database: an operator restores it; replay from the DLQ otherwise",
            pg("57P04")
        ),
        Row(
            .postgres,
            "57P05 idle_session_timeout",
            transient,
            "the server closed an idle pooled session",
            pg("57P05")
        ),
        Row(
            .postgres,
            "53000 insufficient_resources (class 53)",
            transient,
            "server resources, not the job",
            pg("53000")
        ),
        Row(
            .postgres,
            "53100 disk_full",
            transient,
            "space is freed by WAL archiving, vacuum or an operator",
            pg("53100")
        ),
        Row(
            .postgres,
            "53200 out_of_memory",
            transient,
            "memory (or the shared lock table) is freed as other work ends",
            pg("53200")
        ),
        Row(.postgres, "53300 too_many_connections", transient, "connection slots free up", pg("53300")),
        Row(
            .postgres,
            "53400 configuration_limit_exceeded",
            transient,
            "a server limit (e.g. temp_file_limit) hit under concurrent load",
            pg("53400")
        ),
        Row(.postgres, "58000 system_error", transient, "an OS-level failure on the server's machine", pg("58000")),
        Row(.postgres, "58030 io_error", transient, "an I/O error on the server's machine", pg("58030")),
        Row(.postgres, "72000 snapshot_too_old", transient, "a fresh snapshot works", pg("72000")),
        Row(
            .postgres,
            "23505 unique_violation",
            permanent,
            "the data conflicts; the same job conflicts again",
            pg("23505")
        ),
        Row(.postgres, "23503 foreign_key_violation", permanent, "a referenced row is missing", pg("23503")),
        Row(
            .postgres,
            "23514 check_violation",
            permanent,
            "the data breaks a CHECK (e.g. the ledger's key limits)",
            pg("23514")
        ),
        Row(.postgres, "22001 string_data_right_truncation", permanent, "a value too long for its column", pg("22001")),
        Row(.postgres, "22P02 invalid_text_representation", permanent, "a value of the wrong form", pg("22P02")),
        Row(
            .postgres,
            "22021 character_not_in_repertoire",
            permanent,
            "e.g. a NUL character, which text cannot hold",
            pg("22021")
        ),
        Row(.postgres, "42601 syntax_error", permanent, "a statement bug", pg("42601")),
        Row(
            .postgres,
            "42P01 undefined_table",
            permanent,
            "the schema is not migrated: run `fleet migrate`, then replay",
            pg("42P01")
        ),
        Row(
            .postgres,
            "42501 insufficient_privilege",
            permanent,
            "a grant is missing: fix it, then replay",
            pg("42501")
        ),
        Row(
            .postgres,
            "25P02 in_failed_sql_transaction",
            permanent,
            "a handler bug: it continued after an error",
            pg("25P02")
        ),
        Row(
            .postgres,
            "40002 transaction_integrity_constraint_violation",
            permanent,
            "a deferred constraint failed at commit",
            pg("40002")
        ),
        Row(
            .postgres,
            "54000 program_limit_exceeded",
            permanent,
            "the statement or value exceeds a hard limit",
            pg("54000")
        ),
        Row(.postgres, "58P01 undefined_file", permanent, "a file of the installation is missing", pg("58P01")),
        Row(
            .postgres,
            "XX000 internal_error",
            permanent,
            "a server bug; as Neo4j's DatabaseError, not retried",
            pg("XX000")
        ),
        Row(.postgres, "XX001 data_corrupted", permanent, "needs a repair, not a retry", pg("XX001")),
        Row(.postgres, "P0001 raise_exception", permanent, "a trigger or function refused the data", pg("P0001")),
        Row(
            .postgres,
            "a query error without SQLSTATE",
            permanent,
            "nothing says it would pass later",
            PostgresError(code: .query, message: "m", address: "db:5432/fleet")
        ),
        Row(
            .postgres,
            "protocol violation (e.g. COPY)",
            permanent,
            "the client cannot handle the reply",
            PostgresError(code: .protocolViolation, message: "m", address: "db:5432/fleet")
        ),
        Row(
            .postgres,
            "configuration",
            permanent,
            "an invalid URL",
            PostgresError(code: .configuration, message: "m", address: "")
        ),

        // MARK: Redis
        Row(
            .redis,
            "connection refused, reset or timed out",
            transient,
            "the server is down or unreachable",
            RedisError(code: .connection, message: "m", address: "cache:6379/0")
        ),
        Row(
            .redis,
            "LOADING",
            transient,
            "the dataset is loading after a restart",
            redis("LOADING Redis is loading the dataset in memory")
        ),
        Row(
            .redis,
            "BUSY",
            transient,
            "a script runs past its time limit until it ends or is killed",
            redis("BUSY Redis is busy running a script")
        ),
        Row(
            .redis,
            "TRYAGAIN",
            transient,
            "a multi-key command during resharding",
            redis("TRYAGAIN Multiple keys request during rehashing of slot")
        ),
        Row(
            .redis,
            "MASTERDOWN",
            transient,
            "a replica lost its master",
            redis("MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set to 'no'.")
        ),
        Row(
            .redis,
            "READONLY",
            transient,
            "a write reached a replica after a failover",
            redis("READONLY You can't write against a read only replica.")
        ),
        Row(
            .redis,
            "OOM",
            transient,
            "maxmemory reached; expiring keys free memory",
            redis("OOM command not allowed when used memory > 'maxmemory'.")
        ),
        Row(
            .redis,
            "CLUSTERDOWN",
            transient,
            "a slot has no serving node during a failover",
            redis("CLUSTERDOWN The cluster is down")
        ),
        Row(
            .redis,
            "NOREPLICAS",
            transient,
            "fewer replicas than min-replicas-to-write are connected",
            redis("NOREPLICAS Not enough good replicas to write.")
        ),
        Row(
            .redis,
            "MISCONF",
            transient,
            "writes stopped after a failed RDB save (disk)",
            redis("MISCONF Redis is configured to save RDB snapshots, but it's currently unable to persist to disk.")
        ),
        Row(
            .redis,
            "UNBLOCKED",
            transient,
            "the node changed role under a blocked client",
            redis("UNBLOCKED force unblock from blocking operation, instance state changed (master -> replica?)")
        ),
        Row(
            .redis,
            "ERR max number of clients reached",
            transient,
            "the server is at maxclients (the one `ERR` that means \"not now\")",
            redis("ERR max number of clients reached")
        ),
        Row(
            .redis,
            "the same during AUTH",
            transient,
            "as above, reported as \"AUTH failed: …\"",
            redis("AUTH failed: ERR max number of clients reached")
        ),
        Row(
            .redis,
            "ERR (e.g. unknown command, wrong arguments)",
            permanent,
            "a command bug",
            redis("ERR unknown command 'FOO'")
        ),
        Row(
            .redis,
            "WRONGTYPE",
            permanent,
            "the key holds another type",
            redis("WRONGTYPE Operation against a key holding the wrong kind of value")
        ),
        Row(
            .redis,
            "NOSCRIPT (after the client's reload)",
            permanent,
            "the client already reloads the script once",
            redis("NOSCRIPT No matching script.")
        ),
        Row(
            .redis,
            "NOTBUSY",
            permanent,
            "no script to kill: a usage error",
            redis("NOTBUSY No scripts in execution right now.")
        ),
        Row(.redis, "BUSYKEY", permanent, "the target key exists", redis("BUSYKEY Target key name already exists.")),
        Row(
            .redis,
            "MOVED",
            permanent,
            "a cluster this client does not route for: configuration",
            redis("MOVED 3999 127.0.0.1:6381")
        ),
        Row(
            .redis,
            "CROSSSLOT",
            permanent,
            "keys in different slots: a command bug",
            redis("CROSSSLOT Keys in request don't hash to the same slot")
        ),
        Row(
            .redis,
            "NOPERM",
            permanent,
            "an ACL forbids the command: fix the ACL, then replay",
            redis("NOPERM this user has no permissions to run the 'eval' command")
        ),
        Row(
            .redis,
            "AUTH failed: WRONGPASS",
            permanent,
            "wrong credentials: fix the configuration, then replay",
            redis("AUTH failed: WRONGPASS invalid username-password pair or user is disabled.")
        ),
        Row(
            .redis,
            "EXECABORT",
            permanent,
            "a queued command was invalid",
            redis("EXECABORT Transaction discarded because of previous errors.")
        ),
        Row(
            .redis,
            "unexpected reply",
            permanent,
            "the reply has the wrong shape",
            RedisError(code: .unexpectedReply, message: "m", address: "cache:6379/0")
        ),
        Row(
            .redis,
            "configuration",
            permanent,
            "an invalid URL or argument",
            RedisError(code: .configuration, message: "m", address: "")
        ),

        // MARK: Neo4j (Bolt)
        Row(
            .neo4j,
            "connection refused, reset or closed mid-request, timed out",
            transient,
            "the server is down, restarting or unreachable; the connection is replaced",
            BoltError(code: .connection, message: "the server closed the connection", address: "graph:7687")
        ),
        Row(
            .neo4j,
            "client shut down while waiting for a connection",
            transient,
            "this worker is draining; another runs the job",
            BoltError(code: .shutDown, message: "the client is shut down", address: "graph:7687"),
            reason: "shutting_down"
        ),
        Row(
            .neo4j,
            "Neo.TransientError.Transaction.DeadlockDetected",
            transient,
            "the server classifies it transient",
            bolt("Neo.TransientError.Transaction.DeadlockDetected")
        ),
        Row(
            .neo4j,
            "Neo.TransientError.Transaction.LockAcquisitionTimeout",
            transient,
            "lock contention",
            bolt("Neo.TransientError.Transaction.LockAcquisitionTimeout")
        ),
        Row(
            .neo4j,
            "Neo.TransientError.General.DatabaseUnavailable",
            transient,
            "the database is starting, stopping or switching",
            bolt("Neo.TransientError.General.DatabaseUnavailable")
        ),
        Row(
            .neo4j,
            "Neo.TransientError.General.MemoryPoolOutOfMemoryError",
            transient,
            "memory frees as other transactions end",
            bolt("Neo.TransientError.General.MemoryPoolOutOfMemoryError")
        ),
        Row(
            .neo4j,
            "Neo.TransientError.Transaction.Terminated",
            transient,
            "the fleet never terminates its own transactions: an operator or the server did; the job is still valid (drivers: not retried)",
            bolt("Neo.TransientError.Transaction.Terminated")
        ),
        Row(
            .neo4j,
            "Neo.TransientError.Transaction.LockClientStopped",
            transient,
            "as Terminated",
            bolt("Neo.TransientError.Transaction.LockClientStopped")
        ),
        Row(
            .neo4j,
            "Neo.ClientError.Cluster.NotALeader",
            transient,
            "a write reached a follower; leadership moves",
            bolt("Neo.ClientError.Cluster.NotALeader")
        ),
        Row(
            .neo4j,
            "Neo.ClientError.General.ForbiddenOnReadOnlyDatabase",
            transient,
            "a write reached a read-only member or database (leader switch, maintenance)",
            bolt("Neo.ClientError.General.ForbiddenOnReadOnlyDatabase")
        ),
        Row(
            .neo4j,
            "Neo.ClientError.Transaction.TransactionTimedOut",
            transient,
            "the server's transaction timeout under load, like the job's deadline",
            bolt("Neo.ClientError.Transaction.TransactionTimedOut")
        ),
        Row(
            .neo4j,
            "Neo.ClientError.Security.AuthorizationExpired",
            transient,
            "a new connection authenticates again (the drivers retry)",
            bolt("Neo.ClientError.Security.AuthorizationExpired")
        ),
        Row(
            .neo4j,
            "Neo.ClientError.Security.AuthenticationRateLimit (LOGON)",
            transient,
            "too many attempts; a later LOGON passes",
            bolt("Neo.ClientError.Security.AuthenticationRateLimit", .authentication)
        ),
        Row(
            .neo4j,
            "Neo.ClientError.Security.Unauthorized (LOGON)",
            permanent,
            "wrong credentials: fix the configuration, then replay",
            bolt("Neo.ClientError.Security.Unauthorized", .authentication)
        ),
        Row(
            .neo4j,
            "Neo.ClientError.Statement.SyntaxError",
            permanent,
            "a statement bug",
            bolt("Neo.ClientError.Statement.SyntaxError")
        ),
        Row(
            .neo4j,
            "Neo.ClientError.Schema.ConstraintValidationFailed",
            permanent,
            "the data breaks a constraint",
            bolt("Neo.ClientError.Schema.ConstraintValidationFailed")
        ),
        Row(
            .neo4j,
            "Neo.ClientError.Database.DatabaseNotFound",
            permanent,
            "the configured database does not exist",
            bolt("Neo.ClientError.Database.DatabaseNotFound")
        ),
        Row(
            .neo4j,
            "Neo.DatabaseError.*",
            permanent,
            "the database failed to serve the request; the drivers do not retry either",
            bolt("Neo.DatabaseError.General.UnknownError")
        ),
        Row(
            .neo4j,
            "FalkorDB bare code, e.g. SyntaxError",
            permanent,
            "codes outside `Neo.*` carry no transient classification",
            bolt("SyntaxError")
        ),
        Row(
            .neo4j,
            "FAILURE without a code",
            permanent,
            "nothing says it would pass later",
            BoltError(code: .server, message: "m", address: "graph:7687")
        ),
        Row(
            .neo4j,
            "protocol violation",
            permanent,
            "no common version, or bytes the client cannot read (the connection is closed)",
            BoltError(code: .protocolViolation, message: "m", address: "graph:7687")
        ),
        Row(
            .neo4j,
            "usage (transaction used after it failed)",
            permanent,
            "a handler bug",
            BoltError(code: .usage, message: "m", address: "graph:7687")
        ),
        Row(
            .neo4j,
            "configuration",
            permanent,
            "an invalid URL",
            BoltError(code: .configuration, message: "m", address: "")
        ),

        // MARK: MongoDB
        Row(
            .mongodb,
            "connection, server selection, network (libmongoc stream/protocol)",
            transient,
            "no reachable member right now",
            MongoError(kind: .connection, domain: 2, code: 4, message: "m", address: "doc:27017/fleet")
        ),
        Row(
            .mongodb,
            "label TransientTransactionError",
            transient,
            "the server says the transaction may be retried",
            mongo(label: "TransientTransactionError")
        ),
        Row(
            .mongodb,
            "label RetryableWriteError",
            transient,
            "the server says the write may be retried",
            mongo(label: "RetryableWriteError")
        ),
        Row(
            .mongodb,
            "label UnknownTransactionCommitResult",
            transient,
            "the commit may be retried",
            mongo(label: "UnknownTransactionCommitResult")
        ),
        Row(.mongodb, "6 HostUnreachable", transient, "network, relayed by a mongos or member", mongo(6)),
        Row(.mongodb, "7 HostNotFound", transient, "network, relayed", mongo(7)),
        Row(.mongodb, "89 NetworkTimeout", transient, "network, relayed", mongo(89)),
        Row(.mongodb, "9001 SocketException", transient, "network, relayed", mongo(9001)),
        Row(.mongodb, "202 NetworkInterfaceExceededTimeLimit", transient, "network, relayed", mongo(202)),
        Row(.mongodb, "91 ShutdownInProgress", transient, "a member is shutting down", mongo(91)),
        Row(.mongodb, "189 PrimarySteppedDown", transient, "an election", mongo(189)),
        Row(.mongodb, "10058 LegacyNotPrimary", transient, "not the primary (older servers)", mongo(10058)),
        Row(.mongodb, "10107 NotWritablePrimary", transient, "not the primary: an election", mongo(10107)),
        Row(.mongodb, "11600 InterruptedAtShutdown", transient, "a member is shutting down", mongo(11600)),
        Row(.mongodb, "11602 InterruptedDueToReplStateChange", transient, "an election", mongo(11602)),
        Row(.mongodb, "13435 NotPrimaryNoSecondaryOk", transient, "an election", mongo(13435)),
        Row(.mongodb, "13436 NotPrimaryOrSecondary", transient, "a member is recovering", mongo(13436)),
        Row(.mongodb, "133 FailedToSatisfyReadPreference", transient, "no eligible member right now", mongo(133)),
        Row(.mongodb, "134 ReadConcernMajorityNotAvailableYet", transient, "a member is catching up", mongo(134)),
        Row(.mongodb, "50 MaxTimeMSExpired", transient, "a timeout under load", mongo(50)),
        Row(.mongodb, "262 ExceededTimeLimit", transient, "a timeout under load", mongo(262)),
        Row(
            .mongodb,
            "64 WriteConcernFailed",
            transient,
            "wtimeout: replicated late; the job key in the document makes the retry a no-op",
            mongo(64, domain: 16)
        ),
        Row(.mongodb, "24 LockTimeout", transient, "lock contention", mongo(24)),
        Row(.mongodb, "46 LockBusy", transient, "lock contention", mongo(46)),
        Row(.mongodb, "112 WriteConflict", transient, "a concurrent writer won", mongo(112)),
        Row(
            .mongodb,
            "43 CursorNotFound",
            transient,
            "the cursor was killed (timeout, failover); the retry reads anew",
            mongo(43)
        ),
        Row(.mongodb, "175 QueryPlanKilled", transient, "the plan was killed under the query", mongo(175)),
        Row(.mongodb, "11601 Interrupted", transient, "an operator's killOp", mongo(11601)),
        Row(.mongodb, "150 StaleEpoch", transient, "sharding metadata moved", mongo(150)),
        Row(.mongodb, "13388 StaleConfig", transient, "sharding metadata moved", mongo(13388)),
        Row(.mongodb, "14031 OutOfDiskSpace", transient, "space is freed, like PostgreSQL's disk_full", mongo(14031)),
        Row(
            .mongodb,
            "11000 DuplicateKey",
            permanent,
            "the data conflicts (the handlers resolve expected ones themselves)",
            mongo(11000)
        ),
        Row(.mongodb, "2 BadValue", permanent, "a request bug", mongo(2)),
        Row(.mongodb, "9 FailedToParse", permanent, "a request bug", mongo(9)),
        Row(
            .mongodb,
            "121 DocumentValidationFailure",
            permanent,
            "the data breaks the collection's validator",
            mongo(121)
        ),
        Row(.mongodb, "13 Unauthorized", permanent, "a missing role: fix it, then replay", mongo(13)),
        Row(.mongodb, "20 IllegalOperation", permanent, "e.g. a transaction on a standalone server", mongo(20)),
        Row(
            .mongodb,
            "100 UnsatisfiableWriteConcern",
            permanent,
            "the write concern can never be met: configuration",
            mongo(100, domain: 16)
        ),
        Row(
            .mongodb,
            "libmongoc's own code 24 (collection domain)",
            permanent,
            "COLLECTION_UPDATE_FAILED, not the server's LockTimeout",
            mongo(24, domain: 12)
        ),
        Row(
            .mongodb,
            "client (libmongoc refused the call)",
            permanent,
            "invalid arguments or a transaction in the wrong state",
            MongoError(kind: .client, domain: 1, code: 7, message: "m", address: "doc:27017/fleet")
        ),
        Row(
            .mongodb,
            "invalid document",
            permanent,
            "a document that cannot be converted",
            MongoError(kind: .invalidDocument, message: "m", address: "doc:27017/fleet")
        ),
        Row(
            .mongodb,
            "configuration",
            permanent,
            "an invalid URL",
            MongoError(kind: .configuration, message: "m", address: "")
        ),
    ]

    @Test(arguments: rows)
    func classifies(_ row: Row) {
        let classification = FailureClassifier.stores.classify(row.error)
        #expect(classification.permanent == row.permanent)
        #expect(classification.reason == row.reason)
    }
}
