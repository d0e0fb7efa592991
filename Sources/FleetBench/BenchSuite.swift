import AMQP
import FleetCore
import FleetJobs
import Foundation
import Logging
import Postgres

/// `fleet bench`: for each workload and run, preloads a queue, drains it once with the C baseline
/// and once with the fleet (each in a process of its own), checks the stores, and collects timings.
public struct BenchSuite: Sendable {
    public struct Options: Sendable {
        public var runs = 3
        public var jobs = 20_000
        public var workloads = BenchWorkload.allCases
        public var concurrency = 16
        public var prefetch = 200
        /// The hot workload: registrations for its one event, and the event's seats.
        public var hotJobs = BenchHotPlan.defaultCount
        public var hotCapacity = BenchHotPlan.defaultCapacity
        /// The `fleet` binary to start workers with, and the C baseline beside it.
        public var fleetExecutable: String
        public var baselineExecutable: String
        public var configDirectory: String
        /// Server URLs as given (the C baseline parses them itself).
        public var amqpURL: String
        public var postgresURL: String

        public init(
            fleetExecutable: String,
            baselineExecutable: String,
            configDirectory: String,
            amqpURL: String,
            postgresURL: String
        ) {
            self.fleetExecutable = fleetExecutable
            self.baselineExecutable = baselineExecutable
            self.configDirectory = configDirectory
            self.amqpURL = amqpURL
            self.postgresURL = postgresURL
        }
    }

    public let options: Options
    public let configuration: FleetConfiguration
    private let logger: Logger

    public init(options: Options, configuration: FleetConfiguration, logger: Logger) {
        self.options = options
        self.configuration = configuration
        self.logger = logger
    }

    public func run(progress: @Sendable (String) -> Void) async throws -> BenchReport {
        let topology = try configuration.loadTopology()
            .withBenchQueues(prefetch: options.prefetch, concurrency: options.concurrency)
        try await AMQPConnection.withDedicatedThread(configuration.amqp) { connection in
            try TopologyDeclarer(topology: topology).declare(on: connection)
        }
        let postgres = PostgresClient(configuration: configuration.postgres, maxConnections: 2)
        let stores = BenchStores(
            postgres: postgres,
            topology: topology,
            amqp: configuration.amqp,
            logger: logger,
            configuration: configuration,
            hotCapacity: options.hotCapacity
        )
        do {
            let report = try await runAll(topology: topology, stores: stores, progress: progress)
            await postgres.shutdown()
            return report
        } catch {
            await postgres.shutdown()
            throw error
        }
    }

    private func runAll(
        topology: Topology,
        stores: BenchStores,
        progress: @Sendable (String) -> Void
    ) async throws -> BenchReport {
        try await stores.prepare(domains: options.workloads.contains(.mix) || options.workloads.contains(.hot))
        var report = BenchReport(jobs: options.jobs, concurrency: options.concurrency, prefetch: options.prefetch)
        for run in 1...options.runs {
            for workload in options.workloads {
                for side in sides(of: workload, exchange: topology.exchange) {
                    progress("run \(run)/\(options.runs): \(side.label)")
                    let result = try await measure(side, workload: workload, stores: stores)
                    progress(
                        String(
                            format: "  %.0f jobs/s, p50 %.3f ms, p99 %.3f ms, peak RSS %.1f MiB",
                            result.jobsPerSecond,
                            result.p50Milliseconds,
                            result.p99Milliseconds,
                            Double(result.maxRSSKiB) / 1024
                        )
                    )
                    result.typeLines.forEach(progress)
                    report.add(result, workload: workload, side: side.label, isBaseline: side.isBaseline, run: run)
                }
            }
        }
        return report
    }

    /// One way of running a workload: the C baseline or the fleet at some concurrency.
    struct Side: Sendable {
        var label: String
        var isBaseline: Bool
        var arguments: [String]
        var executable: String
    }

    func sides(of workload: BenchWorkload, exchange: String) -> [Side] {
        let count = String(jobs(of: workload))
        let prefetch = String(options.prefetch)
        func baseline(_ label: String, _ arguments: [String]) -> Side {
            Side(
                label: label,
                isBaseline: true,
                arguments: arguments + ["--amqp", options.amqpURL, "--count", count],
                executable: options.baselineExecutable
            )
        }
        func fleet(_ label: String, concurrency: Int) -> Side {
            Side(
                label: label,
                isBaseline: false,
                arguments: [
                    "bench-worker", "--workload", workload.rawValue, "--count", count,
                    "--concurrency", String(concurrency), "--prefetch", prefetch,
                    "--config-dir", options.configDirectory,
                ],
                executable: options.fleetExecutable
            )
        }
        let redis = "\(configuration.redis.host):\(configuration.redis.port)"
        switch workload {
        case .noop:
            return [
                baseline("C consumer", ["consume", "--queue", NoOpJob.jobType, "--prefetch", prefetch]),
                fleet("fleet, concurrency \(options.concurrency)", concurrency: options.concurrency),
            ]
        case .write:
            return [
                baseline(
                    "C sequential writer",
                    [
                        "write", "--queue", CounterWriteJob.jobType, "--prefetch", prefetch,
                        "--postgres", options.postgresURL, "--redis", redis, "--table", CounterWriteJob.table,
                        "--lock-prefix", CounterWriteJob.lockPrefix,
                    ]
                ),
                fleet("fleet, concurrency 1", concurrency: 1),
                fleet("fleet, concurrency \(options.concurrency)", concurrency: options.concurrency),
            ]
        case .mix:
            return [fleet("fleet, concurrency \(options.concurrency) per queue", concurrency: options.concurrency)]
        case .hot:
            return [
                fleet(
                    "fleet, concurrency \(options.concurrency), one event of \(options.hotCapacity) seats",
                    concurrency: options.concurrency
                )
            ]
        case .publish:
            return [
                baseline(
                    "C publisher, confirms in batches of \(options.prefetch)",
                    [
                        "publish", "--exchange", exchange, "--routing-key",
                        NoOpJob.jobType, "--batch", prefetch,
                    ]
                ),
                fleet("fleet JobProducer, \(options.prefetch) in flight", concurrency: options.concurrency),
            ]
        }
    }

    private func measure(_ side: Side, workload: BenchWorkload, stores: BenchStores) async throws -> BenchResult {
        try await stores.reset(workload)
        if workload != .publish { try await stores.preload(workload, count: jobs(of: workload)) }
        let output = try await ChildProcess.run(side.executable, side.arguments)
        guard let line = output.split(separator: "\n").last,
            let result = try? JSONDecoder().decode(BenchResult.self, from: Data(line.utf8))
        else {
            throw BenchError("\(side.executable) \(side.arguments.joined(separator: " ")) printed no result: \(output)")
        }
        try await stores.verify(workload, jobs: jobs(of: workload), label: side.label)
        return result
    }

    /// Jobs per run: `--hot-jobs` for the hot workload, `--jobs` for the others.
    func jobs(of workload: BenchWorkload) -> Int { workload == .hot ? options.hotJobs : options.jobs }
}

public struct BenchError: Error, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
}
