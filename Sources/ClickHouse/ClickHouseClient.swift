import BlockingIO
import Foundation
import NIOCore
import Synchronization

/// A ClickHouse client over the HTTP interface: statements, `INSERT … FORMAT JSONEachRow` and
/// `RowBinary` batches, and queries whose rows come back as `JSONEachRow`.
///
/// Requests go out on a bounded pool of blocking HTTP/1.1 keep-alive connections
/// (``ClickHouseConnection``), each used on a thread of the pool (or on the job's own
/// ``BlockingExecutor`` thread), never on Swift's cooperative threads. The pool is made on the first
/// request (a process that never queries ClickHouse starts no thread) and shut down by
/// ``shutdown()``; a later request makes a new one.
///
/// Each request's time limit is the sooner of ``ClickHouseConfiguration/requestTimeout`` and the end of
/// the current job's deadline (``BlockingCallDeadline``), so a flush never outlives the job waiting on it.
/// Cancelling the caller shuts the request's socket down.
public final class ClickHouseClient: Sendable {
    public let configuration: ClickHouseConfiguration
    /// nil until the first request, and again after ``shutdown()``.
    private let connections = Mutex<BlockingConnectionPool<ClickHouseConnection>?>(nil)
    private let authorization: String?
    /// Call latency and errors; the pool's size is not counted here.
    private let metrics = StoreCallMetrics(store: "clickhouse", pooled: false) {
        ($0 as? ClickHouseError)?.isTransient
    }

    public init(configuration: ClickHouseConfiguration) {
        self.configuration = configuration
        if let user = configuration.user {
            let pair = "\(user):\(configuration.password ?? "")"
            self.authorization = "Basic " + Data(pair.utf8).base64EncodedString()
        } else {
            self.authorization = nil
        }
    }

    /// Closes the connections and stops the pool's threads. Call after the last request; a later
    /// request opens new ones.
    public func shutdown() async throws {
        let pool = connections.withLock { pool in
            defer { pool = nil }
            return pool
        }
        await pool?.shutdown()
    }

    private func pool() -> BlockingConnectionPool<ClickHouseConnection> {
        connections.withLock { pool in
            if let pool { return pool }
            let configuration = configuration
            let made = BlockingConnectionPool(maxConnections: configuration.maxConnections) {
                try ClickHouseConnection.connect(
                    host: configuration.host,
                    port: configuration.port,
                    timeout: configuration.connectTimeout,
                    address: configuration.redactedAddress
                )
            }
            pool = made
            return made
        }
    }

    /// Runs a statement that returns no rows (DDL, `OPTIMIZE`, `ALTER … DELETE`...).
    public func execute(_ sql: String) async throws(ClickHouseError) {
        _ = try await send(body: Array(sql.utf8), query: nil)
    }

