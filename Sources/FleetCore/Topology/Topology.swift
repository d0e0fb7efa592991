import AMQP

/// The broker layout from `queues.yaml`: exchanges, work queues and their job types, prefetch,
/// concurrency, retry schedule and dead-lettering. ``TopologyDeclarer`` applies it.
public struct Topology: Sendable, Equatable {
    public struct Queue: Sendable, Equatable {
        public var name: String
        public var jobTypes: [String]
        /// `quorum` (default: replicated, with a delivery limit) or `classic`.
        public var queueType: String
        public var prefetch: Int
        public var concurrency: Int
        /// Deliveries after which the broker dead-letters a message that never got acked or retried
        /// (a worker that crashes on it every time). Quorum queues only.
        public var deliveryLimit: Int
        /// The longest a job's ack waits for others to share its frame while the worker holds
        /// other deliveries of the queue (`ack_delay`; 1 ms to 1 s).
        public var ackDelay: Duration

        public init(
            name: String,
            jobTypes: [String],
            queueType: String = "quorum",
            prefetch: Int,
            concurrency: Int,
            deliveryLimit: Int,
            ackDelay: Duration = AMQPClient.defaultAckDelay
        ) {
            precondition(
                ackDelay >= Topology.minimumAckDelay && ackDelay <= Topology.maximumAckDelay,
                "ack_delay \(ackDelay) is outside 1ms...1s"
            )
            self.name = name
            self.jobTypes = jobTypes
            self.queueType = queueType
            self.prefetch = prefetch
            self.concurrency = concurrency
            self.deliveryLimit = deliveryLimit
            self.ackDelay = ackDelay
        }

        public var deadLetterQueue: String { "\(name).dlq" }

        public func retryQueue(delay: Duration) -> String { "\(name).retry.\(DurationText.format(delay))" }
    }

    public struct JobType: Sendable, Equatable {
        public var name: String
        /// A job running longer is cancelled and counts as a transient failure.
        public var deadline: Duration
        /// How long the stores keep the record that this type's job (or idempotency key) took
        /// effect; a duplicate arriving later is a new job. `fleet maintenance` prunes older records.
        public var dedupWindow: Duration

        public init(name: String, deadline: Duration, dedupWindow: Duration = Topology.defaultDedupWindow) {
            self.name = name
            self.deadline = deadline
            self.dedupWindow = dedupWindow
        }
    }

    /// Topic exchange producers publish to, routing key = job type.
    public var exchange: String
    /// Direct exchange the broker dead-letters into (delivery limit), routing key = DLQ name.
    public var deadLetterExchange: String
    /// Topic exchange workers publish their retry and dead-letter copies to, routing key = the
    /// target queue's name (each retry and dead-letter queue is bound by its own name). Not the
    /// default exchange: RabbitMQ checks no routing key there, so a worker's user allowed its copies
    /// could publish into any queue; here a topic permission limits it to its own queues' copies.
    public var copiesExchange: String
    public var retry: RetrySchedule
    /// The broker's `consumer_timeout`: every deadline must stay below it, or the broker would close
    /// the channel of a worker still legitimately running a job.
    public var brokerConsumerTimeout: Duration
    public var queues: [Queue]
    public var jobTypes: [String: JobType]
    /// `queue_defaults.ack_delay`: what queues made in code take, such as the benchmark's.
    public var defaultAckDelay = AMQPClient.defaultAckDelay

    public func queue(named name: String) -> Queue? { queues.first { $0.name == name } }

    public func queue(forJobType type: String) -> Queue? { queues.first { $0.jobTypes.contains(type) } }

    public func deadline(of type: String) -> Duration { jobTypes[type]?.deadline ?? .seconds(60) }

    /// The contract's default dedup window.
    public static let defaultDedupWindow = Duration.seconds(7 * 86_400)

    public func dedupWindow(of type: String) -> Duration { jobTypes[type]?.dedupWindow ?? Self.defaultDedupWindow }
}
