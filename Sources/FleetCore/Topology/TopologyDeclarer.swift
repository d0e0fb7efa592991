import AMQP

/// Applies a ``Topology`` to the broker. Idempotent: declaring what exists changes nothing; a queue
/// that exists with other arguments is an error naming the queue (the broker refuses to change them).
public struct TopologyDeclarer: Sendable {
    public let topology: Topology

    public init(topology: Topology) {
        self.topology = topology
    }

    /// Everything that will be declared, as `(kind, name, detail)`, for `--dry-run` and docs.
    public func plan() -> [(kind: String, name: String, arguments: AMQPTable)] {
        var plan: [(String, String, AMQPTable)] = [
            ("exchange", topology.exchange, ["type": .string("topic")]),
            ("exchange", topology.deadLetterExchange, ["type": .string("direct")]),
            ("exchange", topology.copiesExchange, ["type": .string("topic")]),
        ]
        for queue in topology.queues {
            plan.append(("queue", queue.deadLetterQueue, queueArguments(queue, extra: [:])))
            plan.append(("queue", queue.name, workQueueArguments(queue)))
            for delay in topology.retry.delays {
                plan.append(("queue", queue.retryQueue(delay: delay), retryQueueArguments(queue, delay: delay)))
            }
        }
        return plan
    }

    public func declare(on connection: AMQPConnection) throws {
        try connection.declareExchange(topology.exchange, type: "topic")
        try connection.declareExchange(topology.deadLetterExchange, type: "direct")
        try connection.declareExchange(topology.copiesExchange, type: "topic")
        for queue in topology.queues {
            try connection.declareQueue(queue.deadLetterQueue, arguments: queueArguments(queue, extra: [:]))
            try connection.bindQueue(
                queue.deadLetterQueue,
                exchange: topology.deadLetterExchange,
                routingKey: queue.deadLetterQueue
            )
            try bindCopies(queue.deadLetterQueue, on: connection)
            try connection.declareQueue(queue.name, arguments: workQueueArguments(queue))
            for type in queue.jobTypes {
                try connection.bindQueue(queue.name, exchange: topology.exchange, routingKey: type)
            }
            for delay in topology.retry.delays {
                try connection.declareQueue(
                    queue.retryQueue(delay: delay),
                    arguments: retryQueueArguments(queue, delay: delay)
                )
                try bindCopies(queue.retryQueue(delay: delay), on: connection)
            }
        }
    }

    /// Binds a retry or dead-letter queue to the copies exchange by its own name, the routing key
    /// workers publish its copies with. A topic binding key is matched word by word, so a name made of
    /// dots and plain words matches only itself.
    private func bindCopies(_ name: String, on connection: AMQPConnection) throws {
        try connection.bindQueue(name, exchange: topology.copiesExchange, routingKey: name)
    }

    private func queueArguments(_ queue: Topology.Queue, extra: AMQPTable) -> AMQPTable {
        var arguments = extra
        arguments["x-queue-type"] = .string(queue.queueType)
        return arguments
    }

    /// Poison messages (crashing their worker before any ack or retry decision) reach the DLQ after
    /// `delivery_limit` deliveries; dead-lettering is at-least-once so the broker cannot drop them.
    private func workQueueArguments(_ queue: Topology.Queue) -> AMQPTable {
        var arguments: AMQPTable = [
            "x-dead-letter-exchange": .string(topology.deadLetterExchange),
            "x-dead-letter-routing-key": .string(queue.deadLetterQueue),
        ]
        if queue.queueType == "quorum" {
            arguments["x-delivery-limit"] = .int(Int64(queue.deliveryLimit))
            arguments["x-dead-letter-strategy"] = .string("at-least-once")
            arguments["x-overflow"] = .string("reject-publish")
        }
        return queueArguments(queue, extra: arguments)
    }

    /// A retry queue holds each message for its delay (queue TTL; the jittered per-message TTL may be
    /// shorter), then dead-letters it back to the work queue through the default exchange.
    private func retryQueueArguments(_ queue: Topology.Queue, delay: Duration) -> AMQPTable {
        var arguments: AMQPTable = [
            "x-message-ttl": .int(delay.milliseconds),
            "x-dead-letter-exchange": .string(""),
            "x-dead-letter-routing-key": .string(queue.name),
        ]
        if queue.queueType == "quorum" {
            arguments["x-dead-letter-strategy"] = .string("at-least-once")
            arguments["x-overflow"] = .string("reject-publish")
        }
        return queueArguments(queue, extra: arguments)
    }
}
