import ClickHouse
import FleetApp
import FleetContract
import FleetJobs
import Foundation
import Testing

/// `fleet status` against the real broker's management API and a real worker's `/metrics`, and the
/// JSON-lines logs of a real `fleet run` (no personal data in them).
@Suite("fleet status and JSON logs end to end")
struct StatusEndToEndTests {
    static let queue = "fleet.analytics"

    /// An `analytics.activity.record` body with one event whose fields are `event` over a valid event.
    static func activityBody(_ event: [String: Any]) throws -> [UInt8] {
        var fields: [String: Any] = [
            "event_id": UUID().uuidString.lowercased(), "user_id": UUID().uuidString.lowercased(),
            "session_id": UUID().uuidString.lowercased(), "event_type": "page_view",
            "timestamp": "2026-11-01T10:20:30Z",
        ]
        fields.merge(event) { $1 }
        let envelope: [String: Any] = [
            "id": UUID().uuidString.lowercased(), "type": "analytics.activity.record",
            "created_at": "2026-11-01T10:20:30Z", "payload": ["events": [fields]],
        ]
        return Array(try JSONSerialization.data(withJSONObject: envelope))
    }

    @Test("status --json: exact ready and DLQ counts, a worker's jobs and failures, an unreachable worker")
    func statusCountsQueuesAndWorkers() async throws {
        let environment = try await FleetTestEnvironment.make("status", workers: ["analytics"])
        let clickhouse = try AnalyticsEndToEndTests.clickhouse()
        _ = try await ClickHouseMigrations.migrate(clickhouse)
        let addressFile = "\(NSTemporaryDirectory())/\(environment.name).address"
        let worker = try environment.startWorker(
            "analytics",
            environment: ["FLEET_HTTP_ADDRESS": "127.0.0.1:0", "FLEET_HTTP_ADDRESS_FILE": addressFile]
        )
        // 3 jobs that break the contract (dead-lettered at once) and 2 that are applied.
        for _ in 0..<3 { try await environment.publishRaw(try Self.activityBody(["user_id": "nope"]), to: Self.queue) }
        let (producer, stores) = environment.producer()
        for _ in 0..<2 {
            try await producer.enqueue(
                AnalyticsActivityRecord(events: AnalyticsEndToEndTests.events(count: 1, session: UUID().uuidString))
            )
        }
        try await environment.waitUntil("the listener's address", timeout: .seconds(60)) {
            FileManager.default.fileExists(atPath: addressFile)
                && !((try? String(contentsOfFile: addressFile, encoding: .utf8)) ?? "").isEmpty
        }
        let address = try String(contentsOfFile: addressFile, encoding: .utf8)
            .trimmingCharacters(in: .whitespacesAndNewlines)
        let unreachable = "127.0.0.1:1"
        func status() async throws -> [String: Any] {
            let text = try await environment.fleet(["status", "--json", "--workers", "\(address),\(unreachable)"])
            return try #require(JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
        }
        func row(_ document: [String: Any], _ key: String, _ name: String) -> [String: Any]? {
            (document[key] as? [[String: Any]])?.first { ($0["name"] ?? $0["address"]) as? String == name }
        }
        // The management API counts consumers from statistics the broker emits every 5 s: wait for both.
        try await environment.waitUntil("the worker's 5 jobs and its consumer", timeout: .seconds(120)) {
            let document = try await status()
            return row(document, "workers", address)?["jobs"] as? Int == 5
                && row(document, "queues", Self.queue)?["consumers"] as? Int == 1
        }
        let running = try await status()
        let workerRow = try #require(row(running, "workers", address))
        #expect(workerRow["reachable"] as? Bool == true)
        #expect(workerRow["failures"] as? Int == 3 && workerRow["dead_lettered"] as? Int == 3, "\(workerRow)")
        #expect(workerRow["in_flight"] as? Int == 0)
        #expect(workerRow["p50_seconds"] is Double && workerRow["p99_seconds"] is Double, "\(workerRow)")
        let down = try #require(row(running, "workers", unreachable))
        #expect(down["reachable"] as? Bool == false && down["jobs"] is NSNull)
        #expect((down["error"] as? String)?.contains("127.0.0.1:1") == true, "\(down)")

        // With no consumer, published jobs wait: the counts are exact.
        await worker.stop()
        for _ in 0..<4 {
            try await producer.enqueue(
                AnalyticsActivityRecord(events: AnalyticsEndToEndTests.events(count: 1, session: UUID().uuidString))
            )
        }
        // The management API's counts lag the broker by up to its 5 s statistics interval.
        try await environment.waitUntil("the management API shows 4 ready", timeout: .seconds(60)) {
            let queue = row(try await status(), "queues", Self.queue)
            return queue?["ready"] as? Int == 4 && queue?["consumers"] as? Int == 0
        }
        let stopped = try await status()
        let queue = try #require(row(stopped, "queues", Self.queue))
        #expect(queue["dead_lettered"] as? Int == 3 && queue["unacked"] as? Int == 0, "\(queue)")
        #expect(queue["exists"] as? Bool == true)
        #expect(stopped["vhost"] as? String == environment.name)
        // Every work queue of queues.yaml, declared or not, in its order.
        #expect(
            (stopped["queues"] as? [[String: Any]])?.compactMap { $0["name"] as? String }
                == environment.topology.queues.map(\.name)
        )

