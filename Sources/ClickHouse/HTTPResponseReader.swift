/// The status and headers of an HTTP/1.1 response.
struct HTTPResponseHead: Equatable, Sendable {
    var status: Int
    /// Names lowercased, in the order received.
    var headers: [(name: String, value: String)]
    /// Whether the connection may carry another request after this response's body.
    var keepAlive: Bool

    /// The first value of header `name` (case-insensitive).
    func header(_ name: String) -> String? {
        let name = name.lowercased()
        return headers.first { $0.name == name }?.value
    }

    static func == (lhs: HTTPResponseHead, rhs: HTTPResponseHead) -> Bool {
        lhs.status == rhs.status && lhs.keepAlive == rhs.keepAlive
            && lhs.headers.elementsEqual(rhs.headers) { $0.name == $1.name && $0.value == $1.value }
    }
}

/// What went wrong reading a response; the connection cannot be reused after any of them.
enum HTTPReadError: Error, Equatable {
    /// The server closed the connection before the response ended; `afterBytes` is 0 when it sent
    /// nothing at all.
    case closed(afterBytes: Int)
    /// The bytes are not an HTTP/1.x response this reader understands.
    case malformed(String)
}

/// Reads HTTP/1.1 responses (status line, headers, then a body framed by `Content-Length`, by chunked
/// transfer coding, or by the end of the connection) from a blocking byte source. Pure: the source is
/// a function, so tests feed it bytes in any split.
struct HTTPResponseReader {
    /// Fills the buffer with what arrived, blocking until something did; returns 0 at the end of the
    /// stream. Throws the transport's own errors (timeouts, resets).
    typealias Source = (UnsafeMutableRawBufferPointer) throws -> Int

    /// The longest status line plus headers accepted.
    static let maxHeadBytes = 64 << 10
    private static let readSize = 16 << 10

    private var buffer: [UInt8] = []
    /// Where unread bytes start in `buffer`.
    private var start = 0
    /// Bytes of the current response read so far, to tell "closed before answering" apart.
    private var received = 0
    private let source: Source

    init(source: @escaping Source) {
        self.source = source
    }

    /// Reads the status line and headers of the next final response, skipping `1xx` ones.
    mutating func readHead() throws -> HTTPResponseHead {
        received = 0
        while true {
            let head = try readOneHead()
            if !(100...199).contains(head.status) { return head }
        }
    }

    /// Reads the body of the response `head` introduced, handing it to `sink` in pieces as it arrives.
    mutating func readBody(of head: HTTPResponseHead, into sink: ([UInt8]) throws -> Void) throws {
        if let coding = head.header("transfer-encoding"), coding.lowercased() != "identity" {
            guard coding.lowercased() == "chunked" else { throw HTTPReadError.malformed("transfer coding \(coding)") }
            try readChunked(into: sink)
        } else if let length = head.header("content-length") {
            guard let count = Int(length.trimmingSpaces), count >= 0 else {
                throw HTTPReadError.malformed("Content-Length \(length)")
            }
            try readExactly(count, into: sink)
        } else {
            try readToEnd(into: sink)
        }
    }

    // MARK: - Head

    private mutating func readOneHead() throws -> HTTPResponseHead {
        let statusLine = try readLine(limit: Self.maxHeadBytes)
        let parts = statusLine.split(separator: " ", maxSplits: 2, omittingEmptySubsequences: false)
        guard parts.count >= 2, parts[0].hasPrefix("HTTP/1."), parts[1].count == 3, let status = Int(parts[1]) else {
            throw HTTPReadError.malformed("status line \(statusLine.prefix(80))")
        }
        var headers: [(name: String, value: String)] = []
        var headBytes = statusLine.utf8.count
        while true {
            let line = try readLine(limit: Self.maxHeadBytes - headBytes)
            headBytes += line.utf8.count + 2
            if line.isEmpty { break }
            guard let colon = line.firstIndex(of: ":") else {
                throw HTTPReadError.malformed("header line \(line.prefix(80))")
            }
            headers.append((line[..<colon].lowercased(), String(line[line.index(after: colon)...]).trimmingSpaces))
        }
        var head = HTTPResponseHead(status: status, headers: headers, keepAlive: parts[0] == "HTTP/1.1")
        if let connection = head.header("connection")?.lowercased() {
            if connection.contains("close") { head.keepAlive = false }
            if connection.contains("keep-alive") { head.keepAlive = true }
        }
        // A body that ends with the connection leaves nothing to reuse.
        if head.header("transfer-encoding") == nil && head.header("content-length") == nil
            && !(100...199).contains(status) && status != 204 && status != 304
        {
            head.keepAlive = false
        }
        return head
    }

