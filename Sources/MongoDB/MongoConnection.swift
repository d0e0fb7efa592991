import BlockingIO
import CMongoc

/// One connection to a MongoDB deployment: a `mongoc_client_t`, whose calls block the calling thread.
///
/// Every operation uses write concern `majority` and read concern `majority` (inside a transaction,
/// the transaction's, which are the same). Owns its client alone; `close()` frees it. Not thread-safe:
/// use it from one thread at a time, as ``MongoClient`` does by running each body on a pool thread.
// @unchecked Sendable: the mongoc_client_t is mutable C state that libmongoc allows on any thread but
// only one at a time. Instances cross threads only through BlockingConnectionPool, which hands each
// to a single body at once and passes it on under a lock, so accesses never overlap and are ordered.
public final class MongoConnection: BlockingConnection, @unchecked Sendable {
    /// The mongoc_client_t; nil once closed.
    private(set) var client: OpaquePointer?
    /// Whether the server is nx-27017, once asked (see ``isNx27017()``).
    private var nx27017: Bool?
    /// The deployment this connection was opened to.
    public let configuration: MongoConfiguration
    var address: String { configuration.redactedAddress }

    /// The `wtimeout` of the client's write concern, for transactions too.
    let writeConcernTimeoutMilliseconds: Int64

    private init(client: OpaquePointer, configuration: MongoConfiguration, writeTimeout: Int64) {
        self.client = client
        self.configuration = configuration
        self.writeConcernTimeoutMilliseconds = writeTimeout
    }

    deinit {
        close()
    }

    /// Creates the client. libmongoc connects lazily: an unreachable server is reported by the first
    /// operation, after at most `serverSelectionTimeoutMilliseconds`.
    /// - Throws: ``MongoError`` of kind `.configuration` when libmongoc refuses the URL.
    public static func connect(_ configuration: MongoConfiguration) throws -> MongoConnection {
        _ = mongocInitialized
        let address = configuration.redactedAddress
        var error = bson_error_t()
        guard let uri = mongoc_uri_new_with_error(configuration.url, &error) else {
            let reason = MongoError(error, address: address).message
            throw MongoError(kind: .configuration, message: "invalid MongoDB URL: \(reason)", address: address)
        }
        defer { mongoc_uri_destroy(uri) }
        if !mongoc_uri_has_option(uri, MONGOC_URI_CONNECTTIMEOUTMS) {
            mongoc_uri_set_option_as_int32(uri, MONGOC_URI_CONNECTTIMEOUTMS, configuration.connectTimeoutMilliseconds)
        }
        if !mongoc_uri_has_option(uri, MONGOC_URI_SERVERSELECTIONTIMEOUTMS) {
            mongoc_uri_set_option_as_int32(
                uri,
                MONGOC_URI_SERVERSELECTIONTIMEOUTMS,
                configuration.serverSelectionTimeoutMilliseconds
            )
        }
        if !mongoc_uri_has_option(uri, MONGOC_URI_SOCKETTIMEOUTMS) {
            mongoc_uri_set_option_as_int32(uri, MONGOC_URI_SOCKETTIMEOUTMS, configuration.socketTimeoutMilliseconds)
        }
        if mongoc_uri_get_appname(uri) == nil {
            mongoc_uri_set_appname(uri, "workerfleet")
        }
        guard let client = mongoc_client_new_from_uri_with_error(uri, &error) else {
            throw MongoError(
                kind: .configuration,
                message: MongoError(error, address: address).message,
                address: address
            )
        }
        // Version 2: server errors carry the server's own code (11000 for a duplicate key).
        mongoc_client_set_error_api(client, 2)
        // wtimeoutMS from the URL, else the configured one.
        let writeTimeout =
            mongoc_uri_has_option(uri, MONGOC_URI_WTIMEOUTMS)
            ? Int64(mongoc_uri_get_option_as_int32(uri, MONGOC_URI_WTIMEOUTMS, 0))
            : configuration.writeConcernTimeoutMilliseconds
        withMajorityConcerns(writeTimeoutMilliseconds: writeTimeout) { write, read in
            mongoc_client_set_write_concern(client, write)
            mongoc_client_set_read_concern(client, read)
        }
        return MongoConnection(client: client, configuration: configuration, writeTimeout: writeTimeout)
    }

    /// False once closed. libmongoc reconnects a client by itself after a network error, so an open
    /// one stays usable: the operation that met the error fails, the next one reconnects.
    public var isUsable: Bool { client != nil }

    /// Frees the client. Idempotent; the connection is unusable afterwards.
    public func close() {
        guard let client else { return }
        self.client = nil
        mongoc_client_destroy(client)
    }

