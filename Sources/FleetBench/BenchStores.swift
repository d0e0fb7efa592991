import AMQP
import ClickHouse
import FleetApp
import FleetContract
import FleetCore
import FleetJobs
import FleetProducer
import Foundation
import Logging
import Postgres
import Synchronization

/// The bench's own use of the servers: the queue preloads, the resets between runs, and the checks
/// that each run did exactly its work (a fast run that loses or repeats jobs is a failed run).
struct BenchStores: Sendable {
    let postgres: PostgresClient
    let topology: Topology
    let amqp: AMQPConfiguration
    let logger: Logger
    /// Where workloads C and hot also find MongoDB, the graph and Redis.
    let configuration: FleetConfiguration
    /// Seats of the hot workload's event.
    let hotCapacity: Int
    /// The ids of this suite's mix entities.
    let mix = BenchMix(namespace: BenchMix.randomNamespace())
    /// The plan of the run being measured: made by the preload, checked by the verification.
    private let current = CurrentPlan()

    init(
        postgres: PostgresClient,
        topology: Topology,
        amqp: AMQPConfiguration,
        logger: Logger,
        configuration: FleetConfiguration,
        hotCapacity: Int = BenchHotPlan.defaultCapacity
    ) {
        self.postgres = postgres
        self.topology = topology
        self.amqp = amqp
        self.logger = logger
        self.configuration = configuration
        self.hotCapacity = hotCapacity
    }

    /// `domains`: workload C or hot will run: every store migrated, the mix's entities seeded.
    func prepare(domains: Bool) async throws {
        try await postgres.withConnection { connection in
            try connection.execute(
                script:
                    "CREATE TABLE IF NOT EXISTS \(CounterWriteJob.table) (key text PRIMARY KEY, counter bigint NOT NULL)"
            )
        }
        if configuration.performanceMetrics {
            // The workers write a performance_metrics row per job, as `fleet run` does: on a new
            // machine nothing else has made that table yet, and every batch would fail.
            let clickhouse = ClickHouseClient(configuration: configuration.clickhouse)
            do {
                _ = try await ClickHouseMigrations.migrate(clickhouse)
            } catch {
                try? await clickhouse.shutdown()
                throw error
            }
            try? await clickhouse.shutdown()
        }
        if domains {
            try await BenchDomainStores.with(configuration, postgres: postgres) { stores in
                try await stores.migrate()
                try await mix.seed(stores)
            }
        }
    }

    /// Empties the bench's queues and the state its workloads write.
    func reset(_ workload: BenchWorkload) async throws {
        let queues = topology.queues.flatMap { queue in
            [queue.name, queue.deadLetterQueue] + topology.retry.delays.map { queue.retryQueue(delay: $0) }
        }
        try await AMQPConnection.withDedicatedThread(amqp) { connection in
            for queue in queues { _ = try connection.purgeQueue(queue) }
        }
        switch workload {
        case .write:
            try await postgres.withConnection { try $0.execute(script: "TRUNCATE \(CounterWriteJob.table)") }
        case .mix, .hot:
            // The stores are reset by the preload, which makes the run's plan.
            break
        case .noop, .publish:
            break
        }
    }

    /// The queues a workload's jobs wait in: its bench queue, or the production queues for the mix.
    func workQueues(of workload: BenchWorkload) -> [String] {
        switch workload {
        case .noop, .publish: [NoOpJob.jobType]
        case .write: [CounterWriteJob.jobType]
        case .mix: topology.queues.map(\.name).filter { !$0.hasPrefix("bench.") }
        case .hot: [topology.queue(forJobType: EventRegisterHandler.jobType)?.name ?? "fleet.networking"]
        }
    }

    /// Publishes the workload's `count` jobs, confirmed, many in flight.
    func preload(_ workload: BenchWorkload, count: Int) async throws {
        let envelopes = try await plan(workload, count: count)
        let producer = JobProducer(
            amqp: amqp,
            exchange: topology.exchange,
            definitions: BenchJobTypes.definitions + JobContract.definitions,
            logger: logger
        )
        do {
            try await withThrowingTaskGroup(of: Void.self) { tasks in
                for index in 0..<count {
                    if index >= 1_000 { try await tasks.next() }
                    let envelope = envelopes?[index] ?? BenchWorkload.envelope(workload, index: index)
                    tasks.addTask { try await producer.publish(envelope: envelope, body: envelope.encoded()) }
                }
                try await tasks.waitForAll()
            }
        } catch {
            await producer.shutdown()
            throw error
        }
        await producer.shutdown()
        let queues = workQueues(of: workload)
        // Every publish is confirmed, but one count right after the last confirm once read 116 short
        // (not seen again): a short count may still be the queue catching up, so it is read again for
        // a while; a count that stays short, or one that is over, fails the run.
        let deadline = ContinuousClock.now + .seconds(5)
        while true {
            let depth = try await AMQPConnection.withDedicatedThread(amqp) { connection in
                try queues.reduce(0) { $0 + Int(try connection.declareQueue($1, passive: true)) }
            }
            if depth == count { return }
            guard depth < count, ContinuousClock.now < deadline else {
                throw BenchError("preloaded \(count) jobs, but \(depth) are queued")
            }
            try await Task.sleep(for: .milliseconds(100))
        }
    }

