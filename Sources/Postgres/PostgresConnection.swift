import BlockingIO
import CLibPQ
import Foundation
import Logging

/// One connection to PostgreSQL through libpq, whose calls block the calling thread.
///
/// Owns its `PGconn` alone; `close()` frees it. Not thread-safe: use it from one thread at a time,
/// as ``PostgresClient`` does by running each body on a pool thread.
// @unchecked Sendable: the PGconn is mutable C state, and libpq allows a connection on any thread
// but only one at a time. Instances cross threads only through BlockingConnectionPool, which hands
// each to a single body at once and passes it on under a lock, so accesses never overlap and are
// ordered. Code that shares one outside the pool must give the same guarantee.
public final class PostgresConnection: BlockingConnection, @unchecked Sendable {
    /// The PGconn; nil once closed.
    private var handle: OpaquePointer?
    /// Set when libpq is left in a state we cannot use again, such as in the middle of a COPY.
    private var isBroken = false
    let address: String
    /// SQL text → name of its prepared statement on this session. Parsed and planned once per
    /// connection instead of once per call: handlers run the same few statements all day.
    private var preparedNames: [String: String] = [:]
    private var preparedCount = 0
    /// Statements beyond this many run unprepared, so ad-hoc SQL cannot grow the session forever.
    static let maximumPreparedStatements = 256

    /// Made once per connection: `PQgetCancel` copies what a cancel request needs.
    private let interrupter: PostgresInterrupter?

    private init(handle: OpaquePointer, address: String, interrupter: PostgresInterrupter?) {
        self.handle = handle
        self.address = address
        self.interrupter = interrupter
    }

    deinit {
        close()
    }

    /// Opens a connection, blocking for at most `connectTimeoutSeconds` per host.
    ///
    /// The session uses UTF-8, ISO dates and the UTC time zone, so that timestamps read back as `+00`,
    /// and the configuration's timeouts and libpq parameters.
    /// - Throws: ``PostgresError`` with code `.connection` and libpq's reason.
    public static func connect(_ configuration: PostgresConfiguration) throws -> PostgresConnection {
        let address = configuration.redactedAddress
        let parameters = configuration.libpqParameters
        // libpq finds the end of both arrays by a NULL entry.
        let keywords: [String?] = parameters.map(\.0) + [nil]
        let values: [String?] = parameters.map(\.1) + [nil]
        let connection = withCStringArray(keywords) { keywords in
            withCStringArray(values) { values in
                // expand_dbname 0: a database name is only a name, never a connection string.
                PQconnectdbParams(keywords, values, 0)
            }
        }
        guard let connection else {
            throw PostgresError(code: .connection, message: "libpq could not allocate a connection", address: address)
        }
        guard PQstatus(connection) == CONNECTION_OK else {
            let message = Self.clean(PQerrorMessage(connection)) ?? "connection failed"
            PQfinish(connection)
            throw PostgresError(code: .connection, message: message, address: address)
        }
        // Otherwise libpq prints notices (such as "table does not exist, skipping") to stderr.
        PQsetNoticeReceiver(
            connection,
            { _, result in
                guard let result else { return }
                let severity = field(result, DiagnosticField.severity) ?? "NOTICE"
                let message = field(result, DiagnosticField.primaryMessage) ?? "(no message)"
                let level: Logger.Level = severity == "WARNING" ? .warning : .debug
                noticeLogger.log(level: level, "PostgreSQL \(severity): \(message)")
            },
            nil
        )
        return PostgresConnection(handle: connection, address: address, interrupter: PostgresInterrupter(connection))
    }

    /// Stops this connection's statement in progress from another thread (see ``PostgresInterrupter``).
    public func makeInterrupter() -> (any BlockingCallInterrupter)? { interrupter }

    /// False once the connection is closed, lost, or left inside a transaction; the pool then replaces it.
    ///
    /// A lost connection is noticed by the first statement that fails on it, not before.
    public var isUsable: Bool {
        guard let handle, !isBroken else { return false }
        return PQstatus(handle) == CONNECTION_OK && PQtransactionStatus(handle) == PQTRANS_IDLE
    }

    /// Frees the libpq connection. Idempotent; the connection is unusable afterwards.
    public func close() {
        guard let handle else { return }
        self.handle = nil
        PQfinish(handle)
    }