        // The text form names every work queue and shows the counts in aligned columns.
        let text = try await environment.fleet(["status", "--workers", unreachable])
        for name in environment.topology.queues.map(\.name) { #expect(text.contains(name), "\(text)") }
        // QUEUE READY UNACKED CONSUMERS PUBLISH/S DELIVER/S RETRYING DLQ (the rates move with time).
        let line = try #require(text.split(separator: "\n").first { $0.hasPrefix("\(Self.queue) ") })
        let cells = line.split(separator: " ").map(String.init)
        #expect(cells.count == 8 && cells[1...3] == ["4", "0", "0"] && cells[6...7] == ["0", "3"], "\(line)")
        #expect(text.contains("\(unreachable)  unreachable: "), "\(text)")
        await producer.shutdown()
        await stores.shutdown()
        try await clickhouse.shutdown()
        await environment.tearDown()
    }

    @Test("a wrong management password: a clear error, exit non-zero, the password never shown")
    func wrongManagementPasswordIsAClearError() throws {
        let sentinel = "sentinel-Pw-\(UInt32.random(in: 0...UInt32.max))"
        let url = try FleetTestEnvironment.sharedManagementURL(password: sentinel)
        for arguments in [["status"], ["status", "--json"]] {
            let run = try FleetRun(arguments, environment: ["FLEET_RABBITMQ_MGMT_URL": url])
            #expect(run.status != 0)
            #expect(run.errors.contains("management API") && run.errors.contains("401"), "\(run.errors)")
            #expect(!run.output.contains(sentinel) && !run.errors.contains(sentinel))
        }
    }

