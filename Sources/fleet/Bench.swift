import ArgumentParser
import FleetApp
import FleetBench
import FleetCore
import FleetJobs
import Foundation

struct Bench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Benchmark the fleet against C baselines on the local services.",
        discussion: """
            For each workload and run: preloads a queue, drains it with a C baseline \
            (fleet-bench-baseline, built beside fleet) and with the fleet, each in a process of its own, \
            checks that every job was applied exactly once, and prints jobs/s, the fleet/C ratio of the \
            same run, p50/p99 latency (receipt to ack), CPU per job (the process's user and system time \
            since it started, over its jobs) and peak RSS; then a table of medians and ranges, \
            and the benchmark issue's targets with PASS or FAIL. \
            Workloads: noop (A), write (B: Redis lock + PostgreSQL upsert), mix (C: the real job types), \
            publish (confirmed publishes), hot (one event receiving --hot-jobs registrations at once), \
            light (no-op jobs published at a steady rate while the consumer runs). Drains of one queue \
            and light load are also timed by the broker: a probe on the RabbitMQ node (through erl_call, \
            with the node and cookie of FLEET_RABBITMQCTL) sees when the queue holds each ack, and when \
            the consumer's channel took its last ack frame; the runners of noop and write also say when \
            they wrote their last ack, which splits a drain's tail into the process's share and the \
            broker's. It purges \
            the bench's queues and writes to the database: \
            point it at a vhost and database of its own, as scripts/bench.sh does. \
            FLEET_BENCH_WORKER_WRAPPER, if set, is a command (words separated by spaces) that each fleet \
            side runs under, given fleet's path and arguments: scripts/order-file.sh traces workers so.
            """
    )

    @OptionGroup var common: CommonOptions
    @Option(help: "Runs of every workload; the table shows median and range.") var runs = 3
    @Option(help: "Jobs per run.") var jobs = 20_000
    @Option(help: "Comma-separated workloads: noop, write, mix, publish, hot, light.")
    var workloads = "noop,write,mix,publish,hot,light"
    @Option(help: "Light load: jobs published per second.") var lightRate = 200
    @Option(help: "Light load: seconds of publishing per run.") var lightSeconds = 20.0
    @Option(help: "Fleet concurrency per queue (workload B also runs at 1).") var concurrency = 16
    @Option(help: "Prefetch of every consumer, C and fleet; also the publishers' confirm window.")
    var prefetch = 200
    @Option(help: "Also write the Markdown table to this file.") var markdown: String?
    @Option(help: "Hot workload: registrations for its one event.") var hotJobs = 1_000
    @Option(help: "Hot workload: the event's seats.") var hotCapacity = 100

    func run() async throws {
        let logger = bootstrapLogging()
        // Fails unless every URL is set (or FLEET_DEV_MODE=1, when an unset one takes its default).
        let configuration = try common.configuration()
        let secrets = EnvironmentSecrets()
        let fleetExecutable = try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")
        let directory = (fleetExecutable as NSString).deletingLastPathComponent
        var options = BenchSuite.Options(
            fleetExecutable: fleetExecutable,
            baselineExecutable: "\(directory)/fleet-bench-baseline",
            configDirectory: common.configDir,
            amqpURL: try secrets.value(FleetServer.amqp.variable) ?? FleetConfiguration.defaultAMQPURL,
            postgresURL: try secrets.value(FleetServer.postgres.variable) ?? FleetConfiguration.defaultPostgresURL
        )
        options.fleetWrapper =
            ProcessInfo.processInfo.environment["FLEET_BENCH_WORKER_WRAPPER"]?.split(separator: " ").map(String.init)
            ?? []
        options.runs = runs
        options.jobs = jobs
        options.concurrency = concurrency
        options.prefetch = prefetch
        options.hotJobs = hotJobs
        options.hotCapacity = hotCapacity
        let names = workloads.split(separator: ",").map(String.init)
        options.workloads = try names.filter { $0 != BenchReport.light }.map { name in
            guard let workload = BenchWorkload(rawValue: name) else {
                let known = BenchWorkload.allCases.map(\.rawValue) + [BenchReport.light]
                throw ValidationError("unknown workload \(name): use \(known.joined(separator: ", "))")
            }
            return workload
        }
        if names.contains(BenchReport.light) {
            guard lightRate > 0, lightSeconds > 0 else { throw ValidationError("light load needs a rate and seconds") }
            options.light = LightLoad(rate: lightRate, duration: .milliseconds(Int(lightSeconds * 1000)))
        }
        guard FileManager.default.isExecutableFile(atPath: options.baselineExecutable) else {
            throw CommandError(
                description: "no C baseline at \(options.baselineExecutable): build it with "
                    + "`swift build -c release --product fleet-bench-baseline`"
            )
        }
        let suite = BenchSuite(options: options, configuration: configuration, logger: logger)
        let report = try await suite.run { print($0) }
        print("\n\(report.markdown)")
        if let markdown { try report.markdown.write(toFile: markdown, atomically: true, encoding: .utf8) }
    }
}

/// One fleet run of a workload, in a process of its own so that its peak RSS is its own.
struct BenchWorkerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench-worker",
        abstract: "One fleet run of a workload (started by `fleet bench`); prints its result as JSON.",
        shouldDisplay: false
    )

    @OptionGroup var common: CommonOptions
    @Option(help: "A workload of `fleet bench`, or light.") var workload: String
    @Option var count: Int
    @Option var concurrency: Int
    @Option var prefetch: Int
    @Option(help: "Light load: where to write each job's index and effect time.") var effects: String?

    func run() async throws {
        let logger = bootstrapLogging()
        // The bench compares the fleet's last job with the moment the broker held its last ack, and
        // reports handler times per job type: both read the fleet's own metrics.
        BenchTypeTimings.bootstrapBenchWorker()
        if workload == BenchReport.light {
            guard let effects else { throw ValidationError("--workload light needs --effects") }
            let worker = LightLoadWorker(
                count: count,
                concurrency: concurrency,
                prefetch: prefetch,
                effectsPath: effects,
                configuration: try common.configuration()
            )
            print(try await worker.run(logger: logger).json())
            return
        }
        guard let workload = BenchWorkload(rawValue: workload) else {
            throw ValidationError("unknown workload \(workload)")
        }
        let worker = BenchWorker(
            workload: workload,
            count: count,
            concurrency: concurrency,
            prefetch: prefetch,
            configuration: try common.configuration()
        )
        var result = try await worker.run(logger: logger)
        if workload != .publish { result.lastEffectUnixNanos = LastJobClock.shared.lastUnixNanoseconds }
        print(result.json())
    }
}
