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

    /// Runs the script; returns its exit status and its summary line. Through the harness's
    /// `ChildProcess`, not Foundation's `Process`: it starts the child with no signal blocked and
    /// SIGPIPE at its default (with `Process`, every server chaos.sh started inherited a blocked
    /// SIGTERM), and reaps it itself: `Process.waitUntilExit` never returned once in CI, the script
    /// done and left a zombie, until the test's time limit.
    func chaos(_ arguments: [String]) async throws -> (status: Int32, summary: String) {
        let output = "\(NSTemporaryDirectory())/chaos-\(UUID().uuidString.prefix(8)).out"
        defer { try? FileManager.default.removeItem(atPath: output) }
        let child = try ChildProcess(
            "/bin/bash",
            [Self.repository.appendingPathComponent("scripts/chaos.sh").path] + arguments,
            standardOutput: output
        )
        await child.exited()
        let text = (try? String(contentsOfFile: output, encoding: .utf8)) ?? ""
        let summary = text.split(separator: "\n").last { $0.hasPrefix("chaos:") }
        return (child.succeeded ? 0 : max(1, child.terminationStatus), summary.map(String.init) ?? "")
    }

    /// The CI variant: 1,000 messages, one fault of each kind; nothing lost, nothing applied twice,
    /// every malformed job dead-lettered with its reason, no queue left holding anything.
    @Test(.enabled(if: enabled), .timeLimit(.minutes(20)))
    func chaosOutageOneFaultOfEachKindLosesAndDuplicatesNothing() async throws {
        let (status, summary) = try await chaos(["--ci"])
        #expect(summary.contains(" lost=0 ") && summary.contains(" duplicated=0 "), "\(summary)")
        #expect(status == 0, "\(summary)")
    }

    /// The cluster scenario: a 3-node RabbitMQ cluster with quorum queues; the node holding the
    /// leaders, then the node the workers are connected to, stopped mid-run.
    @Test(
        .enabled(if: enabled && FileManager.default.fileExists(atPath: clusterScript)),
        .timeLimit(.minutes(20))
    )
    func chaosOutageClusterNodeLossLosesAndDuplicatesNothing() async throws {
        let (status, summary) = try await chaos(["--scenario", "cluster", "--jobs", "1000"])
        #expect(summary.contains(" lost=0 ") && summary.contains(" duplicated=0 "), "\(summary)")
        #expect(status == 0, "\(summary)")
    }
}
