import FleetApp
import FleetContract
import FleetCore
import Foundation
import Logging
import Postgres
import Redis
import Testing

@testable import FleetBench

@Suite("Benchmark report and workloads")
struct BenchReportTests {
    func result(_ rate: Double, rss: Int = 1024, cpuMilliseconds: Double? = nil) -> BenchResult {
        BenchResult(
            mode: "m",
            jobs: Int(rate),
            seconds: 1,
            p50: .milliseconds(1),
            p99: .milliseconds(2),
            maxRSSKiB: rss,
            cpuMilliseconds: cpuMilliseconds
        )
    }

    @Test func medianAndRange() {
        #expect(BenchReport.median([3, 1, 2]) == 2)
        #expect(BenchReport.median([4, 1, 3, 2]) == 2.5)
        #expect(BenchReport.median([]) == 0)
        #expect(BenchReport.summary([10, 30, 20], format: "%.0f") == "20 (10–30)")
    }

    @Test func ratiosPairRunsOfTheSameNumber() {
        var report = BenchReport(jobs: 100, concurrency: 16, prefetch: 200)
        // Run 1: fleet 50 vs C 100; run 2: fleet 300 vs C 100; run 3: fleet 100 vs C 200.
        for (run, baseline, fleet) in [(1, 100.0, 50.0), (2, 100, 300), (3, 200, 100)] {
            report.add(result(baseline), workload: .noop, side: "C", isBaseline: true, run: run)
            report.add(result(fleet, rss: 2048 * run), workload: .noop, side: "fleet", isBaseline: false, run: run)
        }
        let fleet = report.rows.first { !$0.isBaseline }!
        #expect(report.ratios(of: fleet)?.sorted() == [0.5, 0.5, 3])
        #expect(report.ratios(of: report.rows.first { $0.isBaseline }!) == nil)
        let table = report.mainTable.split(separator: "\n")
        #expect(table.count == 4)
        #expect(
            table[3] == "| A: no-op | fleet | 100 (50–300) | – | – | 0.50 (0.50–3.00) | 1.00 | 2.00 | – | – | 6.0 |"
        )
    }

    @Test func cpuPerJobIsTheProcessCPUOverItsJobs() throws {
        #expect(result(200, cpuMilliseconds: 5).cpuMicrosecondsPerJob == 25)
        #expect(result(0, cpuMilliseconds: 5).cpuMicrosecondsPerJob == nil)
        #expect(result(200).cpuMicrosecondsPerJob == nil)
        var report = BenchReport(jobs: 100, concurrency: 16, prefetch: 200)
        // 1,000 jobs a run: 10, 30 and 20 ms of CPU are 10, 30 and 20 µs per job.
        for (run, cpu) in [(1, 10.0), (2, 30), (3, 20)] {
            report.add(result(1000, cpuMilliseconds: cpu), workload: .noop, side: "C", isBaseline: true, run: run)
        }
        let row = try #require(report.mainTable.split(separator: "\n").last)
        #expect(row.hasSuffix("| 20.0 (10.0–30.0) | 1.0 |"))
        // The C baseline's line, as `fleet bench` reads it.
        let line =
            #"{"mode":"consume","jobs":1000,"seconds":1.0,"jobs_per_second":1000.0,"p50_ms":0.002,"p99_ms":0.02,"max_rss_kib":9800,"cpu_ms":104.3}"#
        let decoded = try JSONDecoder().decode(BenchResult.self, from: Data(line.utf8))
        #expect(decoded.cpuMicrosecondsPerJob == 104.3)
        #expect(decoded.lastAckWrittenMilliseconds == nil)
    }

    /// The process's share of a drain's tail: its last ack frame written, after its last effect.
    @Test func theLastAckWrittenIsTimedFromTheLastEffect() throws {
        let line =
            #"{"mode":"consume","jobs":10,"seconds":1.0,"jobs_per_second":10.0,"p50_ms":0.002,"p99_ms":0.02,"max_rss_kib":9800,"last_effect_unix_ns":1000000000,"last_ack_written_unix_ns":1002500000}"#
        let decoded = try JSONDecoder().decode(BenchResult.self, from: Data(line.utf8))
        #expect(decoded.lastAckWrittenMilliseconds == 2.5)
    }

    /// `--concurrency 1` runs B's sequential fleet side once, not twice, and its targets table
    /// reports the concurrent B target as not measured, under the issue's concurrency.
    @Test func concurrencyOneRunsTheSequentialWriterOnce() throws {
        var options = BenchSuite.Options(
            fleetExecutable: "fleet",
            baselineExecutable: "fleet-bench-baseline",
            configDirectory: ".",
            amqpURL: "amqp://guest:guest@127.0.0.1:1/%2f",
            postgresURL: "postgresql://x@127.0.0.1:1/x"
        )
        let configuration = try FleetConfiguration.fromEnvironment(
            configDirectory: ".",
            environment: ["FLEET_DEV_MODE": "1"]
        )
        let logger = Logger(label: "bench-test")
        #expect(
            BenchSuite(options: options, configuration: configuration, logger: logger)
                .sides(of: .write, exchange: "x").map(\.label)
                == ["C sequential writer", "fleet, concurrency 1", "fleet, concurrency 16"]
        )
        options.concurrency = 1
        let sides = BenchSuite(options: options, configuration: configuration, logger: logger)
            .sides(of: .write, exchange: "x")
        #expect(sides.map(\.label) == ["C sequential writer", "fleet, concurrency 1"])

        var report = BenchReport(jobs: 100, concurrency: 1, prefetch: 200)
        report.add(result(100), workload: .write, side: "C sequential writer", isBaseline: true, run: 1)
        report.add(
            result(95),
            workload: BenchWorkload.write.rawValue,
            side: "fleet, concurrency 1",
            isBaseline: false,
            concurrency: 1,
            run: 1
        )
        let measures = report.targets.map(\.measure)
        #expect(measures.contains("B at concurrency 1") && measures.contains("B at concurrency 16"))
        #expect(report.targets.first { $0.measure == "B at concurrency 16" }?.value == nil)
        #expect(report.targets.first { $0.measure == "B at concurrency 1" }?.value == 0.95)
    }

    /// A measure that rounds to its limit shows more digits, so that it never reads as the limit
    /// beside FAIL (a pass printed B at concurrency 16 as "2.00×" and FAIL for 1.995).
    @Test func aMeasureThatRoundsToItsLimitShowsItsNextDigits() {
        func line(_ value: Double?, _ passes: Bool?) -> String {
            BenchReport.Target(measure: "m", target: "t", value: value, limit: 2, format: "%.2f×", passes: passes).line
        }
        #expect(line(1.995, false) == "| m | t | 1.9950× | FAIL |")
        #expect(line(2.004, true) == "| m | t | 2.0040× | PASS |")
        #expect(line(2, true) == "| m | t | 2.00× | PASS |")
        #expect(line(1.5, false) == "| m | t | 1.50× | FAIL |")
        #expect(line(1.99999, false) == "| m | t | 1.99999× | FAIL |")
        #expect(line(nil, nil) == "| m | t | not measured | – |")
        let tail = BenchReport.Target(
            measure: "m",
            target: "t",
            value: 5.04,
            limit: 5,
            format: "%.1f ms",
            passes: false
        )
        #expect(tail.line == "| m | t | 5.040 ms | FAIL |")
    }

    @Test func benchQueuesAckWithTheFilesDefaultDelay() throws {
        let yaml = """
            queue_defaults:
              ack_delay: 25ms
            job_types:
              a.job: {deadline: 10s}
            queues:
              q:
                job_types: [a.job]
                ack_delay: 3ms
            """
        let topology = try Topology.parse(yaml: yaml).withBenchQueues(prefetch: 200, concurrency: 16)
        #expect(topology.queue(named: NoOpJob.jobType)?.ackDelay == .milliseconds(25))
        #expect(topology.queue(named: CounterWriteJob.jobType)?.ackDelay == .milliseconds(25))
        #expect(topology.queue(named: "q")?.ackDelay == .milliseconds(3))
    }

    @Test func syntheticEnvelopesAreValidAndTwoHundredBytes() async throws {
        // Clients that never connect: parsing a payload touches no store.
        let postgres = PostgresClient(configuration: try PostgresConfiguration(url: "postgresql://x@127.0.0.1:1/x"))
        let redis = RedisClient(configuration: try RedisConfiguration(url: "redis://127.0.0.1:1/0"))
        var registry = JobRegistry()
        registry.register(NoOpJob())
        registry.register(CounterWriteJob(postgres: postgres, redis: redis))
        for workload in [BenchWorkload.noop, .write] {
            for index in [0, 7, 999, 1_000, 19_999] {
                let body = BenchWorkload.envelope(workload, index: index).encoded()
                #expect(body.count == 200)
                _ = try registry.prepare(try registry.decoder.decode(body))
            }
        }
        #expect(BenchWorkload.key(1_042) == "k-0042")
        await postgres.shutdown()
        await redis.shutdown()
    }
}