    /// Checks that the run drained its queue and applied each job exactly once in effect.
    func verify(_ workload: BenchWorkload, jobs: Int, label: String) async throws {
        let work = workload == .publish ? [] : workQueues(of: workload)
        // Workloads C and hot: nothing dead-lettered, nothing still waiting for a retry either.
        let queues =
            work
            + (workload == .mix || workload == .hot
                ? work.compactMap { topology.queue(named: $0) }.flatMap { queue in
                    [queue.deadLetterQueue] + topology.retry.delays.map { queue.retryQueue(delay: $0) }
                } : [])
        let depths = try await AMQPConnection.withDedicatedThread(amqp) { connection in
            try queues.map { try connection.declareQueue($0, passive: true) }
        }
        guard depths.allSatisfy({ $0 == 0 }) else {
            throw BenchError("\(label): messages left in \(queues) after the run: \(depths)")
        }
        switch workload {
        case .write:
            let sum = try await postgres.query("SELECT coalesce(sum(counter), 0)::bigint AS total FROM bench_counters")
            let total = sum.first?["total"].flatMap { Int($0) } ?? -1
            guard total == jobs else { throw BenchError("\(label): counters sum to \(total), not \(jobs)") }
        case .mix, .hot:
            try await verifyDomains(label: label)
        case .publish:
            let queued = try await AMQPConnection.withDedicatedThread(amqp) { connection in
                try connection.declareQueue(NoOpJob.jobType, passive: true)
            }
            guard queued == jobs else { throw BenchError("\(label): \(queued) of \(jobs) published jobs are queued") }
        case .noop:
            break
        }
    }

    /// Makes the run's plan (workloads C and hot): resets the stores it writes, seeds its graph
    /// entities, and returns its envelopes. Nil for the other workloads.
    private func plan(_ workload: BenchWorkload, count: Int) async throws -> [JobEnvelope]? {
        guard workload == .mix || workload == .hot else { return nil }
        let run = current.nextRun()
        // In the past (dedup records must fall inside the window), one millisecond apart.
        let base = Date().addingTimeInterval(-600)
        return try await BenchDomainStores.with(configuration, postgres: postgres) { stores in
            if let previous = current.plan { try await stores.deleteGraph(prefix: mix.runPrefix(previous.run)) }
            if workload == .mix {
                let plan = BenchMixPlan(mix: mix, run: run, count: count, base: base)
                try await mix.reset(plan, stores)
                current.plan = .mix(plan)
                return plan.envelopes
            }
            let plan = BenchHotPlan(mix: mix, run: run, count: count, capacity: hotCapacity, base: base)
            try await plan.seed(stores)
            current.plan = .hot(plan)
            return plan.envelopes
        }
    }

    /// Checks the stores against the run's plan, then deletes the run's graph entities.
    private func verifyDomains(label: String) async throws {
        guard let plan = current.plan else { throw BenchError("\(label): no plan to check") }
        try await BenchDomainStores.with(configuration, postgres: postgres) { stores in
            switch plan {
            case .mix(let plan): try await BenchMixCheck.verify(plan, stores, label: label)
            case .hot(let plan): try await plan.verify(stores, label: label)
            }
            try await stores.deleteGraph(prefix: mix.runPrefix(plan.run))
        }
        current.plan = nil
    }
}

/// The plan of the run being measured, between its preload and its check.
private final class CurrentPlan: Sendable {
    enum Plan: Sendable {
        case mix(BenchMixPlan)
        case hot(BenchHotPlan)

        var run: Int {
            switch self {
            case .mix(let plan): plan.run
            case .hot(let plan): plan.run
            }
        }
    }

    private let state = Mutex<(run: Int, plan: Plan?)>((0, nil))

    var plan: Plan? {
        get { state.withLock { $0.plan } }
        set { state.withLock { $0.plan = newValue } }
    }

    func nextRun() -> Int {
        state.withLock { state in
            state.run += 1
            return state.run
        }
    }
}
