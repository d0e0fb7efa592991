import ArgumentParser
import FleetBench
import Foundation

/// The Swift steps of `scripts/chaos.sh`, which starts private servers and workers and injects the
/// faults between them. Hidden: run the script, not these.
struct Chaos: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Steps of the chaos suite (scripts/chaos.sh): prepare, publish, verify.",
        discussion: """
            prepare seeds the stores for a run and writes its state file; publish sends its messages \
            (workload C's jobs of `fleet bench`, 10% duplicates, 5% malformed) through any broker fault; \
            verify checks that every queue is empty, every malformed job is dead-lettered once with its \
            reason, and that the stores hold every valid job's effect exactly once, then prints one \
            summary line and exits 1 on any loss, duplicate or problem. It writes to the stores: point \
            it at servers of its own, as scripts/chaos.sh does.
            """,
        shouldDisplay: false,
        subcommands: [Prepare.self, Publish.self, Verify.self]
    )

    struct Prepare: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Migrate and seed the stores; write the state file.")
        @OptionGroup var common: CommonOptions
        @Option(help: "Messages to publish: valid jobs, 10% duplicates, 5% malformed.") var jobs = 10_000
        @Option(help: "The run's state file.") var state: String

        func run() async throws {
            let logger = bootstrapLogging()
            let run = ChaosRun(configuration: try common.configuration(), logger: logger)
            print(try await run.prepare(total: jobs, statePath: state))
        }
    }

    struct Publish: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Publish the run's messages, retrying through faults."
        )
        @OptionGroup var common: CommonOptions
        @Option(help: "The run's state file.") var state: String
        @Option(help: "Spread the messages evenly over this many seconds.") var seconds = 60.0
        @Option(help: "Where to write the ids that needed another attempt.") var republished: String

        func run() async throws {
            let logger = bootstrapLogging()
            let run = ChaosRun(configuration: try common.configuration(), logger: logger)
            print(try await run.publish(statePath: state, seconds: seconds, republishedPath: republished))
        }
    }

    struct Verify: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Check queues, dead letters and stores; print the summary; exit 1 on failure."
        )
        @OptionGroup var common: CommonOptions
        @Option(help: "The run's state file.") var state: String
        @Option(help: "The ids the publisher sent twice (from publish).") var republished: String?
        @Flag(help: "Redis lost its data during the run: accept missing (never wrong) cache entries.")
        var redisLostData = false

        func run() async throws {
            let logger = bootstrapLogging()
            let run = ChaosRun(configuration: try common.configuration(), logger: logger)
            let verdict = try await run.verify(
                statePath: state,
                republishedPath: republished,
                redisLostData: redisLostData
            )
            for problem in verdict.problems.prefix(30) {
                FileHandle.standardError.write(Data("chaos: problem: \(problem)\n".utf8))
            }
            if verdict.problems.count > 30 {
                FileHandle.standardError.write(Data("chaos: ... and \(verdict.problems.count - 30) more\n".utf8))
            }
            print(verdict.line)
            if !verdict.passed { throw ExitCode(1) }
        }
    }
}
