/// A failure talking to the broker. The description never contains credentials.
public struct AMQPError: Error, CustomStringConvertible {
    /// What kind of failure. Static members rather than an enum, so kinds can be added later.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        public let description: String
        /// The TCP connection or the AMQP handshake failed, or the connection was lost.
        public static let connection = Code(description: "connection")
        /// The broker closed a channel or the connection with a reply code (e.g. 404, 406).
        public static let server = Code(description: "server")
        /// The configuration (a URL) is invalid; retrying cannot help.
        public static let configuration = Code(description: "configuration")
        /// A mandatory message matched no queue.
        public static let unroutable = Code(description: "unroutable")
        /// The broker refused (nacked) a published message.
        public static let nacked = Code(description: "nacked")
        /// The client was shut down before the operation completed.
        public static let closed = Code(description: "closed")
        /// The broker did not confirm a publish within the confirm timeout (the message may still
        /// arrive: publish again only what consumers handle idempotently).
        public static let timeout = Code(description: "timeout")
        /// Not published: the broker blocks the connection (memory or disk alarm). The message was
        /// never written, so publishing it again later cannot duplicate it.
        public static let blocked = Code(description: "blocked")
    }

    /// What kind of failure.
    public let code: Code
    /// What failed, in words: the operation and the library's or the broker's reason.
    public let message: String
    /// The broker's redacted `host:port/vhost`, or empty when there is none (a bad URL).
    public let address: String
    /// The AMQP reply code when the broker closed a channel or the connection.
    public let replyCode: Int?

    /// An error of `code` about the broker at `address`, which must not hold credentials.
    public init(code: Code, message: String, address: String, replyCode: Int? = nil) {
        self.code = code
        self.message = message
        self.address = address
        self.replyCode = replyCode
    }

    /// Worth retrying later: the broker may come back or the message may route after a reconnect.
    public var isTransient: Bool {
        switch code {
        case .connection, .closed, .nacked, .timeout, .blocked: return true
        case .server: return replyCode.map { $0 == 320 || $0 == 541 || $0 == 505 } ?? true
        default: return false
        }
    }

    public var description: String {
        let where_ = address.isEmpty ? "" : " (broker \(address))"
        let reply = replyCode.map { " [\($0)]" } ?? ""
        return "AMQP \(code) error\(reply): \(message)\(where_)"
    }
}
