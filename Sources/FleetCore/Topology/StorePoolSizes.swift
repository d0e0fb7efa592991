import Foundation

/// How many connections each store's pool holds in one worker process: one per job of the process
/// that can use the store at the same moment, so no job waits for a connection while its store has
/// room, and no more.
///
/// A job holds at most one connection of a store at a time, so a store's pool needs the sum of the
/// concurrency of the queues whose manifest names the store (a manifest's `concurrency` overrides the
/// queue's). The sum is capped at ``defaultCap``: every connection of a blocking client is also a
/// thread, and PostgreSQL's default `max_connections` (100) must leave room for a few replicas and
/// for maintenance; past the cap, jobs wait for a connection instead of the server queueing them. A
/// store no manifest names gets 0: the smallest pool, whose threads and connections start on first
/// use, which none of the process's jobs makes.
public struct StorePoolSizes: Sendable, Equatable {
    /// The most connections to one store from one process.
    public static let defaultCap = 32

    /// Store name (as manifests write it: `postgres`, `redis`, `mongodb`, `neo4j`) → connections.
    public let connections: [String: Int]

    /// Explicit sizes; a store missing from `connections` has 0.
    public init(connections: [String: Int]) {
        self.connections = connections
    }

    /// The connections `store` needs; 0 when no job of the process uses it.
    public subscript(store: String) -> Int { connections[store] ?? 0 }

    /// The sizes for the workers of `manifests` running in one process.
    public static func forWorkers(
        _ manifests: [WorkerManifest],
        topology: Topology,
        cap: Int = defaultCap
    ) -> StorePoolSizes {
        var sums: [String: Int] = [:]
        for manifest in manifests {
            let jobsAtOnce = manifest.queues.compactMap { topology.queue(named: $0) }.reduce(0) {
                $0 + (manifest.concurrency ?? $1.concurrency)
            }
            for store in Set(manifest.stores) { sums[store, default: 0] += jobsAtOnce }
        }
        return StorePoolSizes(connections: sums.mapValues { min($0, cap) })
    }

    /// A pool's `maxConnections`: the size, or 1 for an unused store (a pool must allow one; it
    /// starts no thread and opens no connection until called).
    public func maxConnections(_ store: String) -> Int { max(self[store], 1) }
}
