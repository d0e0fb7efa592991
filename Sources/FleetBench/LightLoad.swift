import FleetApp
import FleetContract
import FleetCore
import FleetJobs
import FleetProducer
import Foundation
import Logging
import ServiceLifecycle
import Synchronization

/// The light-load workload: no-op jobs published at a steady rate while a consumer (the fleet or
/// the C consumer) runs, to see the delay a job meets when the fleet is mostly idle, which a drain
/// of a full queue hides: publish to effect, and effect to the broker holding the job's ack.
public struct LightLoad: Sendable {
    /// Jobs per second and for how long; the bench's default is 200/s for 20 s.
    public var rate: Int
    public var duration: Duration

    public init(rate: Int = 200, duration: Duration = .seconds(20)) {
        self.rate = rate
        self.duration = duration
    }

    public var count: Int { max(1, Int(Double(rate) * duration.seconds)) }

    /// Publishes ``count`` no-op jobs, job `i` at `start + i / rate` (confirmed, each in a task of
    /// its own so a slow confirm never delays the next job), and returns when each was handed to
    /// the producer (CLOCK_REALTIME ns, by index).
    func publish(producer: JobProducer) async throws -> [Int64] {
        let count = count
        let interval = Duration.seconds(1) / rate
        let start = ContinuousClock.now
        return try await withThrowingTaskGroup(of: (index: Int, time: Int64).self) { tasks in
            for index in 0..<count {
                try await Task.sleep(until: start + interval * index, clock: .continuous)
                let envelope = BenchWorkload.envelope(.noop, index: index)
                let body = envelope.encoded()
                tasks.addTask {
                    let time = BenchResult.unixNanoseconds()
                    try await producer.publish(envelope: envelope, body: body)
                    return (index, time)
                }
            }
            var publishedAt = [Int64](repeating: 0, count: count)
            for try await published in tasks { publishedAt[published.index] = published.time }
            return publishedAt
        }
    }

    /// Reads an effects file: one `INDEX UNIX_NS` line per job.
    static func readEffects(_ path: String) throws -> [(index: Int, time: Int64)] {
        let text = try String(contentsOfFile: path, encoding: .utf8)
        return try text.split(separator: "\n").map { line in
            let fields = line.split(separator: " ")
            guard fields.count == 2, let index = Int(fields[0]), let time = Int64(fields[1]) else {
                throw BenchError("bad line in \(path): \(line)")
            }
            return (index, time)
        }
    }

    static func writeEffects(_ effects: [(index: Int, time: Int64)], to path: String) throws {
        let text = effects.map { "\($0.index) \($0.time)\n" }.joined()
        try text.write(toFile: path, atomically: true, encoding: .utf8)
    }
}

/// The fleet side of light load: the real consumer path (``QueueConsumer``, its prefetch, ack
/// batching and settlement) with a no-op handler that notes when it ran.
public struct LightLoadWorker: Sendable {
    public var count: Int
    public var concurrency: Int
    public var prefetch: Int
    public var effectsPath: String
    public var configuration: FleetConfiguration

    public init(count: Int, concurrency: Int, prefetch: Int, effectsPath: String, configuration: FleetConfiguration) {
        self.count = count
        self.concurrency = concurrency
        self.prefetch = prefetch
        self.effectsPath = effectsPath
        self.configuration = configuration
    }

    public func run(logger: Logger) async throws -> BenchResult {
        let topology = try configuration.loadTopology().withBenchQueues(prefetch: prefetch, concurrency: concurrency)
        let effects = EffectLog(capacity: count)
        var registry = JobRegistry()
        registry.register(RecordingNoOpJob(effects: effects))
        let stats = FleetStats()
        let consumer = QueueConsumer(
            queue: topology.queue(named: NoOpJob.jobType)!,
            topology: topology,
            registry: registry,
            classifier: FailureClassifier(),  // no-op jobs touch no store
            amqp: configuration.amqp,
            concurrency: concurrency,
            stats: stats,
            logger: logger
        )
        let group = ServiceGroup(configuration: .init(services: [.init(service: consumer)], logger: logger))
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            tasks.addTask {
                while BenchWorker.finished(stats.snapshot) < count { try await Task.sleep(for: .milliseconds(5)) }
                await group.triggerGracefulShutdown()
            }
            try await tasks.waitForAll()
        }
        let recorded = effects.entries
        try LightLoad.writeEffects(recorded, to: effectsPath)
        let snapshot = stats.snapshot
        var result = BenchResult(
            mode: "fleet-light",
            jobs: BenchWorker.finished(snapshot),
            seconds: snapshot.busy.seconds,
            p50: snapshot.latency.percentile(0.5) ?? .zero,
            p99: snapshot.latency.percentile(0.99) ?? .zero,
            maxRSSKiB: BenchResult.ownPeakRSSKiB(),
            cpuMilliseconds: BenchResult.ownCPUMilliseconds()
        )
        result.lastEffectUnixNanos = recorded.map(\.time).max()
        return result
    }
}

/// Job index and CLOCK_REALTIME of each effect, in the order they happened.
final class EffectLog: Sendable {
    private let entries_: Mutex<[(index: Int, time: Int64)]>

    init(capacity: Int) {
        var entries: [(index: Int, time: Int64)] = []
        entries.reserveCapacity(capacity)
        entries_ = Mutex(entries)
    }

    func record(index: Int) {
        let now = BenchResult.unixNanoseconds()
        entries_.withLock { $0.append((index, now)) }
    }

    var entries: [(index: Int, time: Int64)] { entries_.withLock { $0 } }
}

/// Workload A's no-op job, noting when it ran: the job's index is the last 12 digits of its id
/// (``BenchWorkload/id(_:)``).
struct RecordingNoOpJob: JobHandler {
    static let jobType = NoOpJob.jobType
    let effects: EffectLog

    func handle(_ job: BenchNoOp, context: JobContext) async throws -> JobOutcome {
        effects.record(index: Int(context.envelope.id.suffix(12)) ?? -1)
        return .applied
    }
}
