import FleetApp
import Foundation
import Postgres
import Testing

/// Issue 15, secrets: a password the fleet is given never comes back out of it. A RabbitMQ user and a
/// PostgreSQL role get a random sentinel password, every URL the `fleet` processes see carries it,
/// and everything they print (help texts, debug-level JSON logs, error messages, `fleet status`,
/// `fleet dlq`, the dashboard's pages) is searched for it.
@Suite("No secret in output (a sentinel password)")
struct SecretsEndToEndTests {
    /// Exit status and standard output + standard error of one `fleet` run.
    struct Run {
        var status: Int32
        var output: String
    }

    /// Runs `fleet` with exactly `environment`, whatever its exit status, stdout and stderr into one file.
    static func fleet(_ arguments: [String], _ environment: [String: String]) async throws -> Run {
        let (status, output) = try await runFleetBinary(arguments, environment: environment)
        return Run(status: status, output: output)
    }

    /// The names under "SUBCOMMANDS:" of a help text (ArgumentParser's layout: two-space indent).
    static func subcommands(inHelp text: String) -> [String] {
        guard let start = text.range(of: "SUBCOMMANDS:\n") else { return [] }
        var names: [String] = []
        for line in text[start.upperBound...].split(separator: "\n", omittingEmptySubsequences: false) {
            guard line.hasPrefix("  ") else { break }
            let word = line.drop { $0 == " " }.prefix { $0 != " " }
            // Continuation lines of a long abstract are indented further.
            if line.prefix(2 + 1).last != " ", !word.isEmpty { names.append(String(word)) }
        }
        return names
    }

