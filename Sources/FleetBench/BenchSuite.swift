import AMQP
import FleetApp
import FleetCore
import FleetJobs
import FleetProducer
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
        /// The light-load workload, run after the others in each run; nil to skip it.
        public var light: LightLoad?
        /// The environment to find the broker probe's node and cookie in (``BrokerProbe``).
        public var environment: [String: String] = ProcessInfo.processInfo.environment
        public var concurrency = 16
        public var prefetch = 200
        /// The hot workload: registrations for its one event, and the event's seats.
        public var hotJobs = BenchHotPlan.defaultCount
        public var hotCapacity = BenchHotPlan.defaultCapacity
        /// The `fleet` binary to start workers with, and the C baseline beside it.
        public var fleetExecutable: String
        public var baselineExecutable: String
        /// A command the fleet's side runs under, its words before `fleet` (say, bench/order/trace.c, to
        /// record which functions a worker runs: `scripts/order-file.sh`); empty for none.
        public var fleetWrapper: [String] = []
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
        guard let probe = BrokerProbe.fromEnvironment(options.environment) else {
            throw BenchError(
                "no broker probe: set FLEET_RABBITMQCTL (as `scripts/services.sh env` prints it) or "
                    + "FLEET_RABBITMQ_COOKIE and FLEET_RABBITMQ_NODENAME, and install erlang-base's erl_call"
            )
        }
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
            let report = try await runAll(topology: topology, stores: stores, probe: probe, progress: progress)
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
        probe: BrokerProbe,
        progress: @Sendable (String) -> Void
    ) async throws -> BenchReport {
        try await stores.prepare(domains: options.workloads.contains(.mix) || options.workloads.contains(.hot))
        var report = BenchReport(jobs: options.jobs, concurrency: options.concurrency, prefetch: options.prefetch)
        for run in 1...options.runs {
            for workload in options.workloads {
                for side in sides(of: workload, exchange: topology.exchange) {
                    progress("run \(run)/\(options.runs): \(workload.title), \(side.label)")
                    let result = try await measure(side, workload: workload, stores: stores, probe: probe)
                    progress(Self.describe(result))
                    result.typeLines.forEach(progress)
                    report.add(
                        result,
                        workload: workload.rawValue,
                        side: side.label,
                        isBaseline: side.isBaseline,
                        concurrency: side.concurrency,
                        run: run
                    )
                }
            }
            if let light = options.light {
                for side in lightSides(light) {
                    progress(
                        "run \(run)/\(options.runs): light load, \(light.rate)/s for \(light.count) jobs, \(side.label)"
                    )
                    let result = try await measureLight(
                        side,
                        light: light,
                        topology: topology,
                        stores: stores,
                        probe: probe
                    )
                    progress(Self.describe(result))
                    report.add(
                        result,
                        workload: BenchReport.light,
                        side: side.label,
                        isBaseline: side.isBaseline,
                        concurrency: side.concurrency,
                        run: run
                    )
                }
            }
        }
        return report
    }

    static func describe(_ result: BenchResult) -> String {
        var line = String(
            format: "  process: %.0f jobs/s, p50 %.3f ms, p99 %.3f ms, peak RSS %.1f MiB",
            result.jobsPerSecond,
            result.p50Milliseconds,
            result.p99Milliseconds,
            Double(result.maxRSSKiB) / 1024
        )
        if let cpu = result.cpuMicrosecondsPerJob { line += String(format: ", CPU %.1f µs per job", cpu) }
        if let broker = result.broker {
            line += String(
                format: "\n  broker: whole drain %.0f jobs/s, steady %.0f jobs/s",
                broker.wholeRate,
                broker.steadyRate
            )
            if let tail = broker.tailMilliseconds { line += String(format: ", tail %.2f ms", tail) }
            var split: [String] = []
            if let written = broker.lastAckWrittenMilliseconds {
                split.append(String(format: "its last ack written at %.2f ms", written))
            }
            if let frame = broker.lastAckFrameMilliseconds {
                split.append(String(format: "its last ack frame reached the channel at %.2f ms", frame))
            }
            if !split.isEmpty { line += " (" + split.joined(separator: ", ") + ")" }
        }
        if let light = result.light {
            line += String(
                format:
                    "\n  publish→effect p50 %.2f / p99 %.2f / max %.2f ms; effect→ack at broker p50 %.2f / p99 %.2f / max %.2f ms",
                light.publishToEffect.p50,
                light.publishToEffect.p99,
                light.publishToEffect.max,
                light.effectToAck.p50,
                light.effectToAck.p99,
                light.effectToAck.max
            )
        }
        return line
    }

    /// One way of running a workload: the C baseline or the fleet at some concurrency.
    struct Side: Sendable {
        var label: String
        var isBaseline: Bool
        var arguments: [String]
        var executable: String
        /// The fleet's concurrency; nil for a C baseline.
        var concurrency: Int?
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
                executable: options.fleetExecutable,
                concurrency: concurrency
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
            ]
                // `--concurrency 1`: the sequential run is the only fleet side, not run twice.
                + (options.concurrency > 1
                    ? [fleet("fleet, concurrency \(options.concurrency)", concurrency: options.concurrency)] : [])
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

    private func measure(
        _ side: Side,
        workload: BenchWorkload,
        stores: BenchStores,
        probe: BrokerProbe
    ) async throws -> BenchResult {
        try await stores.reset(workload)
        let queues = stores.workQueues(of: workload)
        // A drain of one queue is timed by the broker too; the mix drains many queues at once.
        let observed = workload != .publish && queues.count == 1
        if workload != .publish { try await stores.preload(workload, count: jobs(of: workload)) }
        let running =
            observed
            ? try await probe.startDrain(
                vhost: configuration.amqp.vhost,
                queue: queues[0],
                spinBelow: options.prefetch,
                deadline: .seconds(600)
            ) : nil
        var result = try await runSide(side)
        if let running {
            let records = try await probe.result(of: running, arity: 3)
            guard let timeline = DrainTimeline(records: records, jobs: jobs(of: workload)) else {
                throw BenchError("\(side.label): the broker did not see the queue drained: \(records.suffix(5))")
            }
            result.broker = .init(
                wholeRate: timeline.wholeRate,
                steadyRate: timeline.steadyRate,
                tailMilliseconds: result.lastEffectUnixNanos.map { timeline.tailMilliseconds(lastEffect: $0) },
                lastAckFrameMilliseconds: result.lastEffectUnixNanos.flatMap {
                    timeline.lastAckFrameMilliseconds(lastEffect: $0)
                },
                lastAckWrittenMilliseconds: result.lastAckWrittenMilliseconds
            )
        }
        try await stores.verify(workload, jobs: jobs(of: workload), label: side.label)
        return result
    }

    private func runSide(_ side: Side) async throws -> BenchResult {
        let command =
            side.isBaseline || options.fleetWrapper.isEmpty
            ? [side.executable] + side.arguments : options.fleetWrapper + [side.executable] + side.arguments
        let output = try await ChildProcess.run(command[0], Array(command.dropFirst()))
        guard let line = output.split(separator: "\n").last,
            let result = try? JSONDecoder().decode(BenchResult.self, from: Data(line.utf8))
        else {
            throw BenchError("\(side.executable) \(side.arguments.joined(separator: " ")) printed no result: \(output)")
        }
        return result
    }

    // MARK: Light load

    /// The C consumer and the fleet on workload A's queue, each writing its effects to `path`.
    func lightSides(_ light: LightLoad) -> [Side] {
        let count = String(light.count)
        let prefetch = String(options.prefetch)
        return [
            Side(
                label: "C consumer",
                isBaseline: true,
                arguments: [
                    "consume", "--queue", NoOpJob.jobType, "--prefetch", prefetch, "--amqp", options.amqpURL,
                    "--count", count, "--effects",
                ],
                executable: options.baselineExecutable
            ),
            Side(
                label: "fleet, concurrency \(options.concurrency)",
                isBaseline: false,
                arguments: [
                    "bench-worker", "--workload", BenchReport.light, "--count", count,
                    "--concurrency", String(options.concurrency), "--prefetch", prefetch,
                    "--config-dir", options.configDirectory, "--effects",
                ],
                executable: options.fleetExecutable,
                concurrency: options.concurrency
            ),
        ]
    }

    /// Starts the consumer and the broker's ack probe, publishes at the light load's rate, and pairs
    /// each job's publish, effect and ack (``LightLoadTimeline``).
    private func measureLight(
        _ side: Side,
        light: LightLoad,
        topology: Topology,
        stores: BenchStores,
        probe: BrokerProbe
    ) async throws -> BenchResult {
        try await stores.reset(.noop)
        let effectsPath =
            "\(NSTemporaryDirectory())/fleet-bench-effects-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        defer { try? FileManager.default.removeItem(atPath: effectsPath) }
        var withEffects = side
        withEffects.arguments.append(effectsPath)
        let consumerSide = withEffects
        let acks = try await probe.startAcks(
            vhost: configuration.amqp.vhost,
            queue: NoOpJob.jobType,
            count: light.count,
            deadline: light.duration + .seconds(120)
        )
        let producer = JobProducer(
            amqp: configuration.amqp,
            exchange: topology.exchange,
            definitions: BenchJobTypes.definitions,
            logger: logger
        )
        let (result, publishedAt) = try await withThrowingTaskGroup(of: (BenchResult?, [Int64]?).self) { tasks in
            tasks.addTask { (try await runSide(consumerSide), nil) }
            tasks.addTask {
                // The producer connects on its first publish: do that before the clock matters, with
                // a job for workload B's queue, which the next reset purges.
                let warmUp = BenchWorkload.envelope(.write, index: 0)
                try await producer.publish(envelope: warmUp, body: warmUp.encoded())
                // Publishing starts once the consumer consumes.
                try await waitForConsumer(queue: NoOpJob.jobType, probe: probe)
                return (nil, try await light.publish(producer: producer))
            }
            var result: BenchResult?
            var publishedAt: [Int64]?
            for try await (side, published) in tasks {
                result = side ?? result
                publishedAt = published ?? publishedAt
            }
            return (result!, publishedAt!)
        }
        await producer.shutdown()
        let records = try await probe.result(of: acks, arity: 3).map {
            LightLoadTimeline.Ack(time: $0[0], deliveryTag: Int($0[1]), multiple: $0[2] == 1)
        }
        let timeline = try LightLoadTimeline(
            publishedAt: publishedAt,
            effects: try LightLoad.readEffects(effectsPath),
            acks: records
        )
        var observed = result
        observed.light = timeline.summary
        try await stores.verify(.noop, jobs: light.count, label: side.label)
        return observed
    }

    /// Waits until `queue` has a consumer.
    private func waitForConsumer(queue: String, probe: BrokerProbe) async throws {
        let deadline = ContinuousClock.now + .seconds(60)
        while ContinuousClock.now < deadline {
            if try await probe.consumerCount(vhost: configuration.amqp.vhost, queue: queue) > 0 { return }
            try await Task.sleep(for: .milliseconds(20))
        }
        throw BenchError("no consumer on \(queue) after 60 s")
    }

    /// Jobs per run: `--hot-jobs` for the hot workload, `--jobs` for the others.
    func jobs(of workload: BenchWorkload) -> Int { workload == .hot ? options.hotJobs : options.jobs }
}

public struct BenchError: Error, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
}
