import Metrics
import Prometheus
import Synchronization

/// The process's swift-metrics backend when its HTTP listener is on: a Prometheus registry that
/// `/metrics` renders. Bootstrapped at most once per process (swift-metrics allows only one
/// bootstrap); without the listener the process keeps swift-metrics' no-op backend.
public enum MetricsBackend {
    /// Histogram buckets (upper bounds) for durations, by metric name. Jobs take from about a
    /// millisecond (a cached read) to their deadline (30 s at most in queues.yaml).
    public static let durationBuckets: [String: [Duration]] = [
        "fleet_job_duration_seconds": jobBuckets,
        "fleet_store_call_duration_seconds": [
            .microseconds(500), .milliseconds(1), .milliseconds(2), .milliseconds(5), .milliseconds(10),
            .milliseconds(25), .milliseconds(50), .milliseconds(100), .milliseconds(250), .milliseconds(500),
            .seconds(1), .seconds(5),
        ],
        "fleet_lock_wait_seconds": [
            .milliseconds(1), .milliseconds(5), .milliseconds(10), .milliseconds(50), .milliseconds(100),
            .milliseconds(500), .seconds(1), .seconds(5), .seconds(10), .seconds(30),
        ],
    ]

    static let jobBuckets: [Duration] = [
        .milliseconds(1), .milliseconds(2), .milliseconds(5), .milliseconds(10), .milliseconds(25),
        .milliseconds(50), .milliseconds(100), .milliseconds(250), .milliseconds(500), .seconds(1),
        .milliseconds(2500), .seconds(5), .seconds(10), .seconds(30),
    ]

    private static let installed = Mutex<PrometheusCollectorRegistry?>(nil)

    /// The registry `/metrics` serves, bootstrapping swift-metrics with it on the first call.
    public static func bootstrap() -> PrometheusCollectorRegistry {
        installed.withLock { installed in
            if let installed { return installed }
            let registry = PrometheusCollectorRegistry()
            var factory = PrometheusMetricsFactory(registry: registry)
            factory.durationHistogramBuckets = durationBuckets
            factory.defaultDurationHistogramBuckets = jobBuckets
            MetricsSystem.bootstrap(factory)
            installed = registry
            return registry
        }
    }
}
