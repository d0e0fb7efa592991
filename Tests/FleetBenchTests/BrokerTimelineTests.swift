import Testing

@testable import FleetBench

@Suite("Broker-observed timings")
struct BrokerTimelineTests {
    typealias Sample = DrainTimeline.Sample

    @Test func aDrainRunsFromFirstDeliveryToEmptyWithNothingUnacked() throws {
        let ms: Int64 = 1_000_000
        let samples = [
            Sample(time: 0, ready: 100, unacked: 0),
            Sample(time: 10 * ms, ready: 60, unacked: 40),
            Sample(time: 20 * ms, ready: 0, unacked: 90),  // 10 acked
            Sample(time: 60 * ms, ready: 0, unacked: 10),  // 90 acked
            Sample(time: 100 * ms, ready: 0, unacked: 1),
            Sample(time: 110 * ms, ready: 0, unacked: 0),
        ]
        let timeline = try #require(DrainTimeline(samples: samples, jobs: 100))
        #expect(timeline.start == 10 * ms && timeline.end == 110 * ms)
        #expect(timeline.wholeRate == 1_000)
        #expect(timeline.steadyRate == 2_000)
        #expect(timeline.tailMilliseconds(lastEffect: 105 * ms) == 5)
        // Never drained: no timeline.
        #expect(DrainTimeline(samples: Array(samples.dropLast()), jobs: 100) == nil)
    }

    @Test func theProbesLastAckFrameRecordSplitsTheTailAndIsNoSample() throws {
        let ms: Int64 = 1_000_000
        let records: [[Int64]] = [
            [0, 10, 0], [5 * ms, 0, 10], [20 * ms, 0, 2], [30 * ms, 0, 0], [24 * ms, -1, -1],
        ]
        let timeline = try #require(DrainTimeline(records: records, jobs: 10))
        #expect(timeline.start == 5 * ms && timeline.end == 30 * ms)
        #expect(timeline.lastAckFrame == 24 * ms)
        #expect(timeline.tailMilliseconds(lastEffect: 21 * ms) == 9)
        #expect(timeline.lastAckFrameMilliseconds(lastEffect: 21 * ms) == 3)
        // Not traced (all acks came in one frame before the spin): no split, the same timeline.
        let untraced = try #require(DrainTimeline(records: Array(records.dropLast()), jobs: 10))
        #expect(untraced.lastAckFrame == nil && untraced.end == 30 * ms)
    }

    @Test func eachLightJobIsPairedWithTheAckThatCoversItsDeliveryTag() throws {
        let ms: Int64 = 1_000_000
        let timeline = try LightLoadTimeline(
            publishedAt: [0, 5 * ms, 10 * ms],
            effects: [(0, 1 * ms), (2, 12 * ms), (1, 6 * ms)],
            acks: [
                .init(time: 2 * ms, deliveryTag: 1, multiple: false),
                .init(time: 15 * ms, deliveryTag: 3, multiple: true),
            ]
        )
        #expect(timeline.publishToEffect == [1 * ms, 1 * ms, 2 * ms])
        #expect(timeline.effectToAck == [1 * ms, 9 * ms, 3 * ms])
        let summary = timeline.summary
        #expect(summary.effectToAck.p50 == 3 && summary.effectToAck.max == 9 && summary.jobs == 3)
        // An ack before its job's effect means delivery order was not publish order.
        #expect(throws: BenchError.self) {
            try LightLoadTimeline(
                publishedAt: [0],
                effects: [(0, 10 * ms)],
                acks: [.init(time: 1 * ms, deliveryTag: 1, multiple: false)]
            )
        }
        #expect(throws: BenchError.self) {
            try LightLoadTimeline(publishedAt: [0, 1], effects: [(0, 1), (1, 2)], acks: [])
        }
    }

    @Test func probeOutputIsReadAsIntegers() {
        let output = "{ok, [{1795000000123456789,200,5},{17,0,-1}]}"
        #expect(BrokerProbe.integers(in: output[...]) == [1_795_000_000_123_456_789, 200, 5, 17, 0, -1])
        #expect(BrokerProbe.binary("a/b") == "<<97,47,98>>")
        let probe = BrokerProbe.fromEnvironment(["FLEET_RABBITMQCTL": "rabbitmqctl -n x@y --erlang-cookie ABC"])
        if let probe { #expect(probe.cookie == "ABC" && probe.node == "fleet@localhost") }
        #expect(BrokerProbe.fromEnvironment([:]) == nil)
    }

    @Test func targetsPassFailAndNotMeasured() {
        var report = BenchReport(jobs: 100, concurrency: 16, prefetch: 200)
        func result(rate: Double, rss: Int = 20 * 1024, tail: Double? = nil) -> BenchResult {
            var result = BenchResult(mode: "m", jobs: 100, seconds: 100 / rate, p50: .zero, p99: .zero, maxRSSKiB: rss)
            result.broker = .init(wholeRate: rate, steadyRate: rate, tailMilliseconds: tail)
            return result
        }
        report.add(result(rate: 100), workload: "noop", side: "C", isBaseline: true, run: 1)
        report.add(
            result(rate: 95, tail: 3),
            workload: "noop",
            side: "fleet",
            isBaseline: false,
            concurrency: 16,
            run: 1
        )
        report.add(result(rate: 100), workload: "write", side: "C", isBaseline: true, run: 1)
        report.add(result(rate: 80), workload: "write", side: "fleet 1", isBaseline: false, concurrency: 1, run: 1)
        report.add(result(rate: 250), workload: "write", side: "fleet 16", isBaseline: false, concurrency: 16, run: 1)
        var light = result(rate: 200)
        light.light = .init(
            jobs: 10,
            publishToEffect: .init(p50: 1, p99: 2, max: 3),
            effectToAck: .init(p50: 1, p99: 6, max: 7)
        )
        report.add(light, workload: BenchReport.light, side: "fleet", isBaseline: false, concurrency: 16, run: 1)
        report.add(result(rate: 300), workload: "hot", side: "fleet", isBaseline: false, concurrency: 16, run: 1)
        let verdicts = report.targets.map(\.passes)
        #expect(verdicts == [true, true, false, false, true, nil, true, true])
        let table = report.targetTable
        #expect(table.contains("| publish with confirms | ≥ 0.9× the C publisher | not measured | – |"))
        #expect(table.contains("| light load, effect-to-ack p99 (fleet) | ≤ 5 ms | 6.00 ms | FAIL |"))
        #expect(report.markdown.contains("| fleet | 10 | 1.00 / 2.00 / 3.00 | 1.00 / 6.00 / 7.00 |"))
    }
}