    @Test("a sentinel password in every URL appears in no help text, log, error, status, DLQ listing or dashboard page")
    func sentinelPasswordIsNeverPrinted() async throws {
        let world = try await FleetTestEnvironment.make("secrets", workers: ["learning"])
        let tag = String(UInt64.random(in: 0...UInt64.max), radix: 16)
        let sentinel = "S3ntinel-\(tag)"
        let brokerUser = "fleet-sentinel-\(tag)"
        let role = "fleet_sentinel_\(tag)"
        var transcript = ""
        var worker: WorkerProcess?
        var dashboard: DashboardProcess?
        do {
            // A broker user of this world's vhost (monitoring: it may read the management API for
            // the vhosts it has permissions on) and a PostgreSQL role with the fleet role's rights.
            try await runShell(
                FleetTestEnvironment.managementCall(
                    "PUT",
                    "users/\(brokerUser)",
                    body: #"{"password":"\#(sentinel)","tags":"monitoring"}"#,
                    base: world.adminManagementURL
                ) + " && "
                    + FleetTestEnvironment.managementCall(
                        "PUT",
                        "permissions/\(world.name)/\(brokerUser)",
                        body: #"{"configure":".*","write":".*","read":".*"}"#,
                        base: world.adminManagementURL
                    )
            )
            try await world.postgres.query(
                "CREATE ROLE \(role) LOGIN PASSWORD '\(sentinel)' IN ROLE \(world.configuration.postgres.user)"
            )
            var configuration = world.configuration
            configuration.amqp.user = brokerUser
            configuration.amqp.password = sentinel
            configuration.postgres.user = role
            configuration.postgres.password = sentinel
            var management = try #require(URLComponents(string: world.managementURL))
            management.user = brokerUser
            management.password = sentinel
            let sentinelWorld = FleetTestEnvironment(
                name: world.name,
                configuration: configuration,
                topology: world.topology,
                postgres: world.postgres,
                mongodb: world.mongodb,
                managementURL: try #require(management.string)
            )
            var environment = sentinelWorld.processEnvironment
            environment["FLEET_RABBITMQ_MGMT_URL"] = sentinelWorld.managementURL
            environment["FLEET_LOG_LEVEL"] = "debug"
            environment["FLEET_LOG_FORMAT"] = "json"
            // Production mode: every URL is given, none defaulted.
            environment["FLEET_DEV_MODE"] = nil
            #expect(environment["FLEET_AMQP_URL"]?.contains(sentinel) == true)
            #expect(environment["FLEET_POSTGRES_URL"]?.contains(sentinel) == true)
            let configDir = ["--config-dir", world.configuration.configDirectory]
            func record(_ label: String, _ run: Run) {
                transcript += "\n=== \(label) (exit \(run.status))\n\(run.output)"
            }

            // Every help text, found by walking the SUBCOMMANDS lists.
            var pending: [[String]] = [[]]
            var helps = 0
            while let path = pending.popLast() {
                let run = try await Self.fleet(path + ["--help"], environment)
                record("fleet \(path.joined(separator: " ")) --help", run)
                #expect(run.status == 0, "fleet \(path) --help: \(run.output)")
                helps += 1
                pending += Self.subcommands(inHelp: run.output).filter { $0 != "help" }.map { path + [$0] }
            }
            #expect(helps >= 25, "only \(helps) help texts found")

            // A worker at debug level, with a job applied and one dead-lettered.
            let addressFile = "\(NSTemporaryDirectory())/\(world.name).address"
            worker = try WorkerProcess(
                arguments: ["run", "--worker", "learning", "--drain-timeout", "5"] + configDir,
                environment: environment.merging([
                    "FLEET_HTTP_ADDRESS": "127.0.0.1:0", "FLEET_HTTP_ADDRESS_FILE": addressFile,
                ]) { $1 },
                logName: "\(world.name)-sentinel"
            )
            try await world.waitUntil("the worker's listener", timeout: .seconds(90)) {
                guard worker?.isRunning == true else { throw HarnessError(description: worker?.output ?? "") }
                return !((try? String(contentsOfFile: addressFile, encoding: .utf8)) ?? "").isEmpty
            }
            let address = try String(contentsOfFile: addressFile, encoding: .utf8)
                .trimmingCharacters(in: .whitespacesAndNewlines)
            let job = enrollmentJob(user: 0, course: 0, action: "enroll")
            let payload = String(decoding: try JSONEncoder().encode(job.payload), as: UTF8.self)
            let enqueued = try await Self.fleet(
                ["enqueue", "enrollment.update", "--payload", payload] + configDir,
                environment
            )
            record("enqueue", enqueued)
            #expect(enqueued.status == 0, "\(enqueued.output)")
            try await world.publishRaw(Array(#"{"id": "not a job"#.utf8), to: "fleet.learning")
            try await world.waitUntil("the malformed job in the DLQ", timeout: .seconds(120)) {
                try await !world.deadLetters("fleet.learning").isEmpty
            }

            // The URL read from a _FILE, and production mode's error for an unset URL.
            let urlFile = "\(NSTemporaryDirectory())/\(world.name).amqp-url"
            try Data((environment["FLEET_AMQP_URL"]! + "\n").utf8).write(to: URL(fileURLWithPath: urlFile))
            defer { try? FileManager.default.removeItem(atPath: urlFile) }
            var filed = environment
            filed["FLEET_AMQP_URL"] = nil
            filed["FLEET_AMQP_URL_FILE"] = urlFile
            let fromFile = try await Self.fleet(
                ["enqueue", "enrollment.update", "--payload", payload] + configDir,
                filed
            )
            record("enqueue, URL from a file", fromFile)
            #expect(fromFile.status == 0, "\(fromFile.output)")
            filed["FLEET_AMQP_URL_FILE"] = nil
            let outboxFile = "\(NSTemporaryDirectory())/\(world.name).outbox-url"
            try Data(environment["FLEET_POSTGRES_URL"]!.utf8).write(to: URL(fileURLWithPath: outboxFile))
            defer { try? FileManager.default.removeItem(atPath: outboxFile) }
            var outboxFiled = environment
            outboxFiled["FLEET_POSTGRES_URL"] = nil
            outboxFiled["FLEET_OUTBOX_POSTGRES_URL_FILE"] = outboxFile
            let outbox = try await Self.fleet(["outbox", "status"] + configDir, outboxFiled)
            record("outbox status, its database URL from a file", outbox)
            #expect(outbox.status == 0, "\(outbox.output)")
            let unset = try await Self.fleet(["enqueue", "enrollment.update", "--payload", payload] + configDir, filed)
            record("enqueue, no URL", unset)
            #expect(unset.status != 0 && unset.output.contains("FLEET_AMQP_URL (or FLEET_AMQP_URL_FILE)"))
            #expect(!unset.output.contains("guest"), "\(unset.output)")

            // Bad input and unreachable servers, each URL still carrying the password.
            let bad = try await Self.fleet(
                ["enqueue", "enrollment.update", "--payload", "{bad"] + configDir,
                environment
            )
            record("enqueue, bad payload", bad)
            #expect(bad.status != 0)
            var wrongPort = environment
            wrongPort["FLEET_AMQP_URL"] = "amqp://\(brokerUser):\(sentinel)@127.0.0.1:1/\(world.name)"
            let runWrongPort = try await Self.fleet(["run", "--worker", "learning"] + configDir, wrongPort)
            record("run, broker on a closed port", runWrongPort)
            #expect(runWrongPort.status != 0 && runWrongPort.output.contains("127.0.0.1:1"), "\(runWrongPort.output)")
            var wrongDatabase = environment
            wrongDatabase["FLEET_POSTGRES_URL"] = "postgresql://\(role):\(sentinel)@127.0.0.1:1/\(world.name)"
            let outboxWrongPort = try await Self.fleet(["outbox", "status"] + configDir, wrongDatabase)
            record("outbox status, PostgreSQL on a closed port", outboxWrongPort)
            #expect(outboxWrongPort.status != 0)
            var wrongPassword = environment
            wrongPassword["FLEET_RABBITMQ_MGMT_URL"] = sentinelWorld.managementURL.replacingOccurrences(
                of: sentinel,
                with: "\(sentinel)-wrong"
            )
            let statusRefused = try await Self.fleet(["status"] + configDir, wrongPassword)
            record("status, wrong management password", statusRefused)
            #expect(statusRefused.status != 0)
            var malformed = environment
            malformed["FLEET_POSTGRES_URL"] = "postgresql://\(role):\(sentinel)@127.0.0.1:99999/x"
            let malformedRun = try await Self.fleet(["migrate"] + configDir, malformed)
            record("migrate, malformed URL", malformedRun)
            #expect(malformedRun.status != 0 && malformedRun.output.contains("FLEET_POSTGRES_URL"))

            // fleet status (text and JSON) and the DLQ.
            let status = try await Self.fleet(["status", "--workers", address] + configDir, environment)
            record("status", status)
            #expect(status.status == 0 && status.output.contains("fleet.learning"), "\(status.output)")
            let statusJSON = try await Self.fleet(["status", "--json", "--workers", address] + configDir, environment)
            record("status --json", statusJSON)
            #expect(statusJSON.status == 0 && statusJSON.output.contains(world.name), "\(statusJSON.output)")
            let list = try await Self.fleet(["dlq", "list", "--queue", "fleet.learning"] + configDir, environment)
            record("dlq list", list)
            let entry = try #require(try await world.deadLetters("fleet.learning").first)
            #expect(list.status == 0 && list.output.contains(entry.messageId ?? "-"), "\(list.output)")
            let show = try await Self.fleet(
                ["dlq", "show", entry.messageId ?? "-", "--queue", "fleet.learning"] + configDir,
                environment
            )
            record("dlq show", show)
            #expect(show.status == 0, "\(show.output)")

            // The dashboard's pages, logged out and logged in.
            let token = "admin-\(tag)"
            dashboard = try await DashboardProcess.start(
                in: sentinelWorld,
                token: token,
                workerMetrics: [address]
            )
            let pages =
                ["/", "/workers", "/failures", "/dlq", "/schedules", "/backups", "/login", "/healthz"]
                + ["/dlq/entry?queue=fleet.learning&id=\(entry.messageId ?? "-")"]
            for page in pages {
                let reply = try #require(dashboard).request(page)
                transcript += "\n=== dashboard \(page) (\(reply.status))\n\(reply.headers)\(reply.body)"
            }
            let login = try #require(dashboard).request("/login", form: [("token", token)])
            let session = try #require(DashboardProcess.sessionCookie(login))
            for page in pages {
                let reply = try #require(dashboard).request(page, cookie: session)
                transcript += "\n=== dashboard \(page), logged in (\(reply.status))\n\(reply.headers)\(reply.body)"
                #expect(reply.status == 200, "\(page): \(reply.status)")
            }
            transcript += "\n=== dashboard log\n" + (dashboard?.stop() ?? "")
            dashboard = nil
            await transcript += "\n=== worker log\n" + (worker?.stop() ?? "")
            worker = nil
        } catch {
            Issue.record(error)
        }
        _ = dashboard?.stop()
        _ = await worker?.stop()
        try? await runShell(
            FleetTestEnvironment.managementCall("DELETE", "users/\(brokerUser)", base: world.adminManagementURL)
        )
        await world.tearDown()
        var adminConfiguration = world.configuration.postgres
        adminConfiguration.database = FleetTestEnvironment.adminDatabase
        let cleanup = PostgresClient(configuration: adminConfiguration, maxConnections: 1)
        _ = try? await cleanup.query("DROP ROLE IF EXISTS \(role)")
        await cleanup.shutdown()

        // Something ran: debug logs of the job, the status table, the dashboard's pages.
        #expect(transcript.contains("\"level\":\"debug\""), "no debug-level log line was captured")
        #expect(transcript.contains("=== dashboard /dlq, logged in (200)"))
        // The password, and the dashboard's admin token, are nowhere; each hit is named by its section.
        for secret in [sentinel, "admin-\(tag)"] {
            var hits: [String] = []
            var rest = transcript[...]
            while let hit = rest.range(of: secret) {
                let section = transcript[..<hit.lowerBound].components(separatedBy: "\n=== ").last?.prefix(80) ?? ""
                hits.append("in \(section)…: …\(transcript[hit.lowerBound...].prefix(80))")
                rest = transcript[hit.upperBound...]
            }
            #expect(hits.isEmpty, "\(secret) was printed \(hits.count) times:\n\(hits.joined(separator: "\n"))")
        }
    }
}
