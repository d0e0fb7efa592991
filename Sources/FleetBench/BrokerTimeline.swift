/// What the broker saw of one drain of a preloaded queue, from ``BrokerProbe``'s samples.
struct DrainTimeline: Sendable, Equatable {
    /// One change of the queue's counts, at `time` (CLOCK_REALTIME, ns).
    struct Sample: Sendable, Equatable {
        var time: Int64
        var ready: Int
        var unacked: Int
    }

    /// When the broker had handed out its first message and when it had every ack (ns).
    var start: Int64
    var end: Int64
    /// Jobs per second over the 10%–90% acked stretch of the drain.
    var steadyRate: Double
    var jobs: Int
    /// When the consumer's channel took its last `basic.ack` frame (ns), if the probe traced it.
    var lastAckFrame: Int64?

    var wholeRate: Double { end > start ? Double(jobs) * 1e9 / Double(end - start) : 0 }

    /// The time from the consumer's last effect to the broker holding every ack, in milliseconds.
    func tailMilliseconds(lastEffect: Int64) -> Double { Double(end - lastEffect) / 1e6 }

    /// The part of the tail before the broker's channel took the last ack frame, in milliseconds.
    func lastAckFrameMilliseconds(lastEffect: Int64) -> Double? {
        lastAckFrame.map { Double($0 - lastEffect) / 1e6 }
    }

    /// From ``BrokerProbe/startDrain(vhost:queue:spinBelow:deadline:)``'s records: `(time, ready,
    /// unacked)` samples, and `(time, -1, -1)` for the last ack frame when it was traced.
    init?(records: [[Int64]], jobs: Int) {
        let samples = records.filter { $0[1] >= 0 }.map { Sample(time: $0[0], ready: Int($0[1]), unacked: Int($0[2])) }
        self.init(samples: samples, jobs: jobs)
        lastAckFrame = records.last { $0[1] < 0 }?[0]
    }

    /// Nil when the samples do not show a full drain of `jobs` messages.
    ///
    /// Each time is the first poll that saw the change, so it is late by at most one poll interval
    /// (1–2 ms while many messages remain, a broker round trip of tens of µs near the end).
    init?(samples: [Sample], jobs: Int) {
        guard jobs > 0,
            let first = samples.first(where: { $0.ready < jobs }),
            let last = samples.first(where: { $0.time >= first.time && $0.ready + $0.unacked == 0 })
        else { return nil }
        func acked(_ sample: Sample) -> Int { jobs - sample.ready - sample.unacked }
        let low = samples.first { acked($0) * 10 >= jobs }
        let high = samples.first { acked($0) * 10 >= jobs * 9 }
        self.start = first.time
        self.end = last.time
        self.jobs = jobs
        if let low, let high, high.time > low.time {
            steadyRate = Double(acked(high) - acked(low)) * 1e9 / Double(high.time - low.time)
        } else {
            steadyRate = end > start ? Double(jobs) * 1e9 / Double(end - start) : 0
        }
    }
}

/// Light load, per message: publish to effect (the consumer's record of its handler being done)
/// and effect to the broker's channel taking the ack that covers it (``BrokerProbe/startAcks``).
struct LightLoadTimeline: Sendable {
    /// One `basic.ack` the broker took.
    struct Ack: Sendable, Equatable {
        var time: Int64
        var deliveryTag: Int
        var multiple: Bool
    }

    var publishToEffect: [Int64]
    var effectToAck: [Int64]

    /// Pairs message `i` (the `i`-th published) with delivery tag `i + 1`: one publisher, one
    /// consumer channel, a FIFO queue and no redelivery deliver messages in publish order. An ack
    /// seen before its effect, or a message without effect or ack, means that did not hold.
    init(publishedAt: [Int64], effects: [(index: Int, time: Int64)], acks: [Ack]) throws {
        let count = publishedAt.count
        var effectAt = [Int64?](repeating: nil, count: count)
        for effect in effects where effect.index >= 0 && effect.index < count { effectAt[effect.index] = effect.time }
        var ackAt = [Int64?](repeating: nil, count: count)
        var lowestUnacked = 0
        for ack in acks.sorted(by: { $0.time < $1.time }) {
            let last = min(ack.deliveryTag, count) - 1
            guard last >= 0 else { continue }
            if ack.multiple {
                for index in lowestUnacked...max(lowestUnacked, last) where index <= last && ackAt[index] == nil {
                    ackAt[index] = ack.time
                }
            } else if ackAt[last] == nil {
                ackAt[last] = ack.time
            }
            while lowestUnacked < count, ackAt[lowestUnacked] != nil { lowestUnacked += 1 }
        }
        var publishToEffect: [Int64] = []
        var effectToAck: [Int64] = []
        for index in 0..<count {
            guard let effect = effectAt[index] else { throw BenchError("light load: no effect for job \(index)") }
            guard let ack = ackAt[index] else { throw BenchError("light load: the broker saw no ack for job \(index)") }
            // Both clocks are CLOCK_REALTIME on this machine; allow for the probe's offset rounding.
            guard ack - effect > -1_000_000 else {
                throw BenchError("light load: job \(index)'s ack came \((effect - ack) / 1_000) µs before its effect")
            }
            publishToEffect.append(effect - publishedAt[index])
            effectToAck.append(max(0, ack - effect))
        }
        self.publishToEffect = publishToEffect
        self.effectToAck = effectToAck
    }

    /// Nearest rank, in milliseconds: the smallest value with `fraction` of all at or below it.
    static func percentile(_ values: [Int64], _ fraction: Double) -> Double {
        let sorted = values.sorted()
        guard !sorted.isEmpty else { return 0 }
        let rank = Int((Double(sorted.count) * fraction).rounded(.up))
        return Double(sorted[max(0, min(sorted.count, rank) - 1)]) / 1e6
    }

    var summary: LightLoadSummary {
        LightLoadSummary(
            jobs: publishToEffect.count,
            publishToEffect: .init(publishToEffect),
            effectToAck: .init(effectToAck)
        )
    }
}

/// p50, p99 and max of both light-load delays, in milliseconds.
public struct LightLoadSummary: Sendable, Codable, Equatable {
    public struct Spread: Sendable, Codable, Equatable {
        public var p50: Double
        public var p99: Double
        public var max: Double

        init(p50: Double, p99: Double, max: Double) {
            self.p50 = p50
            self.p99 = p99
            self.max = max
        }

        init(_ values: [Int64]) {
            p50 = LightLoadTimeline.percentile(values, 0.5)
            p99 = LightLoadTimeline.percentile(values, 0.99)
            max = LightLoadTimeline.percentile(values, 1)
        }
    }

    public var jobs: Int
    public var publishToEffect: Spread
    public var effectToAck: Spread
}
