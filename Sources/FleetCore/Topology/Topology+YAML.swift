import AMQP
import Foundation

extension Topology {
    /// Reads `queues.yaml`. Every problem names the file and the key path.
    public static func load(path: String) throws -> Topology {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw ConfigurationError(file: path, path: "", problem: "cannot read the file")
        }
        return try parse(yaml: text, file: path)
    }

    public static func parse(yaml: String, file: String = "queues.yaml") throws -> Topology {
        let root = try YAMLReader(file: file, text: yaml)
        try root.allowOnly([
            "exchange", "dead_letter_exchange", "copies_exchange", "broker_consumer_timeout", "retry", "queue_defaults",
            "job_types", "queues", "dedup_window",
        ])

        let retryReader = try root.nested("retry", required: false)
        try retryReader?.allowOnly(["delays", "jitter"])
        let standardDelays = RetrySchedule.standard.delays.map { DurationText.format($0) }
        let delayTexts = try retryReader?.strings("delays", default: standardDelays) ?? standardDelays
        let delays = try delayTexts.map { text -> Duration in
            guard let delay = DurationText.parse(text) else {
                throw ConfigurationError(
                    file: file,
                    path: "retry.delays",
                    problem: "\(text.debugDescription) is not a duration"
                )
            }
            return delay
        }
        guard delays == delays.sorted(), Set(delays).count == delays.count else {
            throw ConfigurationError(file: file, path: "retry.delays", problem: "delays must be strictly ascending")
        }
        let jitter = try retryReader?.fraction("jitter", default: 0.1) ?? 0.1

        let defaults = try root.nested("queue_defaults", required: false)
        try defaults?.allowOnly(["type", "prefetch", "concurrency", "delivery_limit", "ack_delay"])
        let defaultType = try defaults?.string("type", default: "quorum") ?? "quorum"
        let defaultPrefetch = try defaults?.positiveInt("prefetch", default: 50) ?? 50
        let defaultConcurrency = try defaults?.positiveInt("concurrency", default: 8) ?? 8
        let defaultDeliveryLimit = try defaults?.positiveInt("delivery_limit", default: 10) ?? 10
        let defaultAckDelay =
            try defaults.map { try Self.ackDelay($0, default: AMQPClient.defaultAckDelay) }
            ?? AMQPClient.defaultAckDelay

        let consumerTimeout = try root.duration("broker_consumer_timeout", default: .seconds(1800))
        // A record pruned while its job may still come back from a retry queue would let the retry
        // apply the job twice: every window must outlast the whole retry schedule, with room to spare.
        let minimumWindow = max(Duration.seconds(3600), delays.reduce(.zero, +) * 2)
        let defaultWindow = try root.duration("dedup_window", default: Topology.defaultDedupWindow)
        guard defaultWindow >= minimumWindow else {
            throw root.fail(
                "dedup_window",
                "must be at least \(DurationText.format(minimumWindow)) (1h, and twice the retry schedule)"
            )
        }
        var jobTypes: [String: JobType] = [:]
        for (name, entry) in try root.entries("job_types") {
            try entry.allowOnly(["deadline", "dedup_window"])
            let deadline = try entry.duration("deadline", default: .seconds(60))
            let window = try entry.duration("dedup_window", default: defaultWindow)
            guard window >= minimumWindow else {
                throw entry.fail(
                    "dedup_window",
                    "must be at least \(DurationText.format(minimumWindow)) (1h, and twice the retry schedule)"
                )
            }
            guard deadline < consumerTimeout else {
                throw entry.fail(
                    "deadline",
                    "must be below broker_consumer_timeout (\(DurationText.format(consumerTimeout)))"
                )
            }
            jobTypes[name] = JobType(name: name, deadline: deadline, dedupWindow: window)
        }

        var queues: [Queue] = []
        var owner: [String: String] = [:]
        for (name, entry) in try root.entries("queues") {
            try entry.allowOnly(["job_types", "type", "prefetch", "concurrency", "delivery_limit", "ack_delay"])
            // Copies are routed by queue name on a topic exchange, where `*` and `#` are wildcards
            // and an empty word matches nothing.
            guard !name.isEmpty, !name.contains("*"), !name.contains("#"),
                !name.split(separator: ".", omittingEmptySubsequences: false).contains("")
            else {
                throw root.fail(
                    "queues",
                    "queue name \(name.debugDescription) must not contain `*`, `#` or an empty dot-separated word"
                )
            }
            let types = try entry.strings("job_types")
            for type in types {
                guard jobTypes[type] != nil else {
                    throw entry.fail("job_types", "\(type) is not declared under job_types")
                }
                if let other = owner[type] {
                    throw entry.fail("job_types", "\(type) is already routed to queue \(other)")
                }
                owner[type] = name
            }
            let queueType = try entry.string("type", default: defaultType)
            guard ["quorum", "classic"].contains(queueType) else {
                throw entry.fail("type", "expected quorum or classic")
            }
            let prefetch = try entry.positiveInt("prefetch", default: defaultPrefetch)
            guard prefetch <= Int(UInt16.max) else { throw entry.fail("prefetch", "at most \(UInt16.max)") }
            queues.append(
                Queue(
                    name: name,
                    jobTypes: types,
                    queueType: queueType,
                    prefetch: prefetch,
                    concurrency: try entry.positiveInt("concurrency", default: defaultConcurrency),
                    deliveryLimit: try entry.positiveInt("delivery_limit", default: defaultDeliveryLimit),
                    ackDelay: try Self.ackDelay(entry, default: defaultAckDelay)
                )
            )
        }
        guard !queues.isEmpty else { throw root.fail("queues", "at least one queue is needed") }
        return Topology(
            exchange: try root.string("exchange", default: "jobs"),
            deadLetterExchange: try root.string("dead_letter_exchange", default: "jobs.dead"),
            copiesExchange: try root.string("copies_exchange", default: "jobs.copies"),
            retry: RetrySchedule(delays: delays, jitter: jitter),
            brokerConsumerTimeout: consumerTimeout,
            queues: queues,
            jobTypes: jobTypes,
            defaultAckDelay: defaultAckDelay
        )
    }

    /// The longest `ack_delay` accepted: a longer one would mostly add to what a crash redelivers
    /// (the jobs finished within the delay) and leave job slots idle where the prefetch is close
    /// to the concurrency, since held acks keep their prefetch slots.
    static let maximumAckDelay = Duration.seconds(1)
    /// The shortest: `ack_delay` is a duration, and durations are whole milliseconds at least.
    static let minimumAckDelay = Duration.milliseconds(1)

    private static func ackDelay(_ reader: YAMLReader, default value: Duration) throws -> Duration {
        let delay = try reader.duration("ack_delay", default: value)
        guard delay <= maximumAckDelay else {
            throw reader.fail("ack_delay", "must be at most \(DurationText.format(maximumAckDelay))")
        }
        return delay
    }
}