    /// Inserts `rows` with one `INSERT INTO table FORMAT JSONEachRow` request: one JSON object a line.
    /// Nothing is sent for no rows. `table` is a bare identifier (letters, digits, `_`).
    public func insert<Row: Encodable>(table: String, rows: [Row]) async throws(ClickHouseError) {
        guard !rows.isEmpty else { return }
        try checkIdentifier(table)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.withoutEscapingSlashes]
        var body = Array("INSERT INTO \(table) FORMAT JSONEachRow\n".utf8)
        do {
            for row in rows {
                body += try encoder.encode(row)
                body.append(UInt8(ascii: "\n"))
            }
        } catch {
            throw ClickHouseError(
                kind: .configuration,
                message: "a row could not be encoded as JSON: \(error)",
                address: configuration.redactedAddress
            )
        }
        _ = try await send(body: body, query: nil, redactsRows: true)
    }

    /// Inserts the rows of `rows` with one request; nothing is sent for no rows. A body that ends
    /// inside a row, or a table or column that is not a bare identifier, is refused unsent.
    public func insert(_ rows: RowBinaryWriter) async throws(ClickHouseError) {
        guard rows.rowCount > 0 else { return }
        try checkIdentifier(rows.table)
        for column in rows.columns { try checkIdentifier(column) }
        guard rows.endsOnARow else {
            throw ClickHouseError(
                kind: .configuration,
                message: "the RowBinary body of \(rows.table) ends inside a row",
                address: configuration.redactedAddress
            )
        }
        guard let statement = rows.statement.addingPercentEncoding(withAllowedCharacters: Self.unreserved) else {
            throw ClickHouseError(
                kind: .configuration,
                message: "the statement of \(rows.table) could not be put in a URL",
                address: configuration.redactedAddress
            )
        }
        _ = try await send(body: rows.body, query: "query=\(statement)", redactsRows: true)
    }

    /// The characters a URL's query value carries as they are (RFC 3986's unreserved ones).
    private static let unreserved = CharacterSet(
        charactersIn: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~"
    )

    /// Runs a `SELECT` and decodes each row of its `FORMAT JSONEachRow` answer as a `Row`. The format
    /// clause is added here; `sql` must not have one. 64-bit integers come back as JSON numbers.
    ///
    /// Values from outside go into `sql` only through ``ClickHouseLiteral``.
    public func query<Row: Decodable>(
        _ sql: String,
        as type: Row.Type = Row.self
    ) async throws(ClickHouseError)
        -> [Row]
    {
        let answer = try await send(
            body: Array((sql + "\nFORMAT JSONEachRow").utf8),
            query: "output_format_json_quote_64bit_integers=0"
        )
        let decoder = JSONDecoder()
        var rows: [Row] = []
        for line in answer.readableBytesView.split(separator: UInt8(ascii: "\n")) where !line.isEmpty {
            do {
                rows.append(try decoder.decode(Row.self, from: Data(line)))
            } catch {
                throw ClickHouseError(
                    kind: .unexpectedReply,
                    message: "a row did not decode as \(Row.self): \(error)",
                    address: configuration.redactedAddress
                )
            }
        }
        return rows
    }

    /// The single number a `SELECT count() …` (or any one-value query) returns.
    public func count(_ sql: String) async throws(ClickHouseError) -> Int {
        struct Value: Decodable {
            let value: Int
            init(from decoder: any Decoder) throws {
                let container = try decoder.singleValueContainer()
                let object = try container.decode([String: Int].self)
                guard object.count == 1, let value = object.values.first else {
                    throw DecodingError.dataCorruptedError(in: container, debugDescription: "expected one column")
                }
                self.value = value
            }
        }
        let rows = try await query(sql, as: Value.self)
        guard rows.count == 1 else {
            throw ClickHouseError(
                kind: .unexpectedReply,
                message: "expected one row, got \(rows.count)",
                address: configuration.redactedAddress
            )
        }
        return rows[0].value
    }

    // MARK: - Raw text

    /// Runs `statement` with `data` following it on the next line, sent as bytes (never as a Swift
    /// string, so rows of any bytes arrive unchanged): `INSERT INTO t FORMAT TabSeparated` and its rows.
    /// An exception keeps only its headline, as for ``insert(table:rows:)``.
    public func execute(_ statement: String, data: [UInt8]) async throws(ClickHouseError) {
        var body = Array((statement + "\n").utf8)
        body += data
        _ = try await send(body: body, query: nil, redactsRows: true)
    }

    /// Runs a query that names its own `FORMAT` and hands the answer's bytes to `body` as they arrive,
    /// so an answer of any size never sits in memory whole (``ClickHouseConfiguration/maxResponseBytes``
    /// does not apply). `body` runs on the connection's thread, where it may block (write a file); an
    /// error it throws ends the request and comes out of this call unchanged.
    ///
    /// `wait_end_of_query=1`: the server finishes the query (buffering the answer in its own temporary
    /// files) before it sends the status, so a query that fails halfway is an error here, not an
    /// answer that stops early with the exception's text appended as if it were data. The request's
    /// time limit covers the query up to that status; after it, the answer may take as long as it
    /// needs, but never stalls for longer than ``ClickHouseConfiguration/requestTimeout``.
    public func stream(
        _ sql: String,
        into body: @escaping @Sendable (ByteBuffer) throws -> Void
    ) async throws {
        let failure = AnswerCollector(limit: 1 << 20, truncates: true)
        let head = try await request(
            body: Array(sql.utf8),
            query: "wait_end_of_query=1",
            streaming: true
        ) { head, chunk in
            if head.status == 200 {
                try body(ByteBuffer(bytes: chunk))
            } else {
                try failure.add(chunk)
            }
        }
        try check(head, answer: failure, redactsRows: false)
    }

    // MARK: - HTTP

    /// - Parameter redactsRows: an insert's exception keeps only its headline: a parse error quotes
    ///   the row it failed on, and rows may hold personal data (IP addresses, user agents).
    private func send(
        body: [UInt8],
        query extra: String?,
        redactsRows: Bool = false
    ) async throws(ClickHouseError) -> ByteBuffer {
        // An exception's text is short; more than 1 MiB is not one.
        let answer = AnswerCollector(limit: configuration.maxResponseBytes)
        let failure = AnswerCollector(limit: 1 << 20, truncates: true)
        let limit = configuration.maxResponseBytes
        let address = configuration.redactedAddress
        let head: HTTPResponseHead
        do {
            head = try await request(body: body, query: extra, streaming: false) { head, chunk in
                guard head.status == 200 else { return try failure.add(chunk) }
                do {
                    try answer.add(chunk)
                } catch {
                    throw ClickHouseError(
                        kind: .unexpectedReply,
                        message: "the answer is longer than \(limit) bytes",
                        address: address
                    )
                }
            }
        } catch let error as ClickHouseError {
            throw error
        } catch {
            throw ClickHouseError(kind: .connection, message: "\(error)", address: address)
        }
        try check(head, answer: failure, redactsRows: redactsRows)
        return answer.buffer
    }

    /// Throws the server's exception when `head` is not 200 OK; `answer` holds its text.
    private func check(_ head: HTTPResponseHead, answer: AnswerCollector, redactsRows: Bool) throws(ClickHouseError) {
        guard head.status != 200 else { return }
        let headerCode = head.header("X-ClickHouse-Exception-Code").flatMap { Int($0) }
        let text = String(buffer: answer.buffer)
        let (code, parsed) = ClickHouseError.parseException(body: text, headerCode: headerCode)
        let message = redactsRows ? ClickHouseError.headline(parsed) : parsed
        throw ClickHouseError(
            kind: .server,
            code: code,
            message: message.isEmpty ? "HTTP \(head.status)" : message,
            address: configuration.redactedAddress,
            httpStatus: head.status
        )
    }

    /// Sends one request on a pooled connection and hands its answer's pieces to `sink` on the
    /// connection's thread. A connection the server closed while it was idle is set aside before
    /// anything is written to it, and the request goes out on another.
    private func request(
        body: [UInt8],
        query extra: String?,
        streaming: Bool,
        into sink: @escaping @Sendable (HTTPResponseHead, [UInt8]) throws -> Void
    ) async throws -> HTTPResponseHead {
        let call = metrics.begin()
        do {
            let head = try await exchange(body: body, query: extra, streaming: streaming, into: sink)
            metrics.end(call, error: nil)
            return head
        } catch {
            metrics.end(call, error: error)
            throw error
        }
    }

    private struct StaleConnection: Error {}

    private func exchange(
        body: [UInt8],
        query extra: String?,
        streaming: Bool,
        into sink: @escaping @Sendable (HTTPResponseHead, [UInt8]) throws -> Void
    ) async throws -> HTTPResponseHead {
        let requestHead = requestHead(query: extra, length: body.count)
        let deadline = ContinuousClock.now + timeLimit()
        let bodyIdle = streaming ? configuration.requestTimeout : nil
        let maxIdle = configuration.maxIdle
        let address = configuration.redactedAddress
        // Each stale connection is retired, so at most every pooled one is tried before a fresh one.
        for _ in 0...configuration.maxConnections {
            do {
                return try await pool().withConnection { connection in
                    if connection.retireIfStale(maxIdle: maxIdle) { throw StaleConnection() }
                    return try connection.exchange(
                        head: requestHead,
                        body: body,
                        deadline: deadline,
                        bodyIdle: bodyIdle,
                        into: sink
                    )
                }
            } catch is StaleConnection {
                continue
            } catch is CancellationError {
                throw ClickHouseError(kind: .connection, message: "the request was cancelled", address: address)
            } catch let error as BlockingPoolError {
                throw ClickHouseError(kind: .connection, message: error.description, address: address)
            }
        }
        throw ClickHouseError(kind: .connection, message: "every pooled connection was closed", address: address)
    }

    private func requestHead(query extra: String?, length: Int) -> [UInt8] {
        let host = configuration.host.contains(":") ? "[\(configuration.host)]" : configuration.host
        var head = "POST /?database=\(configuration.database)"
        if let extra { head += "&\(extra)" }
        head += " HTTP/1.1\r\nHost: \(host):\(configuration.port)\r\nContent-Length: \(length)\r\n"
        if let authorization { head += "Authorization: \(authorization)\r\n" }
        head += "\r\n"
        return Array(head.utf8)
    }

    /// The sooner of the configured timeout and the current job's remaining time (at least 1 ms).
    private func timeLimit() -> Duration {
        let configured = configuration.requestTimeout
        guard let remaining = BlockingCallDeadline.remaining else { return configured }
        return max(.milliseconds(1), min(configured, remaining))
    }

    private func checkIdentifier(_ name: String) throws(ClickHouseError) {
        guard !name.isEmpty, name.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_") }) else {
            throw ClickHouseError(
                kind: .configuration,
                message: "not a plain identifier (table or column): \(name.prefix(64))",
                address: configuration.redactedAddress
            )
        }
    }
}

/// An answer's bytes, collected on the connection's thread and read after the request returns.
// @unchecked Sendable: written by one thread during the request, read after it returned.
private final class AnswerCollector: @unchecked Sendable {
    private(set) var buffer = ByteBuffer()
    let limit: Int
    /// Keeps the first `limit` bytes instead of failing (an exception's text).
    let truncates: Bool

    struct TooLong: Error {}

    init(limit: Int, truncates: Bool = false) {
        self.limit = limit
        self.truncates = truncates
    }

    func add(_ chunk: [UInt8]) throws(TooLong) {
        let room = limit - buffer.readableBytes
        guard chunk.count <= room else {
            guard truncates else { throw TooLong() }
            buffer.writeBytes(chunk.prefix(room))
            return
        }
        buffer.writeBytes(chunk)
    }
}
