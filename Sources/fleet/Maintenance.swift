import ArgumentParser
import FleetApp
import FleetJobs

struct Maintenance: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Prune deduplication records older than each job type's dedup window (run it daily).",
        discussion: """
            Each job type's window is `dedup_window` in queues.yaml (7d by default). Records older than \
            it are deleted: the PostgreSQL ledger (fleet_applied_jobs), MongoDB key bindings \
            (fleet_job_keys, kept 30 minutes longer: a binding precedes its record) and Neo4j \
            FleetAppliedJob nodes; and fleet_outbox rows of this database sent longer ago than their job \
            type's window (failed and unsent rows are kept). MongoDB's per-document fleet_applied_jobs entries past the window \
            stop counting at once and are dropped when their document is next written. Entity state \
            (enrollment histories, job stamps, early cancels) is kept. A job delivered again after its \
            window is a new job. Safe to run at any time, and from several places at once.
            """
    )

    @OptionGroup var common: CommonOptions

    func run() async throws {
        let configuration = try common.configuration()
        let topology = try configuration.loadTopology()
        let stores = FleetStores(configuration: configuration, exchange: topology.exchange)
        do {
            let pruned = try await FleetMaintenance.prune(stores: stores, topology: topology)
            await stores.shutdown()
            for line in pruned where line.records > 0 { print(line) }
            print("pruned \(pruned.map(\.records).reduce(0, +)) record(s) past their dedup window")
        } catch {
            await stores.shutdown()
            throw error
        }
    }
}
