import Testing

@testable import FleetCore

@Suite("Latency histogram")
struct LatencyHistogramTests {
    @Test func emptyHasNoPercentiles() {
        #expect(LatencyHistogram().percentile(0.5) == nil)
    }

    @Test func percentilesAreWithinTwoPercentOfTheTrueValue() {
        var histogram = LatencyHistogram()
        // 1 ms ... 1000 ms, one each: p50 = 500 ms, p99 = 990 ms by nearest rank.
        for milliseconds in 1...1_000 { histogram.record(.milliseconds(milliseconds)) }
        #expect(histogram.count == 1_000)
        for (fraction, expected) in [(0.5, 500.0), (0.99, 990.0), (0.01, 10.0)] {
            let value = try! #require(histogram.percentile(fraction))
            let milliseconds = Double(value.components.attoseconds) / 1e15 + Double(value.components.seconds) * 1000
            #expect(abs(milliseconds - expected) / expected < 0.02, "p\(fraction): \(milliseconds) ms")
        }
    }

    @Test func neverReportsMoreThanTheMaximum() {
        var histogram = LatencyHistogram()
        histogram.record(.microseconds(1_234))
        #expect(histogram.percentile(1.0)! <= .microseconds(1_234))
        #expect(histogram.percentile(0.5)! > .microseconds(1_200))
    }

    @Test func extremesLandInTheEndBuckets() {
        var histogram = LatencyHistogram()
        histogram.record(.zero)
        histogram.record(.nanoseconds(10))
        histogram.record(.seconds(100_000))
        #expect(histogram.percentile(0.5)! <= .microseconds(1))
        #expect(histogram.percentile(1.0)! > .seconds(3_000))
    }
}

@Suite("Fleet stats")
struct FleetStatsTests {
    @Test func busyWindowAndLatencyFollowTheSettledJobs() {
        let stats = FleetStats()
        let start = ContinuousClock.now - .milliseconds(50)
        stats.record(.applied, type: "t", queue: "q", duration: .milliseconds(1), receivedAt: start)
        stats.record(.retried, type: "t", queue: "q", receivedAt: start + .milliseconds(10))
        stats.record(.requeued, type: "t", queue: "q", receivedAt: start - .seconds(10))  // not settled: ignored
        let snapshot = stats.snapshot
        #expect(snapshot.settled == 2)
        #expect(snapshot.latency.count == 2)
        #expect(snapshot.firstReceivedAt == start)
        #expect(snapshot.busy >= .milliseconds(50))
        #expect(
            stats.summary.hasPrefix(
                "applied=1 already_applied=0 retried=1 dead_lettered=0 delayed=0 requeued=1 p50_ms="
            )
        )
    }
}