    /// One line without its CR LF (a bare LF is accepted too).
    private mutating func readLine(limit: Int) throws -> String {
        // Relative to `start`: filling the buffer moves its unread bytes to the front.
        var scanned = 0
        while true {
            if let newline = buffer[(start + scanned)...].firstIndex(of: UInt8(ascii: "\n")) {
                var end = newline
                if end > start && buffer[end - 1] == UInt8(ascii: "\r") { end -= 1 }
                let line = String(decoding: buffer[start..<end], as: UTF8.self)
                start = newline + 1
                return line
            }
            scanned = buffer.count - start
            guard buffer.count - start <= limit else { throw HTTPReadError.malformed("a header line is too long") }
            guard try fill() else { throw HTTPReadError.closed(afterBytes: received) }
        }
    }

    // MARK: - Body

    private mutating func readExactly(_ count: Int, into sink: ([UInt8]) throws -> Void) throws {
        var left = count
        while left > 0 {
            if start == buffer.count {
                guard try fill() else { throw HTTPReadError.closed(afterBytes: received) }
            }
            let take = min(left, buffer.count - start)
            try sink(Array(buffer[start..<(start + take)]))
            start += take
            left -= take
        }
    }

    private mutating func readChunked(into sink: ([UInt8]) throws -> Void) throws {
        while true {
            let line = try readLine(limit: 1024)
            // Chunk extensions (`;name=value`) carry nothing this client uses.
            let sizeText = line.split(separator: ";", maxSplits: 1).first.map { String($0).trimmingSpaces } ?? ""
            guard let size = Int(sizeText, radix: 16), size >= 0 else {
                throw HTTPReadError.malformed("chunk size \(line.prefix(40))")
            }
            if size == 0 {
                // Trailers, then the empty line that ends the message.
                while try !readLine(limit: Self.maxHeadBytes).isEmpty {}
                return
            }
            try readExactly(size, into: sink)
            guard try readLine(limit: 2).isEmpty else { throw HTTPReadError.malformed("a chunk overran its size") }
        }
    }

    private mutating func readToEnd(into sink: ([UInt8]) throws -> Void) throws {
        while true {
            if start < buffer.count {
                try sink(Array(buffer[start...]))
                start = buffer.count
            }
            guard try fill() else { return }
        }
    }

    /// Reads more bytes into the buffer; false at the end of the stream.
    private mutating func fill() throws -> Bool {
        if start > 0 {
            buffer.removeFirst(start)
            start = 0
        }
        let old = buffer.count
        buffer.append(contentsOf: repeatElement(0, count: Self.readSize))
        let count: Int
        do {
            count = try buffer.withUnsafeMutableBytes {
                try source(UnsafeMutableRawBufferPointer(rebasing: $0[old...]))
            }
        } catch {
            buffer.removeLast(Self.readSize)
            throw error
        }
        buffer.removeLast(Self.readSize - count)
        received += count
        return count > 0
    }
}

extension StringProtocol {
    fileprivate var trimmingSpaces: String {
        var text = Substring(self)
        while let first = text.first, first == " " || first == "\t" { text.removeFirst() }
        while let last = text.last, last == " " || last == "\t" { text.removeLast() }
        return String(text)
    }
}
