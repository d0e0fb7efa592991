import AsyncHTTPClient
import BlockingIO
import Foundation
import NIOCore
import NIOHTTP1
import Synchronization

/// A ClickHouse client over the HTTP interface: statements, `INSERT … FORMAT JSONEachRow` batches and
/// queries whose rows come back as `JSONEachRow`.
///
/// It owns one `HTTPClient`, made on the first request (a process that never queries ClickHouse makes
/// none), and shuts it down in ``shutdown()``; a client dropped without it shuts it down on its own.
///
/// Each request's time limit is the sooner of ``ClickHouseConfiguration/requestTimeout`` and the end of
/// the current job's deadline (``BlockingCallDeadline``), so a flush never outlives the job waiting on it.
public final class ClickHouseClient: Sendable {
    public let configuration: ClickHouseConfiguration
    private let httpConfiguration: HTTPClient.Configuration
    /// nil until the first request, and again after ``shutdown()``.
    private let http = Mutex<HTTPClient?>(nil)
    private let authorization: String?
    /// Call latency and errors; its connections are async-http-client's, not counted here.
    private let metrics = StoreCallMetrics(store: "clickhouse", pooled: false) {
        ($0 as? ClickHouseError)?.isTransient
    }

    public init(configuration: ClickHouseConfiguration) {
        self.configuration = configuration
        var httpConfiguration = HTTPClient.Configuration()
        // Below the server's keep-alive (10 s on 18.16, 3 s on some builds): a request never goes out
        // on a connection the server is closing.
        httpConfiguration.connectionPool = .init(idleTimeout: .seconds(2))
        httpConfiguration.timeout = .init(connect: .seconds(5))
        httpConfiguration.redirectConfiguration = .disallow
        self.httpConfiguration = httpConfiguration
        if let user = configuration.user {
            let pair = "\(user):\(configuration.password ?? "")"
            self.authorization = "Basic " + Data(pair.utf8).base64EncodedString()
        } else {
            self.authorization = nil
        }
    }

    /// Closes the connections. Call after the last request; a later request opens new ones.
    public func shutdown() async throws {
        let client = http.withLock { client in
            defer { client = nil }
            return client
        }
        try await client?.shutdown()
    }

    deinit {
        // AsyncHTTPClient traps in debug builds when a client is dropped running; its shutdown keeps
        // it alive until done.
        http.withLock { $0 }?.shutdown { _ in }
    }

