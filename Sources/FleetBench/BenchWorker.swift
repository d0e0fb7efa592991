import AMQP
import ClickHouse
import FleetApp
import FleetCore
import FleetJobs
import FleetProducer
import FleetStoreKit
import Foundation
import Logging
import Postgres
import Redis
import ServiceLifecycle
import Synchronization

/// The fleet side of one benchmark run, in a process of its own so that its peak RSS is its own:
/// drains `count` preloaded jobs through the real consumer path (or publishes `count` jobs through
/// the producer path), then prints one line of JSON in the C baseline's format.
public struct BenchWorker: Sendable {
    public var workload: BenchWorkload
    public var count: Int
    public var concurrency: Int
    public var prefetch: Int
    public var configuration: FleetConfiguration

    public init(
        workload: BenchWorkload,
        count: Int,
        concurrency: Int,
        prefetch: Int,
        configuration: FleetConfiguration
    ) {
        self.workload = workload
        self.count = count
        self.concurrency = concurrency
        self.prefetch = prefetch
        self.configuration = configuration
    }

    public func run(logger: Logger) async throws -> BenchResult {
        var configuration = configuration
        configuration.postgresPoolSize = concurrency
        configuration.redisPoolSize = concurrency
        let topology = try configuration.loadTopology().withBenchQueues(prefetch: prefetch, concurrency: concurrency)
        switch workload {
        case .noop, .write:
            return try await drainBenchQueue(topology: topology, configuration: configuration, logger: logger)
        case .mix, .hot:
            return try await drainMix(topology: topology, configuration: configuration, logger: logger)
        case .publish:
            return try await publish(topology: topology, configuration: configuration, logger: logger)
        }
    }

    private func drainBenchQueue(
        topology: Topology,
        configuration: FleetConfiguration,
        logger: Logger
    ) async throws -> BenchResult {
        // A no-op worker uses no store: it builds no store client at all, as a worker should not.
        let stores = workload == .noop ? nil : FleetStores(configuration: configuration)
        var registry = JobRegistry()
        let queue: Topology.Queue
        if let stores {
            registry.register(CounterWriteJob(postgres: stores.postgres, redis: stores.redis))
            queue = topology.queue(named: CounterWriteJob.jobType)!
        } else {
            registry.register(NoOpJob())
            queue = topology.queue(named: NoOpJob.jobType)!
        }
        let stats = FleetStats()
        // FLEET_PERFORMANCE_METRICS=on: a performance_metrics row per job, as `fleet run` writes them,
        // to measure what the rows cost the job path.
        // One connection, as `fleet run` gives a worker that does not name ClickHouse (FleetStores).
        var clickhouseConfiguration = configuration.clickhouse
        clickhouseConfiguration.maxConnections = 1
        let clickhouse =
            configuration.performanceMetrics ? ClickHouseClient(configuration: clickhouseConfiguration) : nil
        let metrics = clickhouse.map {
            PerformanceMetrics(clickhouse: $0, policy: configuration.metricsFlush, logger: logger)
        }
        var observer: JobFinishedObserver?
        if let metrics { observer = { job in metrics.record(job, service: "bench") } }
        let consumer = QueueConsumer(
            queue: queue,
            topology: topology,
            registry: registry,
            classifier: .stores,
            amqp: configuration.amqp,
            concurrency: concurrency,
            jobsBlock: stores != nil,
            stats: stats,
            logger: logger,
            onJobFinished: observer
        )
        var result = try await runUntilDone(consumer, stats: stats, logger: logger)
        result.lastAckWrittenUnixNanos = consumer.lastAckWrittenUnixNanoseconds
        await stores?.shutdown()
        if let metrics {
            await metrics.flush()
            logger.info("performance_metrics", metadata: ["dropped": "\(metrics.dropped)"])
        }
        try? await clickhouse?.shutdown()
        return result
    }

    private func drainMix(
        topology: Topology,
        configuration: FleetConfiguration,
        logger: Logger
    ) async throws -> BenchResult {
        // The mix runs every production queue; the hot workload only the one of `event.register`.
        let queues =
            workload == .hot
            ? [topology.queue(forJobType: EventRegisterHandler.jobType)!.name]
            : topology.queues.map(\.name).filter { !$0.hasPrefix("bench.") }
        let manifest = WorkerManifest(
            name: "bench-\(workload.rawValue)",
            queues: queues,
            concurrency: concurrency,
            stores: ["postgres", "redis", "mongodb", "neo4j"]
        )
        let worker = FleetWorker(manifest: manifest, topology: topology, configuration: configuration, logger: logger)
        // The assessments' follow-ups are jobs of the run too: the worker drains them as well.
        let settlements = workload == .mix ? BenchMix.settlements(count: count) : count
        var result = try await runUntilDone(worker, stats: worker.stats, until: settlements, logger: logger)
        result.types = BenchTypeTimings.shared.snapshot.sorted { $0.key < $1.key }.map {
            BenchTypeResult(type: $0.key, histogram: $0.value)
        }
        return result
    }

