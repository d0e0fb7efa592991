/// The properties of a message the fleet reads or sets.
public struct AMQPProperties: Sendable, Equatable {
    public var contentType: String?
    /// 2 is persistent.
    public var deliveryMode: UInt8?
    public var messageId: String?
    public var type: String?
    public var headers: AMQPTable
    /// Per-message TTL in milliseconds, as the decimal string AMQP expects.
    public var expiration: String?
    public var timestamp: UInt64?
    public var appId: String?

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
    public var exchange: String
    public var routingKey: String
    public var properties: AMQPProperties
    public var body: [UInt8]
    /// Ask the broker to return the message when no queue matches, and fail the publish.
    public var mandatory: Bool

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
public struct AMQPDelivery: Sendable {
    public let body: [UInt8]
    public let properties: AMQPProperties
    public let deliveryTag: UInt64
    public let redelivered: Bool
    public let exchange: String
    public let routingKey: String
    /// The queue it was consumed from.
    public let queue: String
    /// When this process read it off the socket: the start of its in-process latency.
    public let receivedAt: ContinuousClock.Instant
    /// Identifies the connection it arrived on: an ack on a later connection would be meaningless.
    let generation: UInt64

    init(
        body: [UInt8],
        properties: AMQPProperties,
        deliveryTag: UInt64,
        redelivered: Bool,
        exchange: String,
        routingKey: String,
        queue: String,
        generation: UInt64,
        receivedAt: ContinuousClock.Instant = .now
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
    }
}
