import Metrics
import Synchronization

/// When the fleet last counted a job as done, read from its own metrics: `FleetStats` increments
/// `fleet_jobs_total{outcome=applied|already_applied|dead_lettered}` right after it queues the
/// job's ack. `fleet bench-worker` installs this as a metrics backend of its process
/// (``BenchTypeTimings/bootstrapBenchWorker()``), so the bench can compare the fleet's last job with the moment the broker
/// held its last ack without reaching into the consumer.
public final class LastJobClock: MetricsFactory, Sendable {
    public static let shared = LastJobClock()

    private let last = Atomic<Int64>(0)

    /// CLOCK_REALTIME (ns) of the last job counted as done; nil before the first.
    public var lastUnixNanoseconds: Int64? {
        let value = last.load(ordering: .relaxed)
        return value == 0 ? nil : value
    }

    private static let doneOutcomes: Set<String> = ["applied", "already_applied", "dead_lettered"]

    public func makeCounter(label: String, dimensions: [(String, String)]) -> any CounterHandler {
        guard label == "fleet_jobs_total",
            let outcome = dimensions.first(where: { $0.0 == "outcome" })?.1,
            Self.doneOutcomes.contains(outcome)
        else { return NOOPMetricsHandler.instance }
        return Done(clock: self)
    }

    public func makeRecorder(label: String, dimensions: [(String, String)], aggregate: Bool) -> any RecorderHandler {
        NOOPMetricsHandler.instance
    }

    public func makeTimer(label: String, dimensions: [(String, String)]) -> any TimerHandler {
        NOOPMetricsHandler.instance
    }

    public func destroyCounter(_ handler: any CounterHandler) {}
    public func destroyRecorder(_ handler: any RecorderHandler) {}
    public func destroyTimer(_ handler: any TimerHandler) {}

    private final class Done: CounterHandler, Sendable {
        let clock: LastJobClock
        init(clock: LastJobClock) { self.clock = clock }

        func increment(by: Int64) {
            clock.last.store(BenchResult.unixNanoseconds(), ordering: .relaxed)
        }

        func reset() {}
    }
}