    /// Runs the service until `target` (default `count`) jobs are finished for good, then shuts it
    /// down gracefully.
    private func runUntilDone(
        _ service: some Service,
        stats: FleetStats,
        until target: Int? = nil,
        logger: Logger
    ) async throws -> BenchResult {
        let count = target ?? count
        let group = ServiceGroup(
            configuration: .init(services: [.init(service: service)], logger: logger)
        )
        let snapshot = try await withThrowingTaskGroup(of: FleetStats.Snapshot?.self) { tasks in
            tasks.addTask {
                try await group.run()
                return nil
            }
            tasks.addTask {
                while true {
                    let snapshot = stats.snapshot
                    if Self.finished(snapshot) >= count {
                        await group.triggerGracefulShutdown()
                        return snapshot
                    }
                    // The run's times come from the stats, not from this poll: a coarse one keeps
                    // the harness's own timer wake-ups out of the worker's CPU (measured: at 5 ms
                    // they cost the concurrency-1 worker about 2% of a core).
                    try await Task.sleep(for: .milliseconds(50))
                }
            }
            var result: FleetStats.Snapshot?
            for try await snapshot in tasks where snapshot != nil { result = snapshot }
            return result!
        }
        let finished = Self.finished(snapshot)
        return BenchResult(
            mode: "fleet-\(workload.rawValue)",
            jobs: finished,
            seconds: snapshot.busy.seconds,
            p50: snapshot.latency.percentile(0.5) ?? .zero,
            p99: snapshot.latency.percentile(0.99) ?? .zero,
            maxRSSKiB: BenchResult.ownPeakRSSKiB(),
            cpuMilliseconds: BenchResult.ownCPUMilliseconds()
        )
    }

    /// Jobs done for good: retried and delayed ones come back and are counted when they finish.
    static func finished(_ snapshot: FleetStats.Snapshot) -> Int {
        [.applied, .alreadyApplied, .deadLettered].reduce(0) { $0 + snapshot.counts[$1, default: 0] }
    }

    /// Publishes `count` no-op jobs through ``JobProducer`` (validation, then a confirmed publish),
    /// with as many in flight as the C publisher's confirm batch.
    private func publish(
        topology: Topology,
        configuration: FleetConfiguration,
        logger: Logger
    ) async throws -> BenchResult {
        let producer = JobProducer(
            amqp: configuration.amqp,
            exchange: topology.exchange,
            definitions: BenchJobTypes.definitions,
            logger: logger
        )
        let payload = BenchWorkload.envelope(.noop, index: 0).payload
        let tally = PublishTally()
        let count = count
        let started = ContinuousClock.now
        // As a caller publishing many jobs at once would (see ``JobProducer/taskExecutor``): on the
        // producer's connection thread, `prefetch` tasks each publishing the next job until none is
        // left, rather than a task per job.
        try await withTaskExecutorPreference(producer.taskExecutor) {
            try await withThrowingTaskGroup(of: Void.self) { tasks in
                for _ in 0..<min(prefetch, count) {
                    tasks.addTask {
                        while tally.taken.add(1, ordering: .relaxed).oldValue < count {
                            let sent = ContinuousClock.now
                            try await producer.enqueue(type: NoOpJob.jobType, payload: payload)
                            let latency = ContinuousClock.now - sent
                            tally.latencies.withLock { $0.record(latency) }
                        }
                    }
                }
                try await tasks.waitForAll()
            }
        }
        let elapsed = ContinuousClock.now - started
        let percentiles = tally.latencies.withLock { ($0.percentile(0.5) ?? .zero, $0.percentile(0.99) ?? .zero) }
        await producer.shutdown()
        return BenchResult(
            mode: "fleet-publish",
            jobs: count,
            seconds: elapsed.seconds,
            p50: percentiles.0,
            p99: percentiles.1,
            maxRSSKiB: BenchResult.ownPeakRSSKiB(),
            cpuMilliseconds: BenchResult.ownCPUMilliseconds()
        )
    }
}

/// What the publishing tasks share: how many jobs they took, and their latencies.
private final class PublishTally: Sendable {
    let taken = Atomic(0)
    let latencies = Mutex(LatencyHistogram())
}

extension Duration {
    var seconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}
