import AMQP

/// Least-privilege broker users for a ``Topology`` and its worker manifests (`fleet topology users`).
///
/// RabbitMQ checks three regexes per user and vhost: configure (declare/delete), write (publish to an
/// exchange, bind a queue) and read (consume/get/purge a queue, bind from an exchange), plus, on topic
/// exchanges only, a routing-key regex (topic permissions). What each user gets:
/// - `fleet-worker-<name>`: read its own work queues; write the copies exchange (`jobs.copies`) with a
///   topic permission limited to its own queues' retry and dead-letter queues and, if its jobs enqueue
///   follow-ups, `jobs` with a topic permission limited to those types; configure nothing (`fleet run`
///   only checks queues passively). No default exchange: it would let the user publish into any queue.
/// - `fleet-producer`: write `jobs` with a topic permission limited to the contract's job types; read
///   and configure nothing. The scheduler and the outbox relay publish with it.
/// - `fleet-operator`: configure, write and read exactly the topology's exchanges and queues (for
///   `fleet topology declare`, `fleet dlq`, `fleet status`), and the management tag. It also writes
///   the default exchange, which `fleet dlq replay` sends jobs back through; the default exchange
///   checks no routing key, so the operator can publish into any queue of the vhost.
public struct BrokerUser: Sendable, Equatable {
    public var name: String
    /// What the user is for, one line (a comment in the generated output).
    public var purpose: String
    public var tags: [String]
    public var configure: String
    public var write: String
    public var read: String
    /// Routing-key regexes on topic exchanges, by exchange name.
    public var topicWrite: [String: String]

    public init(
        name: String,
        purpose: String,
        tags: [String] = [],
        configure: String,
        write: String,
        read: String,
        topicWrite: [String: String] = [:]
    ) {
        self.name = name
        self.purpose = purpose
        self.tags = tags
        self.configure = configure
        self.write = write
        self.read = read
        self.topicWrite = topicWrite
    }
}

public enum BrokerUsers {
    /// RabbitMQ's name for the default exchange in permission checks.
    public static let defaultExchange = "amq.default"
    public static let producerName = "fleet-producer"
    public static let operatorName = "fleet-operator"
    /// A regex nothing matches (RabbitMQ treats the empty string the same way).
    public static let nothing = "^$"

    public static func workerName(_ manifest: String) -> String { "fleet-worker-\(manifest)" }

    /// - Parameter followUps: the job types each job type's handler enqueues as follow-ups.
    public static func plan(
        topology: Topology,
        manifests: [WorkerManifest],
        followUps: [String: [String]]
    ) -> [BrokerUser] {
        var users = manifests.sorted { $0.name < $1.name }.map {
            worker($0, topology: topology, followUps: followUps)
        }
        let contractTypes = topology.queues.flatMap(\.jobTypes).sorted()
        users.append(
            BrokerUser(
                name: producerName,
                purpose: "API servers, fleet enqueue, the scheduler and the outbox relay: publish jobs only",
                configure: nothing,
                write: anchored([topology.exchange]),
                read: nothing,
                topicWrite: [topology.exchange: anchored(contractTypes)]
            )
        )
        let everything =
            [topology.exchange, topology.deadLetterExchange, topology.copiesExchange] + allQueues(topology)
        users.append(
            BrokerUser(
                name: operatorName,
                purpose: "fleet topology declare, fleet dlq, fleet status: the topology's exchanges and queues",
                tags: ["management"],
                configure: anchored(everything),
                write: anchored(everything + [defaultExchange]),
                read: anchored(everything)
            )
        )
        return users
    }

    static func worker(_ manifest: WorkerManifest, topology: Topology, followUps: [String: [String]]) -> BrokerUser {
        let types = manifest.queues.compactMap { topology.queue(named: $0) }.flatMap(\.jobTypes)
        let published = Set(types.flatMap { followUps[$0] ?? [] }).sorted()
        // Its queues' copies, and the publisher's probe, which no queue is bound by.
        let copyTargets =
            manifest.queues.compactMap { topology.queue(named: $0) }.flatMap { queue in
                [queue.deadLetterQueue] + topology.retry.delays.map { queue.retryQueue(delay: $0) }
            } + [AMQPClient.probeRoutingKey]
        var write = [topology.copiesExchange]
        var topic = [topology.copiesExchange: anchored(copyTargets)]
        if !published.isEmpty {
            write.append(topology.exchange)
            topic[topology.exchange] = anchored(published)
        }
        return BrokerUser(
            name: workerName(manifest.name),
            purpose: "worker \(manifest.name): consume \(manifest.queues.joined(separator: ", "))"
                + (published.isEmpty ? "" : ", enqueue \(published.joined(separator: ", "))"),
            configure: nothing,
            write: anchored(write),
            read: anchored(manifest.queues),
            topicWrite: topic
        )
    }

    /// Every queue the declarer creates: work, dead-letter and retry queues.
    static func allQueues(_ topology: Topology) -> [String] {
        topology.queues.flatMap { queue in
            [queue.name, queue.deadLetterQueue] + topology.retry.delays.map { queue.retryQueue(delay: $0) }
        }
    }

    /// `^(a|b)$` matching exactly these names, metacharacters escaped.
    public static func anchored(_ names: [String]) -> String {
        let escaped = names.map(escape)
        return escaped.count == 1 ? "^\(escaped[0])$" : "^(\(escaped.joined(separator: "|")))$"
    }

    /// `name` as a literal in an Erlang (PCRE) regex.
    public static func escape(_ name: String) -> String {
        var result = ""
        for character in name {
            if "\\^$.|?*+()[]{}".contains(character) { result.append("\\") }
            result.append(character)
        }
        return result
    }
}
