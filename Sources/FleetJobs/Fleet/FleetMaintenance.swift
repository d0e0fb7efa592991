import FleetCore
import Foundation

/// `fleet maintenance`: removes every deduplication record older than its job type's dedup window
/// (`queues.yaml`, 7 days by default), in every store that keeps them. Safe to run at any time and
/// from several places at once; run it daily (the Kubernetes example has a CronJob).
public enum FleetMaintenance {
    public struct Pruned: Sendable, Equatable, CustomStringConvertible {
        public let store: String
        public let jobType: String
        public let records: Int

        public var description: String { "\(store) \(jobType): \(records) record(s) pruned" }
    }

    /// Prunes each job type's records older than `now` minus its window.
    public static func prune(stores: FleetStores, topology: Topology, now: Date = Date()) async throws -> [Pruned] {
        var pruned: [Pruned] = []
        for type in topology.jobTypes.keys.sorted() {
            let cutoff = now.addingTimeInterval(-Double(topology.dedupWindow(of: type).milliseconds) / 1000)
            pruned.append(
                Pruned(
                    store: "postgres",
                    jobType: type,
                    records: try await PostgresJobLedger.prune(stores.postgres, jobType: type, olderThan: cutoff)
                )
            )
        }
        return pruned
    }
}
