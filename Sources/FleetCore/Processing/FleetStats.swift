import BlockingIO
import Foundation
import Metrics
import NIOConcurrencyHelpers

/// Counts job outcomes and their latencies for the end-of-run summary, and reports them through
/// swift-metrics: `fleet_jobs_started_total{queue,type}`, `fleet_jobs_total{queue,type,outcome}`,
/// `fleet_jobs_dead_lettered_total{queue,type,reason}` and `fleet_job_duration_seconds{queue,type}`.
/// Labels are the worker's own queue names, known job types (or `unknown`), the fixed outcomes and
/// the fleet's dead-letter reason codes: never message content.
public final class FleetStats: Sendable {
    public enum Outcome: String, Sendable, CaseIterable {
        case applied
        case alreadyApplied = "already_applied"
        case retried
        case deadLettered = "dead_lettered"
        case delayed
        /// Left unacked for redelivery (shutdown mid-job, or the broker refused a retry publish).
        case requeued
    }

    /// What a worker did between its first delivery and its last settled job.
    public struct Snapshot: Sendable {
        public var counts: [Outcome: Int]
        /// From receipt by this process to ack (or to the confirmed retry or dead-letter copy).
        public var latency: LatencyHistogram
        public var firstReceivedAt: ContinuousClock.Instant?
        public var lastSettledAt: ContinuousClock.Instant?

        /// Jobs that left the queue: every outcome but `requeued`.
        public var settled: Int { counts.filter { $0.key != .requeued }.values.reduce(0, +) }

        /// First receipt to last settlement; zero before the first job.
        public var busy: Duration {
            guard let first = firstReceivedAt, let last = lastSettledAt else { return .zero }
            return last - first
        }
    }

    private struct CounterKey: Hashable {
        var queue: String
        var type: String
        var outcome: Outcome
    }

    private struct JobKey: Hashable {
        var queue: String
        var type: String
    }

    private struct DeadLetterKey: Hashable {
        var queue: String
        var type: String
        var reason: String
    }

    private struct State {
        var snapshot = Snapshot(counts: [:], latency: LatencyHistogram())
        // Created once per label set: a metrics backend's factory takes a lock of its own per creation.
        var counters: [CounterKey: Counter] = [:]
        var started: [JobKey: Counter] = [:]
        var deadLettered: [DeadLetterKey: Counter] = [:]
        var timers: [JobKey: Timer] = [:]
    }

    private let state = NIOLockedValueBox(State())

    public init() {}

    /// A delivery of `queue` was taken up as a job of `type` (`unknown` when it could not be read).
    public func started(type: String, queue: String) {
        let counter = state.withLockedValue { state in
            let key = JobKey(queue: queue, type: type)
            if let counter = state.started[key] { return counter }
            let counter = Counter(label: "fleet_jobs_started_total", dimensions: [("queue", queue), ("type", type)])
            state.started[key] = counter
            return counter
        }
        counter.increment()
    }

    /// - Parameter reason: the dead-letter reason code, for `.deadLettered`.
    public func record(
        _ outcome: Outcome,
        type: String,
        queue: String,
        duration: Duration? = nil,
        receivedAt: ContinuousClock.Instant? = nil,
        reason: String? = nil
    ) {
        let now = ContinuousClock.now
        let (counter, timer, deadLettered) = state.withLockedValue { state in
            state.snapshot.counts[outcome, default: 0] += 1
            if let receivedAt, outcome != .requeued {
                state.snapshot.latency.record(now - receivedAt)
                state.snapshot.firstReceivedAt = min(state.snapshot.firstReceivedAt ?? receivedAt, receivedAt)
                state.snapshot.lastSettledAt = now
            }
            let key = CounterKey(queue: queue, type: type, outcome: outcome)
            let counter =
                state.counters[key]
                ?? Counter(
                    label: "fleet_jobs_total",
                    dimensions: [("queue", queue), ("type", type), ("outcome", outcome.rawValue)]
                )
            if state.counters[key] == nil { state.counters[key] = counter }
            var deadLettered: Counter?
            if outcome == .deadLettered, let reason {
                let key = DeadLetterKey(queue: queue, type: type, reason: reason)
                deadLettered =
                    state.deadLettered[key]
                    ?? Counter(
                        label: "fleet_jobs_dead_lettered_total",
                        dimensions: [("queue", queue), ("type", type), ("reason", reason)]
                    )
                if state.deadLettered[key] == nil { state.deadLettered[key] = deadLettered }
            }
            guard duration != nil else { return (counter, Timer?.none, deadLettered) }
            let jobKey = JobKey(queue: queue, type: type)
            let timer =
                state.timers[jobKey]
                ?? Timer(label: "fleet_job_duration_seconds", dimensions: [("queue", queue), ("type", type)])
            if state.timers[jobKey] == nil { state.timers[jobKey] = timer }
            return (counter, timer, deadLettered)
        }
        counter.increment()
        deadLettered?.increment()
        if let duration, let timer { timer.recordNanoseconds(duration.wholeNanoseconds) }
    }

    public func count(_ outcome: Outcome) -> Int { state.withLockedValue { $0.snapshot.counts[outcome, default: 0] } }

    public var snapshot: Snapshot { state.withLockedValue { $0.snapshot } }

    /// `applied=… already_applied=… retried=… dead_lettered=… delayed=… requeued=… p50_ms=… p99_ms=…`
    public var summary: String {
        let snapshot = snapshot
        let counts = Outcome.allCases.map { "\($0.rawValue)=\(snapshot.counts[$0, default: 0])" }
        let latencies = [("p50_ms", 0.5), ("p99_ms", 0.99)].map { name, fraction in
            let value = snapshot.latency.percentile(fraction).map { Self.milliseconds($0) } ?? "-"
            return "\(name)=\(value)"
        }
        return (counts + latencies).joined(separator: " ")
    }

    static func milliseconds(_ duration: Duration) -> String {
        let value = Double(duration.wholeNanoseconds) / 1e6
        return value < 10 ? String(format: "%.3f", value) : String(format: "%.1f", value)
    }
}
