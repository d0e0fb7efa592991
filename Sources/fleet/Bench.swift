import ArgumentParser
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
            same run, p50/p99 latency (receipt to ack) and peak RSS; then a table of medians and ranges. \
            Workloads: noop (A), write (B: Redis lock + PostgreSQL upsert), mix (C: the real job types), \
            publish (confirmed publishes), hot (one event receiving --hot-jobs registrations at once). It purges the bench's queues and writes to the database: \
            point it at a vhost and database of its own, as scripts/bench.sh does.
            """
    )

    @OptionGroup var common: CommonOptions
    @Option(help: "Runs of every workload; the table shows median and range.") var runs = 3
    @Option(help: "Jobs per run.") var jobs = 20_000
    @Option(help: "Comma-separated workloads: noop, write, mix, publish, hot.")
    var workloads = "noop,write,mix,publish,hot"
    @Option(help: "Fleet concurrency per queue (workload B also runs at 1).") var concurrency = 16
    @Option(help: "Prefetch of every consumer, C and fleet; also the publishers' confirm window.")
    var prefetch = 200
    @Option(help: "Also write the Markdown table to this file.") var markdown: String?
    @Option(help: "Hot workload: registrations for its one event.") var hotJobs = 1_000
    @Option(help: "Hot workload: the event's seats.") var hotCapacity = 100

    func run() async throws {
        let logger = bootstrapLogging()
        let environment = ProcessInfo.processInfo.environment
        let fleetExecutable = try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")
        let directory = (fleetExecutable as NSString).deletingLastPathComponent
        var options = BenchSuite.Options(
            fleetExecutable: fleetExecutable,
            baselineExecutable: "\(directory)/fleet-bench-baseline",
            configDirectory: common.configDir,
            amqpURL: environment["FLEET_AMQP_URL"] ?? FleetDefaults.amqp,
            postgresURL: environment["FLEET_POSTGRES_URL"] ?? FleetDefaults.postgres
        )
        options.runs = runs
        options.jobs = jobs
        options.concurrency = concurrency
        options.prefetch = prefetch
        options.hotJobs = hotJobs
        options.hotCapacity = hotCapacity
        options.workloads = try workloads.split(separator: ",").map { name in
            guard let workload = BenchWorkload(rawValue: String(name)) else {
                throw ValidationError("unknown workload \(name): use noop, write, mix, publish, hot")
            }
            return workload
        }
        guard FileManager.default.isExecutableFile(atPath: options.baselineExecutable) else {
            throw CommandError(
                description: "no C baseline at \(options.baselineExecutable): build it with "
                    + "`swift build -c release --product fleet-bench-baseline`"
            )
        }
        let suite = BenchSuite(options: options, configuration: try common.configuration(), logger: logger)
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
    @Option var workload: BenchWorkload
    @Option var count: Int
    @Option var concurrency: Int
    @Option var prefetch: Int

    func run() async throws {
        let logger = bootstrapLogging()
        let worker = BenchWorker(
            workload: workload,
            count: count,
            concurrency: concurrency,
            prefetch: prefetch,
            configuration: try common.configuration()
        )
        print(try await worker.run(logger: logger).json())
    }
}

extension BenchWorkload: ExpressibleByArgument {}
