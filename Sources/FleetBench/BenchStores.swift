import AMQP
import FleetCore
import FleetJobs
import Logging
import Postgres

/// The bench's own use of the servers: the queue preloads, the resets between runs, and the checks
/// that each run did exactly its work (a fast run that loses or repeats jobs is a failed run).
struct BenchStores: Sendable {
    let postgres: PostgresClient
    let topology: Topology
    let amqp: AMQPConfiguration
    let logger: Logger

    func prepare(mix: Bool) async throws {
        try await postgres.withConnection { connection in
            try connection.execute(
                script:
                    "CREATE TABLE IF NOT EXISTS \(CounterWriteJob.table) (key text PRIMARY KEY, counter bigint NOT NULL)"
            )
        }
        if mix {
            _ = try await PostgresMigrations.migrate(postgres)
            try await SampleWorkload.seed(postgres, users: BenchWorkload.mixUsers, courses: BenchWorkload.mixCourses)
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
        case .mix:
            try await postgres.withConnection { connection in
                try connection.execute(
                    script: """
                        TRUNCATE fleet_applied_jobs, user_courses;
                        UPDATE courses SET total_enrollments = 0;
                        """
                )
            }
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
        }
    }

    /// Publishes the workload's `count` jobs, confirmed, many in flight.
    func preload(_ workload: BenchWorkload, count: Int) async throws {
        let producer = JobProducer(amqp: amqp, exchange: topology.exchange, registry: JobRegistry(), logger: logger)
        do {
            try await withThrowingTaskGroup(of: Void.self) { tasks in
                for index in 0..<count {
                    if index >= 1_000 { try await tasks.next() }
                    let envelope =
                        workload == .mix
                        ? BenchWorkload.mixEnvelope(index: index) : BenchWorkload.envelope(workload, index: index)
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
        let depth = try await AMQPConnection.withDedicatedThread(amqp) { connection in
            try queues.reduce(0) { $0 + Int(try connection.declareQueue($1, passive: true)) }
        }
        guard depth == count else { throw BenchError("preloaded \(count) jobs, but \(depth) are queued") }
    }

    /// Checks that the run drained its queue and applied each job exactly once in effect.
    func verify(_ workload: BenchWorkload, jobs: Int, label: String) async throws {
        let queues = workload == .publish ? [] : workQueues(of: workload)
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
        case .mix:
            let rows = try await postgres.query(
                """
                SELECT (SELECT coalesce(sum(total_enrollments), 0) FROM courses)::bigint AS counter,
                       (SELECT count(*) FROM user_courses WHERE status <> 'dropped')::bigint AS active,
                       (SELECT count(*) FROM fleet_applied_jobs)::bigint AS applied
                """
            )
            let row = rows.first
            let counter = row?["counter"].flatMap { Int($0) } ?? -1
            let active = row?["active"].flatMap { Int($0) } ?? -2
            let applied = row?["applied"].flatMap { Int($0) } ?? -1
            guard counter == active else {
                throw BenchError("\(label): total_enrollments sum \(counter) != \(active) active enrollments")
            }
            guard applied == jobs else { throw BenchError("\(label): \(applied) of \(jobs) jobs applied") }
        case .publish:
            let queued = try await AMQPConnection.withDedicatedThread(amqp) { connection in
                try connection.declareQueue(NoOpJob.jobType, passive: true)
            }
            guard queued == jobs else { throw BenchError("\(label): \(queued) of \(jobs) published jobs are queued") }
        case .noop:
            break
        }
    }
}
