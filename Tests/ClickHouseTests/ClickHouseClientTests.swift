import BlockingIO
import ClickHouse
import Foundation
import Synchronization
import Testing

/// Against the real server (`scripts/services.sh start`; FLEET_CLICKHOUSE_URL or the default port).
@Suite("ClickHouse client against the server")
struct ClickHouseClientTests {
    static let url = ProcessInfo.processInfo.environment["FLEET_CLICKHOUSE_URL"] ?? ClickHouseConfiguration.defaultURL

    /// A table of this test's own, dropped at the end.
    private func withTable(
        _ columns: String,
        _ body: (ClickHouseClient, String) async throws -> Void
    ) async throws {
        let client = ClickHouseClient(configuration: try ClickHouseConfiguration(url: Self.url))
        let table = "client_test_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").prefix(12).lowercased()
        do {
            try await client.execute("CREATE TABLE \(table) (\(columns)) ENGINE = MergeTree() ORDER BY tuple()")
            try await body(client, table)
            try await client.execute("DROP TABLE IF EXISTS \(table)")
            try await client.shutdown()
        } catch {
            try? await client.execute("DROP TABLE IF EXISTS \(table)")
            try? await client.shutdown()
            throw error
        }
    }

    struct Row: Codable, Equatable {
        let id: String
        let text: String
        let value: Double
        let at: Int64
    }

    @Test("DDL, a JSONEachRow insert and a select give the same rows back, nasty strings included")
    func roundTrip() async throws {
        try await withTable("id UUID, text String, value Float64, at DateTime") { client, table in
            let nasty = ["plain", "it's", #"back\slash\"#, "nul\0byte", "new\nline\r\n", "Île 日本 🎉", "\u{01}\u{7F}"]
            let rows = nasty.enumerated().map { index, text in
                Row(
                    id: UUID().uuidString.lowercased(),
                    text: text,
                    value: Double(index) + 0.5,
                    at: 1_767_323_045 + Int64(index)
                )
            }
            try await client.insert(table: table, rows: rows)
            struct Back: Decodable, Equatable {
                let id: String
                let text: String
                let value: Double
                let at: Int64
            }
            let back = try await client.query(
                "SELECT toString(id) AS id, text, value, toUnixTimestamp(at) AS at FROM \(table) ORDER BY value",
                as: Back.self
            )
            #expect(back.map(\.text) == nasty)
            #expect(back.map(\.id) == rows.map(\.id))
            #expect(back.map(\.at) == rows.map(\.at))
            #expect(try await client.count("SELECT count() FROM \(table)") == nasty.count)
        }
    }

    @Test(
        "a RowBinary insert gives every value back: strings of any length and bytes, signed integers, times, v4 UUIDs"
    )
    func rowBinaryRoundTrip() async throws {
        try await withTable("s String, id UUID, i Int32, h Int16, at DateTime") { client, table in
            // "0123456789" first: the body starts with a newline byte (its length).
            let texts = [
                "0123456789", "", "it's", "nul\0byte", "new\nline\r\n", "Île 日本 🎉", String(repeating: "é", count: 200),
            ]
            var rows = RowBinaryWriter(table: table, columns: ["s", "id", "i", "h", "at"])
            for (index, text) in texts.enumerated() {
                rows.string(text)
                rows.randomUUID()
                rows.int32(Int32(index) - 3)
                rows.int16(Int16(index) * -1000)
                rows.dateTime(1_767_323_045 + UInt32(index))
                rows.endRow()
            }
            try await client.insert(rows)
            struct Back: Decodable {
                let s: String
                let id: String
                let i: Int32
                let h: Int16
                let at: Int64
            }
            let back = try await client.query(
                "SELECT s, toString(id) AS id, i, h, toUnixTimestamp(at) AS at FROM \(table) ORDER BY at",
                as: Back.self
            )
            #expect(back.map(\.s) == texts)
            #expect(back.map(\.i) == texts.indices.map { Int32($0) - 3 })
            #expect(back.map(\.h) == texts.indices.map { Int16($0) * -1000 })
            #expect(back.map(\.at) == texts.indices.map { 1_767_323_045 + Int64($0) })
            for id in back.map(\.id) {
                let characters = Array(id)
                #expect(
                    UUID(uuidString: id) != nil && characters[14] == "4" && "89ab".contains(characters[19]),
                    "\(id)"
                )
            }
            #expect(Set(back.map(\.id)).count == texts.count)
        }
    }

    @Test("each escaped literal selects exactly its own row")
    func literalsSelectTheirRows() async throws {
        try await withTable("id UUID, text String, value Float64, at DateTime") { client, table in
            let texts = ["it's", #"a\'b"#, "nul\0", "tab\tnew\n", "ünï 🎉", #"\"#, "'", "''", #"\\'"#]
            let rows = texts.enumerated().map { index, text in
                Row(id: UUID().uuidString.lowercased(), text: text, value: Double(index), at: 1_767_323_045)
            }
            try await client.insert(table: table, rows: rows)
            for row in rows {
                let id = try #require(UUID(uuidString: row.id))
                let byText = try await client.count(
                    "SELECT count() FROM \(table) WHERE text = \(ClickHouseLiteral.string(row.text))"
                )
                #expect(byText == 1, "text \(row.text.debugDescription)")
                let byAll = try await client.count(
                    "SELECT count() FROM \(table) WHERE id = \(ClickHouseLiteral.uuid(id)) AND at = "
                        + ClickHouseLiteral.dateTime(Date(timeIntervalSince1970: 1_767_323_045))
                        + " AND value = \(ClickHouseLiteral.double(row.value)!)"
                )
                #expect(byAll == 1)
            }
        }
    }

    @Test("server errors carry ClickHouse's code and message and are permanent")
    func serverErrors() async throws {
        let client = ClickHouseClient(configuration: try ClickHouseConfiguration(url: Self.url))
        do {
            try await client.execute("SELEC 1")
            Issue.record("a syntax error succeeded")
        } catch {
            #expect(error.kind == .server)
            #expect(error.code == 62)
            #expect(error.message.contains("Syntax error"))
            #expect(!error.isTransient)
        }
        do {
            _ = try await client.count("SELECT count() FROM no_such_table_here")
            Issue.record("an unknown table answered")
        } catch {
            #expect(error.code == 60)
            #expect(!error.isTransient)
        }
        try await client.shutdown()
    }

    @Test("raw TabSeparated rows go in as bytes and stream back unchanged, any byte included")
    func rawRowsAndStreaming() async throws {
        try await withTable("n UInt32, s String, f Float64") { client, table in
            // 0xFF is not UTF-8: only a raw body carries it. The rows are written as ClickHouse writes
            // them (`\'`, `\0`, shortest floats), so the text that comes back is the same bytes.
            var rows: [UInt8] = []
            for n in 0..<20_000 {
                rows += Array("\(n)\tr\\t\\n\\\\\\'\\0".utf8) + [0xFF] + Array("\t\(Double(n) + 0.5)\n".utf8)
            }
            rows += Array("20000\t\tnan\n".utf8)
            try await client.execute(
                "INSERT INTO \(ClickHouseLiteral.identifier(table)) FORMAT TabSeparated",
                data: rows
            )
            let back = Mutex<(bytes: [UInt8], chunks: Int)>(([], 0))
            try await client.stream("SELECT n, s, f FROM \(table) ORDER BY n FORMAT TabSeparated") { chunk in
                back.withLock {
                    $0.bytes += chunk.readableBytesView
                    $0.chunks += 1
                }
            }
            #expect(back.withLock { $0.bytes } == rows)
            #expect(back.withLock { $0.chunks } > 1, "a large answer arrives in several chunks")
        }
    }

    @Test("a query failing halfway through a stream is an error, not a short answer")
    func streamFailure() async throws {
        let client = ClickHouseClient(configuration: try ClickHouseConfiguration(url: Self.url))
        let received = Mutex(0)
        do {
            try await client.stream(
                "SELECT number, throwIf(number = 200000) FROM system.numbers LIMIT 300000 FORMAT TabSeparated"
            ) { chunk in received.withLock { $0 += chunk.readableBytes } }
            Issue.record("the failing query streamed to the end")
        } catch let error as ClickHouseError {
            #expect(error.kind == .server)
            #expect(error.code == 395)
            #expect(received.withLock { $0 } == 0)
        }
        try await client.shutdown()
    }

    @Test("a refused connection is a transient connection error that names no password")
    func refusedConnection() async throws {
        // Port 9 (discard) on loopback: nothing listens there.
        let client = ClickHouseClient(configuration: try ClickHouseConfiguration(url: "http://u:hunter2@127.0.0.1:9"))
        do {
            try await client.execute("SELECT 1")
            Issue.record("a request to a closed port succeeded")
        } catch {
            #expect(error.kind == .connection)
            #expect(error.isTransient)
            #expect(!error.description.contains("hunter2"))
        }
        try await client.shutdown()
    }

    @Test("connections are reused, replaced after an idle spell, and shared by more callers than they are")
    func keepAliveAndPool() async throws {
        var configuration = try ClickHouseConfiguration(url: Self.url)
        configuration.maxConnections = 2
        // Long enough that a loaded machine's pauses between requests do not end a connection.
        configuration.maxIdle = .seconds(30)
        let client = ClickHouseClient(configuration: configuration)
        // The client port of the connection a request went out on, as the server sees it.
        let marker = "port_" + UUID().uuidString.prefix(8)
        @Sendable func port(_ client: ClickHouseClient) async throws -> Int {
            try await client.count("SELECT port AS n FROM system.processes WHERE query LIKE '%\(marker)%'")
        }
        var ports: Set<Int> = []
        for _ in 0..<20 { ports.insert(try await port(client)) }
        // A connection per request would show twenty ports; the server may still close an idle one.
        #expect(ports.count <= 2, "twenty requests in a row share a connection")
        // Twenty callers at once on two connections: each waits its turn, every one gets its answer.
        let answers = try await withThrowingTaskGroup(of: Int.self) { group in
            for n in 0..<20 { group.addTask { try await client.count("SELECT \(n) AS n") } }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        #expect(answers.sorted() == Array(0..<20))
        try await client.shutdown()
        // After a shutdown, a request opens new connections.
        #expect(try await client.count("SELECT 3 AS n") == 3)
        try await client.shutdown()

        // Idle longer than maxIdle: the next request goes out on a fresh connection, not on one the
        // server may be closing.
        configuration.maxIdle = .milliseconds(200)
        let brief = ClickHouseClient(configuration: configuration)
        let first = try await port(brief)
        try await Task.sleep(for: .milliseconds(500))
        #expect(try await port(brief) != first)
        try await brief.shutdown()
    }

    @Test("a request past the job's deadline is a transient error, and the next request works")
    func timeout() async throws {
        var configuration = try ClickHouseConfiguration(url: Self.url)
        configuration.maxConnections = 1
        let client = ClickHouseClient(configuration: configuration)
        do {
            // A job's deadline 300 ms away bounds the request (the configured limit is 30 s).
            try await BlockingCallDeadline.$current.withValue(.now + .milliseconds(300)) {
                try await client.execute("SELECT sleep(2)")
            }
            Issue.record("a 2 s query finished within 300 ms")
        } catch let error as ClickHouseError {
            #expect(error.kind == .connection)
            #expect(error.message.contains("timed out"))
            #expect(error.isTransient)
        }
        #expect(try await client.count("SELECT 4 AS n") == 4)
        try await client.shutdown()
    }

    @Test("an answer longer than the limit is refused, and the connection is not reused half-read")
    func answerTooLong() async throws {
        var configuration = try ClickHouseConfiguration(url: Self.url)
        configuration.maxResponseBytes = 10_000
        configuration.maxConnections = 1
        let client = ClickHouseClient(configuration: configuration)
        struct Number: Decodable { let number: Int }
        do {
            _ = try await client.query("SELECT number FROM system.numbers LIMIT 100000", as: Number.self)
            Issue.record("a long answer was accepted")
        } catch {
            #expect(error.kind == .unexpectedReply)
            #expect(error.message.contains("longer than 10000 bytes"))
        }
        #expect(try await client.query("SELECT number FROM system.numbers LIMIT 3", as: Number.self).count == 3)
        try await client.shutdown()
    }
}
