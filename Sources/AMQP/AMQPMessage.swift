/// The properties of a message the fleet reads or sets.
public struct AMQPProperties: Sendable, Equatable {
    /// The MIME type of the body, such as `application/json`.
    public var contentType: String?
    /// 2 is persistent.
    public var deliveryMode: UInt8?
    /// The publisher's identifier for the message.
    public var messageId: String?
    /// The application's name for the kind of message (the job type, for the fleet).
    public var type: String?
    /// Application headers; an empty table is not sent.
    public var headers: AMQPTable
    /// Per-message TTL in milliseconds, as the decimal string AMQP expects.
    public var expiration: String?
    /// When the message was created, in seconds since the Unix epoch.
    public var timestamp: UInt64?
    /// The name of the application that published the message.
    public var appId: String?

    /// Properties with the given values; a nil property is not sent.
    public init(
        contentType: String? = nil,
        deliveryMode: UInt8? = nil,
        messageId: String? = nil,
        type: String? = nil,
        headers: AMQPTable = [:],
        expiration: String? = nil,
        timestamp: UInt64? = nil,
        appId: String? = nil
    ) {
        self.contentType = contentType
        self.deliveryMode = deliveryMode
        self.messageId = messageId
        self.type = type
        self.headers = headers
        self.expiration = expiration
        self.timestamp = timestamp
        self.appId = appId
    }
}

/// A message to publish.
public struct AMQPOutgoingMessage: Sendable {
    /// The exchange to publish to; empty for the default exchange, which routes by queue name.
    public var exchange: String
    /// The routing key; with the default exchange, the name of the queue.
    public var routingKey: String
    /// The message properties and headers.
    public var properties: AMQPProperties
    /// The message body.
    public var body: [UInt8]
    /// Ask the broker to return the message when no queue matches, and fail the publish.
    public var mandatory: Bool

    /// A message for `exchange` with `routingKey`; `mandatory` unless said otherwise.
    public init(
        exchange: String,
        routingKey: String,
        properties: AMQPProperties,
        body: [UInt8],
        mandatory: Bool = true
    ) {
        self.exchange = exchange
        self.routingKey = routingKey
        self.properties = properties
        self.body = body
        self.mandatory = mandatory
    }
}

/// A message received from a queue, by a consumer or by `basic.get`.
///
/// A class, not a struct: a delivery is handed from the connection thread to its job's tasks and
/// captured by each of them, and a struct of a dozen references cost a retain and a release of
/// each at every copy.
public final class AMQPDelivery: Sendable {
    /// The message body.
    public let body: [UInt8]
    /// The message properties and headers.
    public let properties: AMQPProperties
    /// The broker's number for this delivery on its channel, which an ack or reject names.
    public let deliveryTag: UInt64
    /// Whether the broker delivered the message before and it was not acked (requeued, or its
    /// consumer's connection was lost).
    public let redelivered: Bool
    /// The exchange the message was published to; empty for the default exchange.
    public let exchange: String
    /// The routing key it was published with.
    public let routingKey: String
    /// The queue it was consumed from.
    public let queue: String
    /// When this process read it off the socket: the start of its in-process latency.
    public let receivedAt: ContinuousClock.Instant
    /// Identifies the connection it arrived on: an ack on a later connection would be meaningless.
    let generation: UInt64
    /// Set when the content header announced a body over the connection's cap
    /// (``AMQPConnection/maxBodySize``): the body was read and dropped unseen, `body` is empty, and
    /// this is its size. The broker still holds the message whole until it is settled.
    public let oversizeBodySize: UInt64?

    init(
        body: [UInt8],
        properties: AMQPProperties,
        deliveryTag: UInt64,
        redelivered: Bool,
        exchange: String,
        routingKey: String,
        queue: String,
        generation: UInt64,
        receivedAt: ContinuousClock.Instant = .now,
        oversizeBodySize: UInt64? = nil
    ) {
        self.body = body
        self.properties = properties
        self.deliveryTag = deliveryTag
        self.redelivered = redelivered
        self.exchange = exchange
        self.routingKey = routingKey
        self.queue = queue
        self.generation = generation
        self.receivedAt = receivedAt
        self.oversizeBodySize = oversizeBodySize
    }
}
