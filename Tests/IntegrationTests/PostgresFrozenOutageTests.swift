import Foundation
import Testing

@testable import FleetCore
@testable import Postgres

/// A PostgreSQL server frozen with SIGSTOP (`scripts/services.sh pg-freeze`): it accepts TCP
/// connections and acknowledges packets, but answers nothing, so neither a cancel request nor
/// TCP timeouts end a statement in progress. Freezes the server of FLEET_SERVICES_DIR, so it runs
/// only in scripts/test.sh's serial outage pass, with FLEET_OUTAGE_TESTS=1.
@Suite("PostgreSQL frozen Outage", .serialized, .timeLimit(.minutes(2)))
struct PostgresFrozenOutageTests {
    static let url =
        ProcessInfo.processInfo.environment["FLEET_POSTGRES_URL"] ?? "postgresql://fleet:fleet@127.0.0.1:55432/fleet"
    static let services =
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().path + "/scripts/services.sh"

    @Test(
        "A deadline on a frozen server frees its pool slot after the grace period, while the server stays frozen",
        .enabled(if: ProcessInfo.processInfo.environment["FLEET_OUTAGE_TESTS"] == "1")
    )
    func aFrozenServerOutageCostsOneConnectionNotThePool() async throws {
        let client = PostgresClient(
            configuration: try PostgresConfiguration(url: Self.url + "?connect_timeout=2"),
            maxConnections: 1
        )
        #expect(try await client.query("SELECT 1 AS one").first?.int("one") == 1)
        try shell("\(Self.services) pg-freeze")
        // Nothing below throws before the thaw: the expectations record their failures and go on.
        do {
            let started = ContinuousClock.now
            await #expect(throws: DeadlineExceeded.self) {
                try await withDeadline(.milliseconds(500)) { try await client.query("SELECT 2") }
            }
            #expect(ContinuousClock.now - started < .seconds(3), "withDeadline took \(ContinuousClock.now - started)")
            // The only slot comes back while the server is still frozen: the next call gets it, and
            // fails on its own connect timeout instead of waiting for the hung statement forever.
            let error = await #expect(throws: PostgresError.self) { try await client.query("SELECT 3") }
            #expect(error?.code == .connection, "\(String(describing: error))")
            let took = ContinuousClock.now - started
            #expect(took < .seconds(20), "the pool's slot came back after \(took)")
        }
        try shell("\(Self.services) pg-thaw")
        #expect(try await client.query("SELECT 4 AS four").first?.int("four") == 4)
        await client.shutdown()
    }

    /// Runs `command` with /bin/sh and waits for it (posix_spawn: Foundation's Process can wait for
    /// a daemon's inherited descriptors).
    private func shell(_ command: String) throws {
        var pid: pid_t = 0
        let words: [String] = ["/bin/sh", "-c", command + " >/dev/null 2>&1"]
        var arguments: [UnsafeMutablePointer<CChar>?] = words.map { strdup($0) } + [nil]
        defer { for argument in arguments { free(argument) } }
        guard posix_spawn(&pid, "/bin/sh", nil, nil, &arguments, environ) == 0 else {
            throw PostgresError(code: .configuration, message: "could not run \(command)", address: "")
        }
        var status: Int32 = 0
        waitpid(pid, &status, 0)
        guard status == 0 else {
            throw PostgresError(code: .configuration, message: "\(command) failed: \(status)", address: "")
        }
    }
}
