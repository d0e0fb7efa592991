import Metrics
import Synchronization

/// What `/readyz` answers: the process's own reasons (its workers' ``WorkerReadiness``, given as a
/// closure so this module needs no worker type) plus a cached probe of each store its manifests name.
///
/// Stores are probed every ``interval`` (a cheap round trip each, e.g. `SELECT 1`, Redis `PING`),
/// never per request: a scraping load balancer costs the stores nothing. A store counts as
/// unreachable until its first probe answered, and again as soon as one fails or takes longer than
/// ``timeout``. Each tick, and each `/readyz`, also sets the gauge `fleet_ready` (1 ready, 0 not).
public final class ReadinessCheck: Sendable {
    /// One store's probe; `probe` throws (or outlasts the timeout) when the store does not answer.
    public struct StoreProbe: Sendable {
        public let store: String
        public let probe: @Sendable () async throws -> Void

        public init(store: String, probe: @escaping @Sendable () async throws -> Void) {
            self.store = store
            self.probe = probe
        }
    }

    public let interval: Duration
    public let timeout: Duration
    private let processReasons: @Sendable () -> [String]
    private let probes: [StoreProbe]
    /// Stores whose last probe answered.
    private let reachable = Mutex<Set<String>>([])
    private let readyGauge: Gauge

    /// - Parameters:
    ///   - processReasons: why the process's workers cannot work now (``WorkerReadiness`` texts).
    ///   - probes: one per store the process's manifests name.
    ///   - metrics: where `fleet_ready` goes (tests pass a private backend).
    public init(
        processReasons: @escaping @Sendable () -> [String],
        probes: [StoreProbe],
        interval: Duration = .seconds(5),
        timeout: Duration = .seconds(3),
        metrics: any MetricsFactory = MetricsSystem.factory
    ) {
        readyGauge = Gauge(label: "fleet_ready", factory: metrics)
        self.processReasons = processReasons
        self.probes = probes
        self.interval = interval
        self.timeout = timeout
    }

    /// Why the process is not ready, one reason a line; empty when ready. Never holds credentials:
    /// reasons name connections, queues and stores only.
    public var reasons: [String] {
        let reachable = reachable.withLock { $0 }
        let stores = probes.map(\.store).filter { !reachable.contains($0) }.sorted().map { "store unreachable: \($0)" }
        let reasons = processReasons() + stores
        readyGauge.record(reasons.isEmpty ? 1 : 0)
        return reasons
    }

    /// Probes every store now, all at once, each bounded by ``timeout``.
    public func probeOnce() async {
        let results = await withTaskGroup(of: (String, Bool).self) { group in
            for probe in probes {
                group.addTask { (probe.store, await Self.answers(probe.probe, within: self.timeout)) }
            }
            return await group.reduce(into: [String: Bool]()) { $0[$1.0] = $1.1 }
        }
        reachable.withLock { reachable in
            for (store, answered) in results {
                if answered { reachable.insert(store) } else { reachable.remove(store) }
            }
        }
        _ = reasons  // sets fleet_ready
    }

    /// Probes every ``interval`` until cancelled.
    public func run() async {
        while !Task.isCancelled {
            await probeOnce()
            try? await Task.sleep(for: interval)
        }
    }

    /// True when `probe` returned within `timeout`; a late probe is cancelled.
    static func answers(_ probe: @escaping @Sendable () async throws -> Void, within timeout: Duration) async -> Bool {
        await withTaskGroup(of: Bool.self) { group in
            group.addTask { (try? await probe()) != nil }
            group.addTask {
                try? await Task.sleep(for: timeout)
                return false
            }
            let first = await group.next() ?? false
            group.cancelAll()
            return first
        }
    }
}
