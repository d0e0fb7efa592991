import Metrics
import Synchronization

/// Counts job outcomes for the end-of-run summary, and reports them through swift-metrics
/// (`fleet_jobs_total{type,outcome}`, `fleet_job_duration_seconds{type}`).
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

    private let counts = Mutex<[Outcome: Int]>([:])

    public init() {}

    public func record(_ outcome: Outcome, type: String, duration: Duration? = nil) {
        counts.withLock { $0[outcome, default: 0] += 1 }
        Counter(label: "fleet_jobs_total", dimensions: [("type", type), ("outcome", outcome.rawValue)]).increment()
        if let duration {
            Timer(label: "fleet_job_duration_seconds", dimensions: [("type", type)])
                .recordNanoseconds(duration.milliseconds * 1_000_000)
        }
    }

    public func count(_ outcome: Outcome) -> Int { counts.withLock { $0[outcome, default: 0] } }

    /// `applied=… already_applied=… retried=… dead_lettered=… delayed=… requeued=…`
    public var summary: String {
        let counts = counts.withLock { $0 }
        return Outcome.allCases.map { "\($0.rawValue)=\(counts[$0, default: 0])" }.joined(separator: " ")
    }
}
