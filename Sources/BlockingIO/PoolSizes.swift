import Metrics
import NIOConcurrencyHelpers

/// The connection pools of this process, summed per store for `fleet_store_pool_connections{store}`
/// and `fleet_store_pool_waiters{store}`: one process can hold several pools of a store (a worker's,
/// the scheduler's, the outbox relay's), and their gauges share those labels. Each pool reports its
/// own size; the gauges show the sum, so they no longer say whichever pool changed last.
public final class PoolSizes: Sendable {
    /// Every pool of the process reports here unless a test gives its clients one of their own.
    public static let shared = PoolSizes()

    private struct Size {
        var open = 0
        var waiting = 0
    }

    private struct State {
        var totals: [String: Size] = [:]
        var pools: [ObjectIdentifier: Size] = [:]
    }

    private let state = NIOLockedValueBox(State())

    public init() {}

    /// Replaces what `pool` counted for `store` with `open` and `waiting`, then records the store's
    /// sums to the gauges, under the lock: two pools changing at once never record an older sum last.
    func report(
        pool: ObjectIdentifier,
        store: String,
        open: Int,
        waiting: Int,
        connections: Gauge,
        waiters: Gauge
    ) {
        state.withLockedValue { state in
            let before = state.pools[pool] ?? Size()
            var total = state.totals[store] ?? Size()
            total.open += open - before.open
            total.waiting += waiting - before.waiting
            state.totals[store] = total
            // A pool that shut down counts nothing: forget it.
            state.pools[pool] = open == 0 && waiting == 0 ? nil : Size(open: open, waiting: waiting)
            connections.record(total.open)
            waiters.record(total.waiting)
        }
    }
}

/// The size a pool last recorded to its gauges, kept in the pool's own state (under its lock or
/// actor): a store call used to record the size twice (gauge updates and lock rounds on every call),
/// though it rarely changes, so a pool records it only when it changed. Under the pool's lock, a
/// size read earlier is never recorded after a newer one.
public struct RecordedPoolSize: Sendable {
    private var open = -1  // -1: nothing recorded yet
    private var waiting = -1

    public init() {}

    /// Records `open` and `waiting` to `metrics` when they differ from what was recorded last.
    public mutating func update(open: Int, waiting: Int, to metrics: StoreCallMetrics?) {
        guard let metrics, open != self.open || waiting != self.waiting else { return }
        self.open = open
        self.waiting = waiting
        metrics.recordPool(open: open, waiting: waiting)
    }
}