    /// Runs one statement with bound parameters (`$1`, `$2`, ...) and returns its rows.
    ///
    /// Parameters go to the server separately from the SQL, as text whose type the server infers
    /// from the statement; cast (`$1::uuid`) where it cannot. nil binds SQL NULL.
    /// - Throws: ``PostgresError``: `.query` when the server rejects the statement, `.connection`
    ///   when the connection is lost (the statement may or may not have run).
    @discardableResult
    public func query(_ sql: String, _ parameters: [PostgresBindable?] = []) throws -> PostgresRows {
        let handle = try liveHandle()
        guard parameters.count <= 65535 else {
            throw PostgresError(
                code: .query,
                message: "\(parameters.count) parameters, but PostgreSQL takes at most 65535",
                address: address
            )
        }
        let texts = parameters.map { $0?.postgresText }
        // A statement prepared already was checked when it was: no scan of its text per call.
        let prepared = texts.isEmpty ? nil : preparedNames[sql]
        // A C string ends at NUL: the server would see a silently truncated statement or value.
        if prepared == nil, sql.utf8.contains(0) {
            throw PostgresError(code: .query, message: "the SQL text contains a NUL character", address: address)
        }
        if let position = texts.firstIndex(where: { $0?.utf8.contains(0) == true }) {
            throw PostgresError(
                code: .query,
                message: "parameter $\(position + 1) contains a NUL character, which PostgreSQL text cannot hold",
                address: address
            )
        }
        guard !texts.isEmpty, let name = try prepared ?? preparedName(of: sql, parameterCount: texts.count, on: handle)
        else {
            let result = withCStringArray(texts) { values in
                PQexecParams(handle, sql, Int32(texts.count), nil, values, nil, nil, 0)
            }
            return try consume(result)
        }
        let result = withCStringArray(texts) { values in
            PQexecPrepared(handle, name, Int32(texts.count), values, nil, nil, 0)
        }
        do {
            return try consume(result)
        } catch let error as PostgresError where Self.invalidatesPreparedStatement(error.sqlState) {
            preparedNames[sql] = nil  // prepared again on the next call
            throw error
        }
    }

    /// The name of `sql`'s prepared statement, preparing it on first use; nil when the cache is full.
    /// The server infers parameter types exactly as it does for an unprepared statement.
    private func preparedName(of sql: String, parameterCount: Int, on handle: OpaquePointer) throws -> String? {
        if let name = preparedNames[sql] { return name }
        guard preparedNames.count < Self.maximumPreparedStatements else { return nil }
        preparedCount += 1
        let name = "fleet_\(preparedCount)"
        try consume(PQprepare(handle, name, sql, Int32(parameterCount), nil))
        preparedNames[sql] = name
        return name
    }

    /// Errors after which a prepared statement must be prepared anew: it was dropped (26000, e.g. by
    /// DISCARD ALL) or its plan no longer fits a changed table (0A000, "cached plan must not change
    /// result type").
    static func invalidatesPreparedStatement(_ sqlState: String?) -> Bool {
        sqlState == "26000" || sqlState == "0A000"
    }

    /// Runs a script of several statements without parameters, for migrations.
    ///
    /// Unless the script has its own BEGIN/COMMIT, the server runs it as one transaction: a failing
    /// statement undoes the whole script.
    public func execute(script: String) throws {
        let handle = try liveHandle()
        if script.utf8.contains(0) {
            throw PostgresError(code: .query, message: "the script contains a NUL character", address: address)
        }
        try consume(PQexec(handle, script))
    }

    /// Runs `body` between BEGIN and COMMIT, and rolls back when it throws, rethrowing its error.
    ///
    /// - Throws: the body's error; ``PostgresError`` when BEGIN or COMMIT fails, when the connection
    ///   is already inside a transaction (no nesting), or when a statement failed inside the body and
    ///   the body caught that error: the server has then discarded the transaction, and returning
    ///   normally would pretend it committed.
    public func transaction<T>(_ body: (PostgresConnection) throws -> T) throws -> T {
        guard PQtransactionStatus(try liveHandle()) == PQTRANS_IDLE else {
            throw PostgresError(
                code: .query,
                message: "transaction() called inside an open transaction; nesting is not supported",
                address: address
            )
        }
        try query("BEGIN")
        let value: T
        do {
            value = try body(self)
        } catch {
            rollbackIfNeeded()
            throw error
        }
        if let handle, PQtransactionStatus(handle) == PQTRANS_INERROR {
            rollbackIfNeeded()
            throw PostgresError(
                code: .query,
                sqlState: "25P02",
                message: "transaction rolled back: a statement in it failed and the body carried on",
                address: address
            )
        }
        try query("COMMIT")
        return value
    }

    // MARK: - Private

    private func rollbackIfNeeded() {
        guard let handle, !isBroken, PQstatus(handle) == CONNECTION_OK,
            PQtransactionStatus(handle) != PQTRANS_IDLE
        else { return }
        // A failed ROLLBACK leaves the connection unusable, so the pool drops it: nothing more to do.
        _ = try? query("ROLLBACK")
    }

