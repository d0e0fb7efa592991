import FleetCore
import FleetJobs
import FleetOutbox
import FleetStoreKit
import Foundation

/// `fleet maintenance`: removes every deduplication record older than its job type's dedup window
/// (`queues.yaml`, 7 days by default), in every store that keeps them, and the `fleet_outbox` rows
/// of the fleet's PostgreSQL database sent longer ago than the same window. Safe to run at any time
/// and from several places at once; run it daily (the Kubernetes example has a CronJob).
public enum FleetMaintenance {
    enum Store: String {
        case postgres
        case mongodb
        case graph = "neo4j"
    }

    /// Where each job type keeps its dedup records (PostgreSQL when not listed).
    static let stores: [String: Store] = [
        EventRegisterHandler.jobType: .graph, EventCancelHandler.jobType: .graph,
        MentorshipStartHandler.jobType: .graph, MentorshipSessionLoggedHandler.jobType: .graph,
        AssessmentScoreHandler.jobType: .mongodb, ContentPublishHandler.jobType: .mongodb,
        ContentUnpublishHandler.jobType: .mongodb, JobMarketTrendIngestHandler.jobType: .mongodb,
    ]

    public struct Pruned: Sendable, Equatable, CustomStringConvertible {
        public let store: String
        public let jobType: String
        public let records: Int

        public var description: String { "\(store) \(jobType): \(records) record(s) pruned" }
    }

    /// Prunes each job type's records older than `now` minus its window.
    public static func prune(stores: FleetStores, topology: Topology, now: Date = Date()) async throws -> [Pruned] {
        var pruned: [Pruned] = []
        func cutoff(_ type: String) -> Date {
            now.addingTimeInterval(-topology.dedupWindow(of: type).timeInterval)
        }
        for type in topology.jobTypes.keys.sorted() {
            let store = Self.stores[type] ?? .postgres
            let records: Int
            switch store {
            case .postgres:
                records = try await PostgresJobLedger.prune(stores.postgres, jobType: type, olderThan: cutoff(type))
            case .mongodb:
                // Key bindings, a lease older than the records they lead to (a binding is taken
                // before its write); in-document records past the window stop counting and are
                // dropped when their document is next written.
                let bindingCutoff = cutoff(type).addingTimeInterval(-KeyBinding.lease.timeInterval)
                records = try await MongoRetention.prune(stores.mongodb, jobType: type, olderThan: bindingCutoff)
            case .graph:
                records = try await GraphRetention.prune(stores.graph, jobType: type, olderThan: cutoff(type))
            }
            pruned.append(Pruned(store: store.rawValue, jobType: type, records: records))
        }
        // The outbox of the fleet's own database; a relay prunes the outbox it relays from too.
        let outbox = try await outboxRetention(topology).prune(stores.postgres, now: now)
        for (type, rows) in outbox.sorted(by: { $0.key < $1.key }) {
            pruned.append(Pruned(store: "postgres fleet_outbox", jobType: type, records: rows))
        }
        // Cancels kept for a registration not processed yet (`FleetRegistrationCancels`) are not
        // pruned: they are entity state, and a register delayed or replayed past any window must
        // still find its later cancel (CONTRACT "Order" has no window).
        return pruned
    }

    /// Sent outbox rows are kept for their job type's dedup window.
    public static func outboxRetention(_ topology: Topology) -> OutboxRetention {
        OutboxRetention(
            windows: topology.jobTypes.mapValues(\.dedupWindow),
            defaultWindow: Topology.defaultDedupWindow
        )
    }
}
