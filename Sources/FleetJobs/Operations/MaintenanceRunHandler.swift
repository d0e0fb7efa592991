import FleetContract
import FleetCore

/// `maintenance.run` `{}`: runs the fleet's retention pass (`FleetMaintenance.prune` in FleetApp,
/// injected here as `prune` since the pass spans every store). No ledger: pruning is idempotent by
/// nature, so a redelivery or a second scheduled copy only finds less to delete.
public struct MaintenanceRunHandler: JobHandler {
    public typealias Job = MaintenanceRun

    /// Runs the pass; returns how many records it deleted.
    let prune: @Sendable () async throws -> Int

    public init(prune: @escaping @Sendable () async throws -> Int) { self.prune = prune }

    public func handle(_ job: MaintenanceRun, context: JobContext) async throws -> JobOutcome {
        _ = try await prune()
        return .applied
    }
}
