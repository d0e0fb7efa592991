import Bolt
import FleetApp
import FleetContract
import FleetCore
import FleetJobs
import Foundation
import Logging
import Redis
import Testing

/// One hot event: many registrations for the same event at once, run by the handler against the
/// graph server and Redis, from one or two "processes" (each its own Redis and Bolt clients, so its
/// own local lock queue and wake subscription, exactly as two worker processes would have).
///
/// Checks the capacity guarantee (never over, exactly min(n, capacity) confirmed) and prints the
/// throughput and per-job latency. It is not a timed test: the numbers are printed, never asserted.
/// `FLEET_HOT_REGISTRATIONS` (default 200) sets the number of registrations; the README's figures
/// come from 1,000.
@Suite("Hot event", .serialized)
struct HotEventTests {
    static let environment = ProcessInfo.processInfo.environment
    static var registrations: Int { environment["FLEET_HOT_REGISTRATIONS"].flatMap(Int.init) ?? 200 }

    static func id() -> String { UUID().uuidString.lowercased() }

    /// One worker process's stores.
    struct Process {
        let graph: BoltClient
        let redis: RedisClient
        let handler: EventRegisterHandler

        init(_ configuration: FleetConfiguration) {
            graph = BoltClient(configuration: configuration.bolt, maxConnections: 16)
            redis = RedisClient(configuration: configuration.redis, maxConnections: 16)
            // The production lock timeout and lease.
            handler = EventRegisterHandler(graph: graph, redis: redis)
        }

        func shutdown() async {
            await graph.shutdown()
            await redis.shutdown()
        }
    }

    struct Run {
        var seconds: Double
        var latencies: [Double]  // ms, sorted
        var failures: [String]

        func percentile(_ p: Double) -> Double {
            guard !latencies.isEmpty else { return .nan }
            let rank = Int((p * Double(latencies.count)).rounded(.up)) - 1
            return latencies[min(max(rank, 0), latencies.count - 1)]
        }
    }

    /// Runs `count` registrations for `event`, `concurrency` at a time in each process, the jobs
    /// dealt out in turn; returns the wall time and each job's time in the handler.
    static func race(
        _ processes: [Process],
        event: String,
        jobs: [(user: String, id: String)],
        concurrency: Int
    ) async -> Run {
        let next = Counter()
        let start = ContinuousClock.now
        let results = await withTaskGroup(of: [(Double, String?)].self) { group in
            for process in processes {
                for _ in 0..<concurrency {
                    group.addTask {
                        var mine: [(Double, String?)] = []
                        while let index = await next.take(below: jobs.count) {
                            let job = jobs[index]
                            let envelope = JobEnvelope(
                                id: job.id,
                                type: "event.register",
                                createdAt: Date(),
                                payload: ["user_id": .string(job.user), "event_id": .string(event)]
                            )
                            let began = ContinuousClock.now
                            var failure: String?
                            do {
                                let payload = try process.handler.parse(
                                    FieldReader(payload: envelope.payload),
                                    version: 1
                                )
                                let context = JobContext(
                                    envelope: envelope,
                                    attempt: 1,
                                    traceparent: nil,
                                    logger: Logger(label: "hot")
                                )
                                let outcome = try await process.handler.handle(payload, context: context)
                                if outcome != .applied { failure = "\(outcome)" }
                            } catch {
                                failure = "\(error)"
                            }
                            mine.append(((ContinuousClock.now - began).milliseconds, failure))
                        }
                        return mine
                    }
                }
            }
            return await group.reduce(into: []) { $0 += $1 }
        }
        let seconds = (ContinuousClock.now - start).milliseconds / 1000
        return Run(
            seconds: seconds,
            latencies: results.map(\.0).sorted(),
            failures: results.compactMap(\.1)
        )
    }

    func check(processes count: Int, concurrency: Int) async throws {
        let configuration = try FleetConfiguration.fromEnvironment(configDirectory: ".")
        let processes = (0..<count).map { _ in Process(configuration) }
        let graph = processes[0].graph
        let capacity = 50
        let event = Self.id()
        try await graph.run(
            "CREATE (:Event {event_id: $event, max_participants: $max, title: 'hot'})",
            parameters: ["event": .string(event), "max": .integer(Int64(capacity))]
        )
        let jobs = (0..<Self.registrations).map { _ in (user: Self.id(), id: Self.id()) }
        let run = await Self.race(processes, event: event, jobs: jobs, concurrency: concurrency)
        let statuses = try await graph.run(
            "MATCH (:User)-[r:REGISTERED_FOR]->(:Event {event_id: $event}) RETURN r.status AS s, count(r) AS n",
            parameters: ["event": .string(event)]
        )
        let counts = Dictionary(uniqueKeysWithValues: statuses.rows.map { ($0[0].string ?? "?", $0[1].int ?? 0) })
        print(
            String(
                format: "hot event: %d registrations, %d process(es) x %d tasks: %.2f s, %.0f jobs/s, "
                    + "p50 %.1f ms, p99 %.1f ms, max %.1f ms, %d failed",
                jobs.count,
                count,
                concurrency,
                run.seconds,
                Double(jobs.count) / run.seconds,
                run.percentile(0.5),
                run.percentile(0.99),
                run.latencies.last ?? .nan,
                run.failures.count
            )
        )
        let failed = run.failures.count
        #expect(failed == 0, "\(run.failures.prefix(3))")
        let confirmed = Int(counts["confirmed"] ?? 0)
        #expect(confirmed == min(jobs.count, capacity), "never over capacity, and every place filled")
        #expect(Int(counts["waitlisted"] ?? 0) == jobs.count - confirmed)

        try await graph.run(
            "MATCH (u:User)-[:REGISTERED_FOR]->(e:Event {event_id: $event}) DETACH DELETE u",
            parameters: ["event": .string(event)]
        )
        try await graph.run("MATCH (e:Event {event_id: $event}) DELETE e", parameters: ["event": .string(event)])
        for start in stride(from: 0, to: jobs.count, by: 20) {
            let keys = jobs[start..<min(start + 20, jobs.count)].map { BoltValue.string("event.register \($0.id)") }
            try await graph.run(
                "MATCH (j:FleetAppliedJob) WHERE j.key IN $keys DELETE j",
                parameters: ["keys": .list(Array(keys))]
            )
        }
        try await processes[0].redis.command(["DEL", "lock:event:\(event)", "lock:event:\(event):fence"])
        for process in processes { await process.shutdown() }
    }

    /// The reference: one job at a time never waits for the lock, so this is the rate of the
    /// critical section itself (lock take-over plus graph write).
    @Test func oneTaskAtATime() async throws {
        try await check(processes: 1, concurrency: 1)
    }

    @Test func oneProcessSixteenTasks() async throws {
        try await check(processes: 1, concurrency: 16)
    }

    @Test func twoProcessesEightTasksEach() async throws {
        try await check(processes: 2, concurrency: 8)
    }
}

/// Hands out job indices once each.
private actor Counter {
    private var value = 0

    func take(below limit: Int) -> Int? {
        guard value < limit else { return nil }
        defer { value += 1 }
        return value
    }
}

extension Duration {
    fileprivate var milliseconds: Double {
        let (seconds, attoseconds) = components
        return Double(seconds) * 1000 + Double(attoseconds) / 1e15
    }
}
