import CMongoc

/// A logical session (`mongoc_client_session_t`) of one connection, for transactions.
///
/// Made by ``MongoConnection/withTransaction(_:)``, which also frees it; valid only inside its body
/// and only with the connection that made it.
public final class MongoSession {
    /// The session; nil once closed.
    private var handle: OpaquePointer?
    private let connection: MongoConnection

    init(connection: MongoConnection) throws {
        let client = try connection.liveClient()
        var error = bson_error_t()
        guard let handle = mongoc_client_start_session(client, nil, &error) else {
            throw MongoError(error, address: connection.address)
        }
        self.handle = handle
        self.connection = connection
    }

    deinit {
        close()
    }

    /// Ends the session (aborting a transaction still open). Idempotent.
    func close() {
        guard let handle else { return }
        self.handle = nil
        mongoc_client_session_destroy(handle)
    }

    private func liveHandle() throws -> OpaquePointer {
        guard let handle else {
            throw MongoError(kind: .client, message: "the session has ended", address: connection.address)
        }
        return handle
    }

    /// Adds `sessionId` (and the transaction's fields) to an operation's options.
    func append(to options: BSONHandle) throws {
        var error = bson_error_t()
        guard mongoc_client_session_append(try liveHandle(), options.pointer, &error) else {
            throw MongoError(error, address: connection.address)
        }
    }

    func startTransaction() throws {
        let handle = try liveHandle()
        let options = mongoc_transaction_opts_new()
        defer { mongoc_transaction_opts_destroy(options) }
        withMajorityConcerns(writeTimeoutMilliseconds: connection.writeConcernTimeoutMilliseconds) { write, read in
            mongoc_transaction_opts_set_write_concern(options, write)
            mongoc_transaction_opts_set_read_concern(options, read)
        }
        // The commit may wait for the majority only as long as the job may (libmongoc: maxCommitTimeMS).
        mongoc_transaction_opts_set_max_commit_time_ms(options, connection.maxTimeMilliseconds)
        var error = bson_error_t()
        guard mongoc_client_session_start_transaction(handle, options, &error) else {
            throw MongoError(error, address: connection.address)
        }
    }

    func commitTransaction() throws {
        let handle = try liveHandle()
        let reply = ReplyHandle()
        var error = bson_error_t()
        guard mongoc_client_session_commit_transaction(handle, reply.pointer, &error) else {
            throw MongoError(error, reply: reply.document, address: connection.address)
        }
    }

    /// Whether a transaction is open: its operations must not carry a write concern of their own.
    var isInTransaction: Bool {
        guard let handle else { return false }
        return mongoc_client_session_in_transaction(handle)
    }

    /// Aborts the open transaction; a failure to abort is ignored (the server times the
    /// transaction out, and ending the session aborts it too).
    func abortTransaction() {
        guard let handle, mongoc_client_session_in_transaction(handle) else { return }
        var error = bson_error_t()
        _ = mongoc_client_session_abort_transaction(handle, &error)
    }
}