    private func httpClient() -> HTTPClient {
        http.withLock { client in
            if let client { return client }
            let made = HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: httpConfiguration)
            client = made
            return made
        }
    }

    /// Runs a statement that returns no rows (DDL, `OPTIMIZE`, `ALTER … DELETE`...).
    public func execute(_ sql: String) async throws(ClickHouseError) {
        _ = try await send(body: ByteBuffer(string: sql), query: nil)
    }

    /// Inserts `rows` with one `INSERT INTO table FORMAT JSONEachRow` request: one JSON object a line.
    /// Nothing is sent for no rows. `table` is a bare identifier (letters, digits, `_`).
    public func insert<Row: Encodable>(table: String, rows: [Row]) async throws(ClickHouseError) {
        guard !rows.isEmpty else { return }
        try checkIdentifier(table)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.withoutEscapingSlashes]
        var body = ByteBuffer(string: "INSERT INTO \(table) FORMAT JSONEachRow\n")
        do {
            for row in rows {
                body.writeBytes(try encoder.encode(row))
                body.writeInteger(UInt8(ascii: "\n"))
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

    /// Inserts the rows of `rows` with one request; nothing is sent for no rows.
    public func insert(_ rows: JSONEachRowWriter) async throws(ClickHouseError) {
        guard rows.rowCount > 0 else { return }
        try checkIdentifier(rows.table)
        _ = try await send(body: rows.body, query: nil, redactsRows: true)
    }

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
            body: ByteBuffer(string: sql + "\nFORMAT JSONEachRow"),
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
        var body = ByteBuffer(string: statement + "\n")
        body.writeBytes(data)
        _ = try await send(body: body, query: nil, redactsRows: true)
    }

    /// Runs a query that names its own `FORMAT` and hands the answer's bytes to `body` as they arrive,
    /// so an answer of any size never sits in memory whole (``ClickHouseConfiguration/maxResponseBytes``
    /// does not apply).
    ///
    /// `wait_end_of_query=1`: the server finishes the query (buffering the answer in its own temporary
    /// files) before it sends the status, so a query that fails halfway is an error here, not an
    /// answer that stops early with the exception's text appended as if it were data.
    public func stream(
        _ sql: String,
        into body: (ByteBuffer) async throws -> Void
    ) async throws {
        let response = try await start(
            body: ByteBuffer(string: sql),
            query: "wait_end_of_query=1",
            redactsRows: false
        )
        var chunks = response.body.makeAsyncIterator()
        while true {
            let chunk: ByteBuffer?
            do {
                chunk = try await chunks.next()
            } catch {
                throw ClickHouseError(
                    kind: .connection,
                    message: Self.describe(error),
                    address: configuration.redactedAddress
                )
            }
            guard let chunk else { return }
            try await body(chunk)
        }
    }

    // MARK: - HTTP

    /// - Parameter redactsRows: an insert's exception keeps only its headline: a parse error quotes
    ///   the row it failed on, and rows may hold personal data (IP addresses, user agents).
    private func send(
        body: ByteBuffer,
        query extra: String?,
        redactsRows: Bool = false
    ) async throws(ClickHouseError) -> ByteBuffer {
        let call = metrics.begin()
        do {
            let answer = try await exchange(body: body, query: extra, redactsRows: redactsRows)
            metrics.end(call, error: nil)
            return answer
        } catch {
            metrics.end(call, error: error)
            throw error
        }
    }

    private func exchange(
        body: ByteBuffer,
        query extra: String?,
        redactsRows: Bool
    ) async throws(ClickHouseError) -> ByteBuffer {
        let address = configuration.redactedAddress
        let response = try await start(body: body, query: extra, redactsRows: redactsRows)
        do {
            return try await response.body.collect(upTo: configuration.maxResponseBytes)
        } catch let error as NIOTooManyBytesError {
            throw ClickHouseError(
                kind: .unexpectedReply,
                message: "the answer is longer than \(configuration.maxResponseBytes) bytes (\(error))",
                address: address
            )
        } catch {
            throw ClickHouseError(kind: .connection, message: Self.describe(error), address: address)
        }
    }

    /// Sends a request and returns its response once its head says 200 OK, the body still unread; any
    /// other status is thrown as the server's exception.
    private func start(
        body: ByteBuffer,
        query extra: String?,
        redactsRows: Bool
    ) async throws(ClickHouseError) -> HTTPClientResponse {
        var url = "http://\(configuration.host.contains(":") ? "[\(configuration.host)]" : configuration.host)"
        url += ":\(configuration.port)/?database=\(configuration.database)"
        if let extra { url += "&\(extra)" }
        var request = HTTPClientRequest(url: url)
        request.method = .POST
        request.body = .bytes(body)
        if let authorization { request.headers.add(name: "Authorization", value: authorization) }
        let timeout = timeLimit()
        let address = configuration.redactedAddress
        let response: HTTPClientResponse
        do {
            response = try await httpClient().execute(request, timeout: .nanoseconds(Int64(timeout.nanoseconds)))
        } catch {
            // Refused, reset, timed out, cancelled: nothing of the server's, so worth a retry.
            throw ClickHouseError(kind: .connection, message: Self.describe(error), address: address)
        }
        guard response.status == .ok else {
            // An exception's text is short; more than 1 MiB is not one.
            let answer = (try? await response.body.collect(upTo: 1 << 20)) ?? ByteBuffer()
            let headerCode = response.headers.first(name: "X-ClickHouse-Exception-Code").flatMap { Int($0) }
            let text = String(buffer: answer)
            let (code, parsed) = ClickHouseError.parseException(body: text, headerCode: headerCode)
            let message = redactsRows ? ClickHouseError.headline(parsed) : parsed
            throw ClickHouseError(
                kind: .server,
                code: code,
                message: message.isEmpty ? "HTTP \(response.status.code)" : message,
                address: address,
                httpStatus: Int(response.status.code)
            )
        }
        return response
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
                message: "not a plain table name: \(name.prefix(64))",
                address: configuration.redactedAddress
            )
        }
    }

    private static func describe(_ error: any Error) -> String {
        if let error = error as? HTTPClientError, error == .deadlineExceeded { return "the request timed out" }
        return "\(error)"
    }
}

extension Duration {
    fileprivate var nanoseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1_000_000_000 + attoseconds / 1_000_000_000
    }
}
