import Foundation

/// Job latencies in logarithmic buckets: fixed memory however many jobs a worker runs, and
/// percentiles within 2% of the true value.
public struct LatencyHistogram: Sendable, Equatable {
    /// Bucket `i` holds latencies in [base·growthⁱ, base·growthⁱ⁺¹) nanoseconds.
    static let base = 1_000.0  // 1 µs; anything faster lands in bucket 0
    static let growth = 1.04
    static let bucketCount = 800  // up to about 1.4 hours

    private var buckets: [UInt32]
    public private(set) var count = 0
    public private(set) var maximum: Duration = .zero

    public init() {
        buckets = Array(repeating: 0, count: Self.bucketCount)
    }

    public mutating func record(_ latency: Duration) {
        // `components` once: each read divides a 128-bit count.
        let (seconds, attoseconds) = latency.components
        let nanoseconds = max(Double(seconds) * 1e9 + Double(attoseconds) / 1e9, 0)
        let index =
            nanoseconds <= Self.base
            ? 0 : min(Int(log(nanoseconds / Self.base) / log(Self.growth)), Self.bucketCount - 1)
        buckets[index] += 1
        count += 1
        maximum = max(maximum, latency)
    }

    /// The latency below which a `fraction` (0...1) of the jobs fell (nearest rank), taken as the
    /// middle of its bucket; nil before the first job.
    public func percentile(_ fraction: Double) -> Duration? {
        guard count > 0 else { return nil }
        let rank = max(1, Int((fraction * Double(count)).rounded(.up)))
        var seen = 0
        for (index, bucketCount) in buckets.enumerated() {
            seen += Int(bucketCount)
            if seen >= rank {
                let low = Self.base * pow(Self.growth, Double(index))
                let middle = index == 0 ? low : low * (1 + Self.growth) / 2
                return min(.nanoseconds(Int64(middle)), maximum)
            }
        }
        return maximum
    }
}
