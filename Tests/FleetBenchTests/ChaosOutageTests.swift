import Foundation
import Testing

/// The chaos suite end to end: `scripts/chaos.sh` on private servers of its own (other ports,
/// another folder), so it never disturbs the shared ones; but it takes minutes and both CPU cores,
/// so it runs only in the serial pass (FLEET_OUTAGE_TESTS=1, `--filter Outage`), as root.
@Suite("Chaos suite (Outage pass)", .serialized)
struct ChaosOutageTests {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()
    static let enabled = ProcessInfo.processInfo.environment["FLEET_OUTAGE_TESTS"] == "1"
    static var clusterScript: String { repository.appendingPathComponent("scripts/rabbitmq-cluster.sh").path }

    /// Starts bash with no signal blocked and SIGPIPE at its default, then `exec`s the arguments.
    /// Foundation's `Process` passes on the spawning thread's signal mask and the test process's
    /// ignored SIGPIPE, and every server chaos.sh starts inherited them: SIGTERM stayed blocked, so
    /// each stop waited 10 s and then killed with SIGKILL (seen in CI with FalkorDB and ClickHouse).
    static let cleanSignals = """
        import os, signal, sys
        signal.pthread_sigmask(signal.SIG_SETMASK, [])
        for number in (signal.SIGPIPE, signal.SIGXFSZ):
            signal.signal(number, signal.SIG_DFL)
        os.execv("/bin/bash", ["bash"] + sys.argv[1:])
        """

    /// Runs the script; returns its exit status and its summary line.
    func chaos(_ arguments: [String]) throws -> (status: Int32, summary: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        process.arguments =
            ["-c", Self.cleanSignals, Self.repository.appendingPathComponent("scripts/chaos.sh").path] + arguments
        process.currentDirectoryURL = Self.repository
        let output = Pipe()
        process.standardOutput = output
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        let summary = String(decoding: data, as: UTF8.self).split(separator: "\n").last { $0.hasPrefix("chaos:") }
        return (process.terminationStatus, summary.map(String.init) ?? "")
    }

    /// The CI variant: 1,000 messages, one fault of each kind; nothing lost, nothing applied twice,
    /// every malformed job dead-lettered with its reason, no queue left holding anything.
    @Test(.enabled(if: enabled), .timeLimit(.minutes(20)))
    func chaosOutageOneFaultOfEachKindLosesAndDuplicatesNothing() throws {
        let (status, summary) = try chaos(["--ci"])
        #expect(summary.contains(" lost=0 ") && summary.contains(" duplicated=0 "), "\(summary)")
        #expect(status == 0, "\(summary)")
    }

    /// The cluster scenario: a 3-node RabbitMQ cluster with quorum queues; the node holding the
    /// leaders, then the node the workers are connected to, stopped mid-run.
    @Test(
        .enabled(if: enabled && FileManager.default.fileExists(atPath: clusterScript)),
        .timeLimit(.minutes(20))
    )
    func chaosOutageClusterNodeLossLosesAndDuplicatesNothing() throws {
        let (status, summary) = try chaos(["--scenario", "cluster", "--jobs", "1000"])
        #expect(summary.contains(" lost=0 ") && summary.contains(" duplicated=0 "), "\(summary)")
        #expect(status == 0, "\(summary)")
    }
}
