import BlockingIO
import Dispatch
import MetricsTestKit
import Synchronization
import Testing

/// `fleet_store_pool_connections` and `fleet_store_pool_waiters` follow the pool's size, and are
/// recorded only when it changes: a store call that finds an idle connection records nothing.
@Suite("Store pool gauges")
struct PoolGaugeTests {
    @Test func theGaugesRecordEachChangeOfThePoolsSizeAndNothingElse() async throws {
        let metrics = TestMetrics()
        let calls = StoreCallMetrics(store: "fake", factory: metrics, poolSizes: PoolSizes()) { _ in nil }
        let pool = BlockingConnectionPool(maxConnections: 1, metrics: calls) { IdleConnection() }
        let connections = try metrics.expectGauge("fleet_store_pool_connections", [("store", "fake")])
        let waiters = try metrics.expectGauge("fleet_store_pool_waiters", [("store", "fake")])

        // The first caller holds the only connection until released; the second waits for it.
        let release = DispatchSemaphore(value: 0)
        // A failed wait below must not leave the pool thread blocked.
        defer { release.signal() }
        let holding = Atomic(false)
        let first = Task {
            try await pool.withConnection { _ in
                holding.store(true, ordering: .sequentiallyConsistent)
                release.wait()
            }
        }
        try await waitUntil { holding.load(ordering: .sequentiallyConsistent) }
        let second = Task { try await pool.withConnection { _ in 2 } }
        try await waitUntil { waiters.lastValue == 1 }
        release.signal()
        try await first.value
        #expect(try await second.value == 2)
        for _ in 0..<5 { _ = try await pool.withConnection { _ in 0 } }

        // Opened (1 open, 0 waiting), a waiter came (1, 1) and was served (1, 0); the rest reused
        // the idle connection without changing the size.
        #expect(connections.values == [1, 1, 1])
        #expect(waiters.values == [0, 1, 0])
        await pool.shutdown()
        #expect(connections.lastValue == 0)
    }

    /// A process with several pools of one store (a worker's, the scheduler's) reports their sum.
    @Test func poolsOfOneStoreAreSummed() async throws {
        let metrics = TestMetrics()
        let sizes = PoolSizes()
        func pool() -> BlockingConnectionPool<IdleConnection> {
            let calls = StoreCallMetrics(store: "fake", factory: metrics, poolSizes: sizes) { _ in nil }
            return BlockingConnectionPool(maxConnections: 2, metrics: calls) { IdleConnection() }
        }
        let worker = pool()
        let scheduler = pool()
        _ = try await worker.withConnection { _ in 0 }
        let connections = try metrics.expectGauge("fleet_store_pool_connections", [("store", "fake")])
        #expect(connections.lastValue == 1)
        _ = try await scheduler.withConnection { _ in 0 }
        #expect(connections.lastValue == 2)
        await worker.shutdown()
        #expect(connections.lastValue == 1)
        await scheduler.shutdown()
        #expect(connections.lastValue == 0)
    }

    /// Polls `condition` for up to 30 s: a cold, loaded machine may be slow to start the tasks.
    private func waitUntil(_ condition: () -> Bool) async throws {
        let deadline = ContinuousClock.now + .seconds(30)
        while !condition() {
            try #require(ContinuousClock.now < deadline, "timed out")
            try await Task.sleep(for: .milliseconds(5))
        }
    }
}

/// A connection that holds nothing, for pool tests without a server.
private final class IdleConnection: BlockingConnection, @unchecked Sendable {
    var isUsable: Bool { true }
    func close() {}
}