    @Test("--watch: a frame per interval outside a terminal, no connection leak, exit 0 on SIGINT")
    func watchRefreshesUntilInterrupted() async throws {
        let outputPath = "\(NSTemporaryDirectory())/status-watch-\(UUID().uuidString.prefix(8)).out"
        _ = FileManager.default.createFile(atPath: outputPath, contents: nil)
        defer { try? FileManager.default.removeItem(atPath: outputPath) }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: FleetTestEnvironment.fleetBinary)
        process.arguments = [
            "status", "--watch", "--interval", "0.2", "--workers", "127.0.0.1:1", "--config-dir",
            FleetTestEnvironment.repositoryRoot,
        ]
        process.standardOutput = FileHandle(forWritingAtPath: outputPath)
        process.standardError = FileHandle(forWritingAtPath: outputPath)
        try process.run()
        defer { if process.isRunning { kill(process.processIdentifier, SIGKILL) } }
        func frames() -> Int {
            let text = (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? ""
            return text.split(separator: "\n").filter { $0.hasPrefix("----- ") }.count
        }
        func openFiles() -> Int {
            (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(process.processIdentifier)/fd").count) ?? -1
        }
        try await waitFor("3 frames") { frames() >= 3 }
        let early = openFiles()
        let earlyFrames = frames()
        try await waitFor("10 more frames") { frames() >= earlyFrames + 10 }
        let late = openFiles()
        // One HTTP client for the run: its connection to the management API is reused.
        #expect(late <= early + 2, "open files grew from \(early) to \(late) over 10 frames")
        kill(process.processIdentifier, SIGINT)
        try await waitFor("exit on SIGINT") { !process.isRunning }
        #expect(process.terminationStatus == 0)
        let text = try String(contentsOfFile: outputPath, encoding: .utf8)
        #expect(text.contains("fleet.learning") && text.contains("127.0.0.1:1  unreachable: "), "\(text.prefix(2000))")
        #expect(!text.contains("\u{1B}["), "no terminal escapes outside a terminal")
    }

    @Test("--watch on a terminal redraws in place; a failed refresh is shown and the watch goes on")
    func watchOnATerminalAndThroughAFailedRefresh() async throws {
        // `script` gives the command a pseudo-terminal; `timeout` sends SIGINT after 3 s.
        let fleet =
            "\(FleetTestEnvironment.fleetBinary) status --watch --interval 0.2 --config-dir "
            + FleetTestEnvironment.repositoryRoot
        let terminal = try FleetRun(
            executable: "/usr/bin/script",
            ["-qec", "timeout -s INT --preserve-status 3 \(fleet)", "/dev/null"],
            environment: [:]
        )
        #expect(terminal.status == 0, "\(terminal.errors)")
        #expect(
            terminal.output.components(separatedBy: "\u{1B}[H\u{1B}[2J").count >= 3,
            "\(terminal.output.prefix(800))"
        )
        #expect(terminal.output.contains("fleet.learning") && !terminal.output.contains("----- "))

        let sentinel = "sentinel-Pw-\(UInt32.random(in: 0...UInt32.max))"
        let url = try FleetTestEnvironment.sharedManagementURL(password: sentinel)
        let failing = try FleetRun(
            executable: "/usr/bin/timeout",
            [
                "-s", "INT", "--preserve-status", "3", FleetTestEnvironment.fleetBinary, "status", "--watch",
                "--interval",
                "0.2", "--config-dir", FleetTestEnvironment.repositoryRoot,
            ],
            environment: ["FLEET_RABBITMQ_MGMT_URL": url],
            appendConfigDirectory: false
        )
        #expect(failing.status == 0, "\(failing.errors)")
        #expect(
            failing.output.components(separatedBy: "Error: cannot read the management API").count >= 3,
            "\(failing.output.prefix(800))"
        )
        #expect(!failing.output.contains(sentinel) && !failing.errors.contains(sentinel))
    }

    @Test("JSON logs of a fleet run at trace level: job fields present, no email, IP or user agent")
    func personalDataNeverInLogs() async throws {
        let environment = try await FleetTestEnvironment.make("pii", workers: ["analytics"])
        let clickhouse = try AnalyticsEndToEndTests.clickhouse()
        _ = try await ClickHouseMigrations.migrate(clickhouse)
        let email = "jane.pii\(UInt16.random(in: 0...UInt16.max))@example.org"
        let ip = "203.0.113.\(UInt8.random(in: 1...254))"
        let agent = "SentinelAgent/\(UInt16.random(in: 0...UInt16.max)) (pii-test)"
        let worker = try environment.startWorker(
            "analytics",
            environment: ["FLEET_LOG_LEVEL": "trace", "FLEET_LOG_FORMAT": "json"]
        )
        // Applied: the email in a free-text field, the IP and the user agent where they belong.
        let (producer, stores) = environment.producer()
        let traceID = "4bf92f3577b34da6a3ce929d0e0e4736"
        let session = UUID().uuidString.lowercased()
        let event = ActivityEvent(
            eventId: UUID().uuidString,
            userId: UUID().uuidString,
            sessionId: session,
            eventType: "search",
            timestamp: Date(timeIntervalSince1970: 1_767_323_045),
            eventCategory: email,
            eventAction: email,
            pageURL: "https://careers.example/?q=\(email)",
            userAgent: agent,
            ipAddress: ip
        )
        let applied = try await producer.enqueue(
            AnalyticsActivityRecord(events: [event]),
            traceparent: "00-\(traceID)-00f067aa0ba902b7-01"
        )
        // Dead-lettered: the email in fields that fail validation, and as an unknown key's name.
        let invalid: [[String: Any]] = [
            ["user_id": email], ["event_type": email], ["ip_address": email], ["user_agent": email + "\n" + agent],
            [email: ip], ["timestamp": email], ["session_id": ip],
        ]
        for fields in invalid { try await environment.publishRaw(try Self.activityBody(fields), to: Self.queue) }
        // An unknown job type that is the email, and a body that is not JSON around it.
        try await environment.publishRaw(
            Array(
                #"{"id":"\#(UUID().uuidString.lowercased())","type":"\#(email)","created_at":"2026-11-01T10:20:30Z","payload":{}}"#
                    .utf8
            ),
            to: Self.queue,
            type: email
        )
        try await environment.publishRaw(Array("\(email) \(ip)".utf8), to: Self.queue)
        try await environment.waitUntil("every job settled", timeout: .seconds(120)) {
            try await environment.deadLetters(Self.queue).count == invalid.count + 2
                && worker.output.contains(applied.id)
                && worker.output.contains("fleet.job done")
        }
        let output = await worker.stop()
        await producer.shutdown()
        await stores.shutdown()
        try await clickhouse.shutdown()
        await environment.tearDown()
        for secret in [email, ip, agent, "jane.pii"] {
            #expect(!output.contains(secret), "\(secret) in the logs:\n\(output.suffix(4000))")
        }
        // JSON lines: the job's line carries its id, type, attempt, queue, outcome, duration and trace id.
        let lines = output.split(separator: "\n").filter { $0.hasPrefix("{") }
        #expect(!lines.isEmpty)
        var done: [String: Any]?
        for line in lines {
            let object = try #require(
                JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                "not a JSON object: \(line)"
            )
            #expect(object["ts"] is String && object["level"] is String && object["logger"] is String)
            if object["msg"] as? String == "fleet.job done", object["job.id"] as? String == applied.id {
                done = object
            }
        }
        let job = try #require(done, "\(output.suffix(4000))")
        #expect(job["job.type"] as? String == "analytics.activity.record")
        #expect(job["job.attempt"] as? String == "1")
        #expect(job["queue"] as? String == Self.queue)
        #expect(job["outcome"] as? String == "applied")
        #expect((job["duration_ms"] as? String).flatMap(Int.init) != nil, "\(job)")
        #expect(job["trace_id"] as? String == traceID)
        let rejected = lines.filter { $0.contains("\"fleet.job rejected\"") }
        #expect(rejected.count == invalid.count + 2, "\(rejected)")
    }
}