    /// A collection of the configured database.
    public func collection(_ name: String) -> MongoCollection {
        MongoCollection(connection: self, name: name)
    }

    /// Runs a command on the configured database and returns the server's reply.
    ///
    /// The command document is built in code: never from payload JSON.
    @discardableResult
    public func runCommand(_ command: BSONDocument, session: MongoSession? = nil) throws -> BSONDocument {
        let client = try liveClient()
        let commandHandle = try BSONHandle(command)
        let opts = try options(BSONDocument(), session: session)
        let reply = ReplyHandle()
        var error = bson_error_t()
        let ok = mongoc_client_command_with_opts(
            client,
            configuration.database,
            commandHandle.pointer,
            nil,
            opts.pointer,
            reply.pointer,
            &error
        )
        let document = reply.document
        guard ok else { throw MongoError(error, reply: document, address: address) }
        return document
    }

    /// Whether the server is nx-27017 (the local MongoDB stand-in), which implements some update
    /// forms differently from MongoDB (README, "Deviations"): its `buildInfo` reports
    /// `process: "nx_27017"`, which MongoDB's never does. Asked once per connection.
    public func isNx27017() throws -> Bool {
        if let nx27017 { return nx27017 }
        let reply = try runCommand(["buildInfo": 1])
        let answer = reply["process"]?.stringValue == "nx_27017"
        nx27017 = answer
        return answer
    }

    /// Checks that the server answers.
    public func ping() throws {
        try runCommand(["ping": 1])
    }

    /// Drops the configured database with all its collections.
    public func dropDatabase() throws {
        try runCommand(["dropDatabase": 1])
    }

    /// Runs `body` in a multi-document transaction on a new session: commits when it returns,
    /// aborts and rethrows when it throws.
    ///
    /// Pass the session to every operation of the body; operations without it run outside the
    /// transaction. The transaction uses read and write concern `majority`. Transactions need a replica
    /// set or a sharded cluster: a standalone mongod refuses the first operation (server code 20,
    /// IllegalOperation), which is thrown as it is. The body is not retried here:
    /// an error with ``MongoError/isTransient`` (label `TransientTransactionError`) means the whole
    /// body may be run again.
    /// - Throws: the body's error; ``MongoError`` when starting or committing fails.
    public func withTransaction<T>(_ body: (MongoSession) throws -> T) throws -> T {
        let session = try MongoSession(connection: self)
        defer { session.close() }
        try session.startTransaction()
        let value: T
        do {
            value = try body(session)
        } catch {
            session.abortTransaction()
            throw error
        }
        try session.commitTransaction()
        return value
    }

    // MARK: - Internal

    func liveClient() throws -> OpaquePointer {
        guard let client else {
            throw MongoError(kind: .client, message: "the connection is closed", address: address)
        }
        return client
    }

    /// The server-side time limit of the operation about to run, in milliseconds: the job's
    /// remaining time when the caller runs under a deadline, else the configured limit. At least 1,
    /// since 0 would mean none.
    var maxTimeMilliseconds: Int64 {
        guard let remaining = BlockingCallDeadline.remaining else { return configuration.maxTimeMilliseconds }
        let milliseconds =
            remaining.components.seconds * 1000 + remaining.components.attoseconds / 1_000_000_000_000_000
        return max(1, milliseconds)
    }

    /// The write concern of a write run under a job's deadline: `w: majority` with a `wtimeout` of
    /// the job's remaining time when that is shorter than the configured one. Nil without a deadline
    /// (the client's write concern applies) and inside a transaction, whose operations may not carry
    /// one (its commit is bounded by `maxCommitTimeMS` instead).
    func deadlineWriteConcern(session: MongoSession?) -> BSONDocument? {
        guard BlockingCallDeadline.current != nil, session?.isInTransaction != true else { return nil }
        // A configured 0 means no wtimeout: the deadline still bounds the wait.
        let configured = writeConcernTimeoutMilliseconds
        let timeout = configured > 0 ? min(maxTimeMilliseconds, configured) : maxTimeMilliseconds
        return ["w": "majority", "wtimeout": .int64(timeout)]
    }

    /// Operation options as a bson_t, with `maxTimeMS` (unless given) and the session's id appended.
    ///
    /// Every command accepts `maxTimeMS` (a generic command argument); nx-27017 accepts and ignores it.
    func options(_ document: BSONDocument, session: MongoSession?) throws -> BSONHandle {
        var document = document
        if document["maxTimeMS"] == nil {
            document.append("maxTimeMS", .int64(maxTimeMilliseconds))
        }
        let handle = try BSONHandle(document)
        if let session { try session.append(to: handle) }
        return handle
    }
}