    func liveHandle() throws -> OpaquePointer {
        guard let handle, !isBroken, PQstatus(handle) == CONNECTION_OK else {
            let reason = handle == nil ? "the connection is closed" : "the connection is no longer usable"
            throw PostgresError(code: .connection, message: reason, address: address)
        }
        return handle
    }

    /// Turns a PGresult into rows or an error, and frees it.
    @discardableResult
    private func consume(_ result: OpaquePointer?) throws -> PostgresRows {
        guard let result else {
            // NULL: out of memory, or the command could not even be sent.
            isBroken = true
            throw PostgresError(
                code: .connection,
                message: handle.flatMap { Self.clean(PQerrorMessage($0)) } ?? "no result",
                address: address
            )
        }
        defer { PQclear(result) }
        let status = PQresultStatus(result)
        switch status {
        case PGRES_COMMAND_OK, PGRES_TUPLES_OK, PGRES_EMPTY_QUERY:
            return Self.rows(from: result)
        case PGRES_FATAL_ERROR, PGRES_NONFATAL_ERROR:
            let lost = handle.map { PQstatus($0) != CONNECTION_OK } ?? true
            let message =
                field(result, DiagnosticField.primaryMessage)
                ?? Self.clean(PQresultErrorMessage(result)) ?? "statement failed"
            throw PostgresError(
                code: lost ? .connection : .query,
                sqlState: field(result, DiagnosticField.sqlState),
                message: message,
                address: address
            )
        case PGRES_COPY_IN, PGRES_COPY_OUT, PGRES_COPY_BOTH:
            // libpq now waits for COPY data; rather than unwind that, retire the connection.
            isBroken = true
            throw PostgresError(code: .protocolViolation, message: "COPY is not supported", address: address)
        default:
            isBroken = true
            let name = String(cString: PQresStatus(status))
            throw PostgresError(code: .protocolViolation, message: "unexpected result status \(name)", address: address)
        }
    }

    private static func rows(from result: OpaquePointer) -> PostgresRows {
        let columnCount = PQnfields(result)
        let rowCount = PQntuples(result)
        let columns = (0..<columnCount).map { String(cString: PQfname(result, $0)) }
        var values: [String?] = []
        values.reserveCapacity(Int(rowCount) * Int(columnCount))
        for row in 0..<rowCount {
            for column in 0..<columnCount {
                if PQgetisnull(result, row, column) != 0 {
                    values.append(nil)
                } else {
                    let bytes = UnsafeRawBufferPointer(
                        start: PQgetvalue(result, row, column),
                        count: Int(PQgetlength(result, row, column))
                    )
                    values.append(String(decoding: bytes, as: UTF8.self))
                }
            }
        }
        let affected = Int(String(cString: PQcmdTuples(result))) ?? 0
        return PostgresRows(columns: columns, values: values, affectedRows: affected)
    }

    /// libpq's messages end in a newline and may span lines; error messages read better on one.
    static func clean(_ message: UnsafePointer<CChar>?) -> String? {
        guard let message else { return nil }
        let text = String(cString: message)
            .split(whereSeparator: \.isNewline)
            .map { $0.trimmingCharacters(in: .whitespaces) }
            .filter { !$0.isEmpty }
            .joined(separator: " ")
        return text.isEmpty ? nil : text
    }
}

private let noticeLogger = Logger(label: "workerfleet.postgres")

/// libpq's PG_DIAG_* codes, which are character-literal macros that Swift does not import.
private enum DiagnosticField {
    static let sqlState = Int32(UInt8(ascii: "C"))
    static let primaryMessage = Int32(UInt8(ascii: "M"))
    static let severity = Int32(UInt8(ascii: "V"))  // not localized
}

/// One diagnostic field of a result, such as its SQLSTATE.
private func field(_ result: OpaquePointer, _ code: Int32) -> String? {
    PQresultErrorField(result, code).map { String(cString: $0) }
}

/// Passes `strings` to `body` as C strings, nil as NULL; the pointers are valid during `body` only.
private func withCStringArray<R>(_ strings: [String?], _ body: ([UnsafePointer<CChar>?]) -> R) -> R {
    // One buffer for all strings: no allocation per string, nothing to free by hand.
    var buffer: [CChar] = []
    var offsets: [Int?] = []
    offsets.reserveCapacity(strings.count)
    for string in strings {
        guard let string else {
            offsets.append(nil)
            continue
        }
        offsets.append(buffer.count)
        buffer.append(contentsOf: string.utf8.map { CChar(bitPattern: $0) })
        buffer.append(0)
    }
    return buffer.withUnsafeBufferPointer { storage in
        body(offsets.map { offset in offset.map { storage.baseAddress! + $0 } })
    }
}
