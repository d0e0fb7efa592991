import CoreMetrics
import FleetCore
import Synchronization

/// Per job type, how long the handlers took: a swift-metrics backend that keeps the worker's
/// `fleet_job_duration_seconds{type}` timer (``FleetStats`` records it for every job applied or
/// already applied, from the handler's start to the ack) in one ``LatencyHistogram`` per type.
/// Bootstrapped once in a `fleet bench-worker` process; other metrics are dropped.
public final class BenchTypeTimings: MetricsFactory, Sendable {
    static let shared = BenchTypeTimings()

    private let histograms = Mutex<[String: LatencyHistogram]>([:])

    /// Installs the bench worker's metrics backends: ``BenchTypeTimings`` and ``LastJobClock``
    /// together, since a process bootstraps swift-metrics once.
    public static func bootstrapBenchWorker() {
        MetricsSystem.bootstrap(MultiplexMetricsHandler(factories: [shared, LastJobClock.shared]))
    }

    var snapshot: [String: LatencyHistogram] { histograms.withLock { $0 } }

    fileprivate func record(_ type: String, nanoseconds: Int64) {
        histograms.withLock { $0[type, default: LatencyHistogram()].record(.nanoseconds(nanoseconds)) }
    }

    public func makeTimer(label: String, dimensions: [(String, String)]) -> any TimerHandler {
        guard label == "fleet_job_duration_seconds", let type = dimensions.first(where: { $0.0 == "type" })?.1 else {
            return NOOPMetricsHandler.instance
        }
        return TypeTimer(timings: self, type: type)
    }

    public func makeCounter(label: String, dimensions: [(String, String)]) -> any CounterHandler {
        NOOPMetricsHandler.instance
    }

    public func makeFloatingPointCounter(
        label: String,
        dimensions: [(String, String)]
    ) -> any FloatingPointCounterHandler {
        NOOPMetricsHandler.instance
    }

    public func makeRecorder(label: String, dimensions: [(String, String)], aggregate: Bool) -> any RecorderHandler {
        NOOPMetricsHandler.instance
    }

    public func destroyCounter(_ handler: any CounterHandler) {}
    public func destroyFloatingPointCounter(_ handler: any FloatingPointCounterHandler) {}
    public func destroyRecorder(_ handler: any RecorderHandler) {}
    public func destroyTimer(_ handler: any TimerHandler) {}
}

private final class TypeTimer: TimerHandler, Sendable {
    let timings: BenchTypeTimings
    let type: String

    init(timings: BenchTypeTimings, type: String) {
        self.timings = timings
        self.type = type
    }

    func recordNanoseconds(_ duration: Int64) { timings.record(type, nanoseconds: duration) }
}

/// One job type's share of a run: how many ran and their handler time percentiles.
public struct BenchTypeResult: Sendable, Codable, Equatable {
    public var type: String
    public var jobs: Int
    public var p50Milliseconds: Double
    public var p99Milliseconds: Double

    enum CodingKeys: String, CodingKey {
        case type, jobs
        case p50Milliseconds = "p50_ms"
        case p99Milliseconds = "p99_ms"
    }

    init(type: String, histogram: LatencyHistogram) {
        self.type = type
        jobs = histogram.count
        p50Milliseconds = (histogram.percentile(0.5) ?? .zero).seconds * 1000
        p99Milliseconds = (histogram.percentile(0.99) ?? .zero).seconds * 1000
    }
}