/// A `fleet` run to completion with its exit status, standard output and standard error.
struct FleetRun {
    let status: Int32
    let output: String
    let errors: String

    /// Runs `executable` (the fleet binary by default) with `arguments`, plus `--config-dir` of the
    /// repository for the fleet binary unless `appendConfigDirectory` is false.
    init(
        executable: String = FleetTestEnvironment.fleetBinary,
        _ arguments: [String],
        environment overrides: [String: String],
        appendConfigDirectory: Bool = true
    ) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        let configDirectory = ["--config-dir", FleetTestEnvironment.repositoryRoot]
        let appended = executable == FleetTestEnvironment.fleetBinary && appendConfigDirectory
        process.arguments = arguments + (appended ? configDirectory : [])
        process.environment = FleetTestEnvironment.environment.merging(overrides) { $1 }
        let base = "\(NSTemporaryDirectory())/fleet-run-\(UUID().uuidString.prefix(8))"
        for suffix in [".out", ".err"] { _ = FileManager.default.createFile(atPath: base + suffix, contents: nil) }
        defer { for suffix in [".out", ".err"] { try? FileManager.default.removeItem(atPath: base + suffix) } }
        process.standardOutput = FileHandle(forWritingAtPath: base + ".out")
        process.standardError = FileHandle(forWritingAtPath: base + ".err")
        try process.run()
        process.waitUntilExit()
        status = process.terminationStatus
        output = (try? String(contentsOfFile: base + ".out", encoding: .utf8)) ?? ""
        errors = (try? String(contentsOfFile: base + ".err", encoding: .utf8)) ?? ""
    }
}

/// Polls `condition` every 100 ms for up to `timeout`.
func waitFor(_ what: String, timeout: Duration = .seconds(60), _ condition: () -> Bool) async throws {
    let deadline = ContinuousClock.now + timeout
    while !condition() {
        guard ContinuousClock.now < deadline else { throw HarnessError(description: "timed out waiting for \(what)") }
        try await Task.sleep(for: .milliseconds(100))
    }
}
