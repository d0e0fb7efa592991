import AMQP
import Foundation

/// One dead-lettered job as operators see it.
public struct DeadLetterEntry: Sendable {
    public let queue: String
    public let messageId: String?
    public let type: String?
    /// Machine-readable: `invalid_json`, `unknown_type`, `max_attempts`, `delivery_limit`, ...
    public let reason: String
    public let error: String?
    public let deadLetteredAt: String?
    public let attempts: Int
    public let body: [UInt8]
    public let headers: AMQPTable

    init(queue: String, delivery: AMQPDelivery) {
        let headers = delivery.properties.headers
        // Messages the broker dead-lettered itself (delivery limit) carry x-death instead of our headers.
        var brokerReason: String?
        if case .array(let deaths)? = headers["x-death"], case .table(let first)? = deaths.first {
            brokerReason = first["reason"]?.string
        }
        self.queue = queue
        self.messageId = delivery.properties.messageId
        self.type = delivery.properties.type
        self.reason = headers[FleetHeaders.reason]?.string ?? brokerReason ?? "unknown"
        self.error = headers[FleetHeaders.error]?.string ?? headers[FleetHeaders.lastError]?.string
        self.deadLetteredAt = headers[FleetHeaders.deadLetteredAt]?.string
        self.attempts = FleetHeaders.attempt(of: headers)
        self.body = delivery.body
        self.headers = headers
    }
}

/// List, inspect, replay and purge dead-lettered jobs. Each operation walks a DLQ with `basic.get`
/// and manual acks: messages it does not act on stay unacked and return to the queue, in order,
/// when the connection closes; acted-on ones are acked only after a replayed copy is confirmed.
public struct DeadLetterAdmin: Sendable {
    public struct Filter: Sendable {
        public var type: String?
        public var messageId: String?
        public var limit: Int?

        public init(type: String? = nil, messageId: String? = nil, limit: Int? = nil) {
            self.type = type
            self.messageId = messageId
            self.limit = limit
        }

        func matches(_ entry: DeadLetterEntry) -> Bool {
            (type == nil || entry.type == type) && (messageId == nil || entry.messageId == messageId)
        }
    }

    public enum Action: Sendable {
        case list
        /// Sends matching jobs back to their work queue with a fresh attempt count.
        case replay
        case purge
    }

    public let topology: Topology

    public init(topology: Topology) {
        self.topology = topology
    }

    /// The dead-letter queues to walk: one work queue's, or all of them.
    public func deadLetterQueues(of workQueue: String?) throws -> [Topology.Queue] {
        guard let workQueue else { return topology.queues }
        guard
            let queue = topology.queue(named: workQueue)
                ?? topology.queues.first(where: {
                    $0.deadLetterQueue == workQueue
                })
        else {
            throw ConfigurationError(
                file: "queues.yaml",
                path: "queues",
                problem: "no queue named \(workQueue)"
            )
        }
        return [queue]
    }

    /// Applies `action` (or, with `dryRun`, only lists what it would touch) to matching entries.
    public func run(
        _ action: Action,
        queues: [Topology.Queue],
        filter: Filter,
        dryRun: Bool,
        on connection: AMQPConnection
    ) throws -> [DeadLetterEntry] {
        if action == .replay && !dryRun { try connection.enableConfirms() }
        var matched: [DeadLetterEntry] = []
        for queue in queues {
            let available = try connection.declareQueue(queue.deadLetterQueue, arguments: [:], passive: true)
            for _ in 0..<available {
                if let limit = filter.limit, matched.count >= limit { break }
                guard let delivery = try connection.get(queue: queue.deadLetterQueue) else { break }
                let entry = DeadLetterEntry(queue: queue.deadLetterQueue, delivery: delivery)
                guard filter.matches(entry) else { continue }
                matched.append(entry)
                guard !dryRun else { continue }
                switch action {
                case .list:
                    continue
                case .replay:
                    var properties = delivery.properties
                    properties.headers = FleetHeaders.forReplay(properties.headers)
                    properties.expiration = nil
                    properties.deliveryMode = 2
                    try connection.publishConfirmed(
                        AMQPOutgoingMessage(
                            exchange: "",
                            routingKey: queue.name,
                            properties: properties,
                            body: delivery.body
                        )
                    )
                    try connection.ack(delivery.deliveryTag)
                case .purge:
                    try connection.ack(delivery.deliveryTag)
                }
            }
        }
        return matched
    }
}
