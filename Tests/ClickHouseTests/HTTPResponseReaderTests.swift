import Testing

@testable import ClickHouse

/// The response reader alone, fed bytes from memory in every split a socket could deliver them in.
@Suite("HTTP response reader")
struct HTTPResponseReaderTests {
    /// A reader over `bytes`, handing out at most `step` bytes a read.
    private static func reader(_ text: String, step: Int = .max) -> HTTPResponseReader {
        let bytes = Array(text.utf8)
        var offset = 0
        return HTTPResponseReader { buffer in
            let count = min(step, buffer.count, bytes.count - offset)
            buffer.copyBytes(from: bytes[offset..<(offset + count)])
            offset += count
            return count
        }
    }

    private static func read(_ text: String, step: Int = .max) throws -> (HTTPResponseHead, String) {
        var reader = reader(text, step: step)
        let head = try reader.readHead()
        var body: [UInt8] = []
        try reader.readBody(of: head) { body += $0 }
        return (head, String(decoding: body, as: UTF8.self))
    }

    static let chunked =
        "HTTP/1.1 200 OK\r\nDate: Tue, 01 Dec 2026 04:00:00 GMT\r\nTransfer-Encoding: chunked\r\n"
        + "X-ClickHouse-Summary: {\"read_rows\":\"0\"}\r\n\r\n"
        + "5\r\nhello\r\n7;ext=1\r\n, world\r\n0\r\nX-Trailer: t\r\n\r\n"

    @Test("a chunked body arrives whole, extensions and trailers skipped, in every split")
    func chunkedInEverySplit() throws {
        for step in 1...24 {
            let (head, body) = try Self.read(Self.chunked, step: step)
            #expect(head.status == 200)
            #expect(head.keepAlive)
            #expect(head.header("x-clickhouse-summary") == "{\"read_rows\":\"0\"}")
            #expect(body == "hello, world", "step \(step)")
        }
    }

    @Test("Content-Length frames the body; two responses on one connection read apart")
    func contentLengthAndKeepAlive() throws {
        let two =
            "HTTP/1.1 500 Internal Server Error\r\nContent-Length: 11\r\nX-ClickHouse-Exception-Code: 62\r\n\r\n"
            + "Code: 62. x" + "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
        for step in [1, 3, 7, 1000] {
            var reader = Self.reader(two, step: step)
            let first = try reader.readHead()
            var body: [UInt8] = []
            try reader.readBody(of: first) { body += $0 }
            #expect(first.status == 500)
            #expect(first.header("X-ClickHouse-Exception-Code") == "62")
            #expect(String(decoding: body, as: UTF8.self) == "Code: 62. x")
            let second = try reader.readHead()
            body = []
            try reader.readBody(of: second) { body += $0 }
            #expect(second.status == 200)
            #expect(String(decoding: body, as: UTF8.self) == "ok")
        }
    }

    @Test("Connection: close, HTTP/1.0 and a body without framing end the connection's reuse")
    func notKeptAlive() throws {
        let (closed, _) = try Self.read("HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n")
        #expect(!closed.keepAlive)
        let (old, _) = try Self.read("HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n")
        #expect(!old.keepAlive)
        let (unframed, body) = try Self.read("HTTP/1.1 200 OK\r\n\r\nto the end", step: 3)
        #expect(!unframed.keepAlive)
        #expect(body == "to the end")
    }

    @Test("1xx responses are skipped")
    func informational() throws {
        let (head, body) = try Self.read(
            "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\n1",
            step: 5
        )
        #expect(head.status == 200)
        #expect(body == "1")
    }

    @Test("an answer cut short, or no answer at all, is a closed connection, told apart")
    func cutShort() throws {
        #expect(throws: HTTPReadError.closed(afterBytes: 0)) { try Self.read("") }
        #expect(throws: HTTPReadError.closed(afterBytes: 44)) {
            try Self.read("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort")
        }
        #expect(throws: HTTPReadError.self) {
            try Self.read("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel")
        }
    }

    @Test("bytes that are not an HTTP response are refused, not guessed at")
    func malformed() throws {
        for text in [
            "SSH-2.0-OpenSSH\r\n\r\n",
            "HTTP/1.1 2000 OK\r\n\r\n",
            "HTTP/1.1 200 OK\r\nno colon here\r\n\r\n",
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabc\r\n0\r\n\r\n",
            "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n",
        ] {
            #expect(throws: HTTPReadError.self, "\(text.debugDescription)") { try Self.read(text) }
        }
        let endless = "HTTP/1.1 200 OK\r\nX: " + String(repeating: "a", count: HTTPResponseReader.maxHeadBytes + 10)
        #expect(throws: HTTPReadError.malformed("a header line is too long")) { try Self.read(endless) }
    }
}
