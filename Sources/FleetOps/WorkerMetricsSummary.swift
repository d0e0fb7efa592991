/// What `fleet status` and the dashboard show of one worker process, read from its `/metrics`
/// samples (the names the fleet's listener serves: `fleet_jobs_total`, `fleet_jobs_in_flight`,
/// `fleet_job_duration_seconds`).
public struct WorkerMetricsSummary: Sendable, Equatable {
    /// Jobs settled: every outcome but `requeued` (left for redelivery, so counted again later).
    public var jobs: Int
    /// Jobs that failed an attempt: `retried` and `dead_lettered`.
    public var failures: Int
    public var deadLettered: Int
    public var inFlight: Int
    /// Settled jobs by outcome (`applied`, `already_applied`, …).
    public var outcomes: [String: Int]
    /// Settled jobs by job type.
    public var jobsByType: [String: Int]
    /// Job duration percentiles in seconds, estimated from the histogram buckets as Prometheus's
    /// `histogram_quantile` does (linear within a bucket); nil before the first job.
    public var p50: Double?
    public var p99: Double?

    public init(samples: [PrometheusSample]) {
        var outcomes: [String: Int] = [:]
        var byType: [String: Int] = [:]
        var inFlight = 0.0
        var buckets: [Double: Double] = [:]
        for sample in samples {
            switch sample.name {
            case "fleet_jobs_total":
                let outcome = sample.labels["outcome"] ?? "unknown"
                outcomes[outcome, default: 0] += Int(sample.value)
                if outcome != "requeued" { byType[sample.labels["type"] ?? "unknown", default: 0] += Int(sample.value) }
            case "fleet_jobs_in_flight":
                inFlight += sample.value
            case "fleet_job_duration_seconds_bucket":
                guard let bound = sample.labels["le"].flatMap(Self.bound) else { continue }
                buckets[bound, default: 0] += sample.value
            default:
                continue
            }
        }
        self.outcomes = outcomes
        self.jobsByType = byType
        jobs = outcomes.filter { $0.key != "requeued" }.values.reduce(0, +)
        deadLettered = outcomes["dead_lettered", default: 0]
        failures = outcomes["retried", default: 0] + deadLettered
        self.inFlight = Int(inFlight)
        let sorted = buckets.sorted { $0.key < $1.key }.map { (bound: $0.key, count: $0.value) }
        p50 = Self.quantile(0.5, buckets: sorted)
        p99 = Self.quantile(0.99, buckets: sorted)
    }

    private static func bound(_ text: String) -> Double? { text == "+Inf" ? .infinity : Double(text) }

    /// `histogram_quantile` over cumulative buckets (upper bound, count), sorted by bound.
    static func quantile(_ q: Double, buckets: [(bound: Double, count: Double)]) -> Double? {
        guard let total = buckets.last?.count, total > 0 else { return nil }
        let rank = q * total
        var lowerBound = 0.0
        var lowerCount = 0.0
        for bucket in buckets {
            if bucket.count >= rank {
                // The +Inf bucket has no width: answer the highest finite bound, as Prometheus does.
                if bucket.bound == .infinity { return lowerBound }
                let inBucket = bucket.count - lowerCount
                guard inBucket > 0 else { return bucket.bound }
                return lowerBound + (bucket.bound - lowerBound) * (rank - lowerCount) / inBucket
            }
            lowerBound = bucket.bound
            lowerCount = bucket.count
        }
        return lowerBound
    }
}
