import FleetCore

/// A work queue of the topology with its retry and dead-letter queues, as `fleet status` and the
/// dashboard show it: the work queue's own counts and rates, plus what waits for a retry and what was
/// dead-lettered.
public struct QueueOverview: Sendable, Equatable, Codable {
    public var name: String
    public var ready: Int
    public var unacked: Int
    public var consumers: Int
    public var publishRate: Double
    public var deliverRate: Double
    /// Messages in all of the queue's retry queues (waiting out a backoff or a `not_before`).
    public var retrying: Int
    public var deadLettered: Int
    /// False when the broker has no such queue (topology not declared, or deleted).
    public var exists: Bool

    /// One overview per work queue of `topology`, in its order, from the broker's `queues`.
    public static func build(topology: Topology, queues: [ManagedQueue]) -> [QueueOverview] {
        let byName = Dictionary(queues.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        return topology.queues.map { queue in
            let work = byName[queue.name]
            let retrying = topology.retry.delays.reduce(0) { $0 + (byName[queue.retryQueue(delay: $1)]?.ready ?? 0) }
            return QueueOverview(
                name: queue.name,
                ready: work?.ready ?? 0,
                unacked: work?.unacked ?? 0,
                consumers: work?.consumers ?? 0,
                publishRate: work?.publishRate ?? 0,
                deliverRate: work?.deliverRate ?? 0,
                retrying: retrying,
                deadLettered: byName[queue.deadLetterQueue]?.ready ?? 0,
                exists: work != nil
            )
        }
    }
}
