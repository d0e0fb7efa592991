import AMQP
import Bolt
import FleetApp
import FleetContract
import FleetCore
import FleetJobs
import FleetProducer
import Foundation
import Logging
import MongoDB
import Postgres
import Synchronization
import Testing

/// A private world for one end-to-end test: its own RabbitMQ vhost with the repository's topology
/// declared, its own migrated PostgreSQL and MongoDB databases, and worker processes of the real
/// `fleet` binary. The graph is shared: tests keep apart by their own random user and event ids.
struct FleetTestEnvironment {
    static let environment = ProcessInfo.processInfo.environment
    static let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().path
    static let fleetBinary = environment["FLEET_BIN"] ?? "\(repositoryRoot)/.build/debug/fleet"

    let name: String
    let configuration: FleetConfiguration
    let topology: Topology
    let postgres: PostgresClient
    let mongodb: MongoClient
    /// The management API of the broker this world's vhost lives on, as the fleet's own user: what
    /// worker, status and dashboard processes get.
    var managementURL = Self.sharedManagementURL
    /// The same API as an administrator, who makes and drops vhosts, users and permissions.
    var adminManagementURL = Self.sharedAdminManagementURL
    let logger = Logger(label: "e2e")

    /// The shared broker's management API (scripts/services.sh), as the fleet's non-administrator
    /// user (`management` tag: it sees only the vhosts it has permissions on).
    static var sharedManagementURL: String {
        environment["FLEET_RABBITMQ_MGMT_URL"] ?? "http://fleet:fleet@127.0.0.1:15682"
    }

    /// The shared management URL with the fleet user's password replaced (for wrong-password tests).
    static func sharedManagementURL(password: String) throws -> String {
        var components = try #require(URLComponents(string: sharedManagementURL))
        components.password = password
        return try #require(components.string)
    }

    /// The shared broker's management API as its administrator (`guest` on loopback), which the
    /// fleet never runs as: only the harness uses it, to make each test's vhost and grant the
    /// fleet's user its permissions there.
    static var sharedAdminManagementURL: String {
        environment["FLEET_RABBITMQ_ADMIN_URL"] ?? "http://guest:guest@127.0.0.1:15682"
    }

    /// `name` must be a short identifier; a random suffix keeps reruns apart. `retryDelays` (e.g.
    /// `[200ms, 500ms]`) replaces the repository's retry schedule in a private copy of the configuration.
    /// Only the queues of `workers` are declared (nil: every worker's): each work queue brings six
    /// more quorum queues, and a broker on two cores slows down with hundreds of them.
    /// `broker` puts the vhost on another broker than the shared one (a private cluster of
    /// scripts/rabbitmq-cluster.sh): its `FLEET_AMQP_URL`-style URL list and management API URL.
    static func make(
        _ name: String,
        retryDelays: String? = nil,
        workers: [String]? = nil,
        broker: (url: String, managementURL: String)? = nil
    ) async throws -> FleetTestEnvironment {
        await sweepWorldsOfDeadRuns()
        // The test process's pid in the name lets a later run remove what a killed run left behind.
        let unique = "e2e_\(name)_\(getpid())_\(UInt32.random(in: 0...UInt32.max))"
        var configDirectory = repositoryRoot
        if let retryDelays {
            configDirectory = try privateConfiguration(unique, retryDelays: retryDelays)
        }
        var base = try FleetConfiguration.fromEnvironment(configDirectory: configDirectory)
        // A private cluster has only its administrator, who then also runs the fleet.
        let managementURL = broker?.managementURL ?? sharedManagementURL
        let adminManagementURL = broker?.managementURL ?? sharedAdminManagementURL
        if let broker { base.amqp = try AMQPConfiguration(url: broker.url) }
        try await runShell(
            "\(managementCall("PUT", "vhosts/\(unique)", base: adminManagementURL)) && "
                + managementCall(
                    "PUT",
                    "permissions/\(unique)/\(base.amqp.user)",
                    body: #"{"configure":".*","write":".*","read":".*"}"#,
                    base: adminManagementURL
                )
        )
        base.amqp.vhost = unique
        let admin = PostgresClient(configuration: base.postgres, maxConnections: 1)
        try await admin.query("CREATE DATABASE \(unique)")
        await admin.shutdown()
        base.postgres.database = unique
        let topology = try base.loadTopology()
        var declared = topology
        if let workers {
            let manifests = try WorkerManifest.loadAll(directory: base.workersDirectory, topology: topology)
            let queues = Set(manifests.filter { workers.contains($0.name) }.flatMap(\.queues))
            declared.queues = topology.queues.filter { queues.contains($0.name) }
        }
        try await AMQPConnection.withDedicatedThread(base.amqp) { [declared] connection in
            try TopologyDeclarer(topology: declared).declare(on: connection)
        }
        let postgres = PostgresClient(configuration: base.postgres, maxConnections: 8)
        _ = try await PostgresMigrations.migrate(postgres)
        base.mongodb.database = unique
        let mongodb = MongoClient(configuration: base.mongodb, maxConnections: 4)
        _ = try await MongoMigrations.migrate(mongodb, recordingIn: postgres)
        let graph = BoltClient(configuration: base.bolt, maxConnections: 1)
        do {
            _ = try await GraphMigrations.migrate(graph, graphRedis: base.graphRedis, recordingIn: postgres)
            await graph.shutdown()
        } catch {
            await graph.shutdown()
            throw error
        }
        return FleetTestEnvironment(
            name: unique,
            configuration: base,
            topology: topology,
            postgres: postgres,
            mongodb: mongodb,
            managementURL: managementURL,
            adminManagementURL: adminManagementURL
        )
    }

    private static func privateConfiguration(_ name: String, retryDelays: String) throws -> String {
        let directory = "\(NSTemporaryDirectory())/\(name)"
        try FileManager.default.createDirectory(atPath: "\(directory)/workers", withIntermediateDirectories: true)
        let yaml = try String(contentsOfFile: "\(repositoryRoot)/queues.yaml", encoding: .utf8)
            .replacingOccurrences(of: "delays: [1s, 5s, 30s, 2m, 10m]", with: "delays: \(retryDelays)")
        try yaml.write(toFile: "\(directory)/queues.yaml", atomically: true, encoding: .utf8)
        for file in try FileManager.default.contentsOfDirectory(atPath: "\(repositoryRoot)/workers") {
            try FileManager.default.copyItem(
                atPath: "\(repositoryRoot)/workers/\(file)",
                toPath: "\(directory)/workers/\(file)"
            )
        }
        return directory
    }

    /// The environment a worker process needs to reach this test's vhost and database.
    var processEnvironment: [String: String] {
        var environment = Self.environment
        let amqp = configuration.amqp
        environment["FLEET_AMQP_URL"] = amqp.urlWithCredentials
        let pg = configuration.postgres
        environment["FLEET_POSTGRES_URL"] =
            "postgresql://\(pg.user):\(pg.password ?? "")@\(pg.host):\(pg.port)/\(pg.database)"
        // The same server with this test's database in the path (and the options kept).
        let mongoURL = environment["FLEET_MONGODB_URL"] ?? FleetConfiguration.defaultMongoDBURL
        if let slash = mongoURL.range(
            of: "/",
            options: .backwards,
            range: mongoURL.range(of: "://")!.upperBound..<mongoURL.endIndex
        ) {
            let options = mongoURL[slash.upperBound...].firstIndex(of: "?").map { String(mongoURL[$0...]) } ?? ""
            environment["FLEET_MONGODB_URL"] = mongoURL[..<slash.upperBound] + configuration.mongodb.database + options
        }
        environment["FLEET_LOG_LEVEL"] = environment["FLEET_TEST_LOG_LEVEL"] ?? "warning"
        return environment
    }

    func startWorker(_ worker: String, environment overrides: [String: String] = [:]) throws -> WorkerProcess {
        try WorkerProcess(
            arguments: [
                "run", "--config-dir", configuration.configDirectory, "--worker", worker, "--drain-timeout", "5",
            ],
            environment: processEnvironment.merging(overrides) { $1 },
            logName: "\(name)-\(worker)"
        )
    }

    /// Runs the `fleet` CLI against this environment (plus `overrides`) and returns its standard output.
    func fleet(_ arguments: [String], environment overrides: [String: String] = [:]) async throws -> String {
        // Output and errors go to files, so a chatty command cannot fill a pipe.
        let stem = "\(NSTemporaryDirectory())/fleet-\(UUID().uuidString.prefix(8))"
        defer {
            try? FileManager.default.removeItem(atPath: "\(stem).out")
            try? FileManager.default.removeItem(atPath: "\(stem).err")
        }
        let child = try ChildProcess(
            Self.fleetBinary,
            arguments + ["--config-dir", configuration.configDirectory],
            environment: processEnvironment.merging(overrides) { $1 },
            standardOutput: "\(stem).out",
            standardError: "\(stem).err"
        )
        await child.exited()
        let text = (try? String(contentsOfFile: "\(stem).out", encoding: .utf8)) ?? ""
        guard child.succeeded else {
            let errors = (try? String(contentsOfFile: "\(stem).err", encoding: .utf8)) ?? ""
            throw HarnessError(
                description: "fleet \(arguments.joined(separator: " ")) \(child.outcome): \(text)\(errors)"
            )
        }
        return text
    }

    /// A producer (validating by the contract, as an API server's does) and store clients to check
    /// the effects with.
    func producer() -> (JobProducer, FleetStores) {
        (
            JobProducer(amqp: configuration.amqp, exchange: topology.exchange, logger: logger),
            FleetStores(configuration: configuration)
        )
    }

    /// Publishes raw bytes straight to a work queue, as a misbehaving producer could.
    func publishRaw(
        _ body: [UInt8],
        to queue: String,
        type: String? = nil,
        contentType: String? = "application/json",
        headers: AMQPTable = [:]
    ) async throws {
        let message = AMQPOutgoingMessage(
            exchange: "",
            routingKey: queue,
            properties: AMQPProperties(
                contentType: contentType,
                deliveryMode: 2,
                messageId: UUID().uuidString.lowercased(),
                type: type,
                headers: headers
            ),
            body: body
        )
        try await AMQPConnection.withDedicatedThread(configuration.amqp) { connection in
            try connection.enableConfirms()
            try connection.publishConfirmed(message)
        }
    }

    func queueDepth(_ queue: String) async throws -> UInt32 {
        try await AMQPConnection.withDedicatedThread(configuration.amqp) { try $0.declareQueue(queue, passive: true) }
    }

    func deadLetters(_ queue: String) async throws -> [DeadLetterEntry] {
        let admin = DeadLetterAdmin(topology: topology)
        let queues = try admin.deadLetterQueues(of: queue)
        return try await AMQPConnection.withDedicatedThread(configuration.amqp) { connection in
            try admin.run(.list, queues: queues, filter: .init(), dryRun: false, on: connection)
        }
    }

    func count(_ sql: String, _ parameters: [PostgresBindable?] = []) async throws -> Int {
        try await postgres.query(sql, parameters).first?.int("n") ?? -1
    }

    /// Polls until `condition` holds, failing the test after `timeout`. Errors count as "not yet"
    /// (a store may be restarting) and the last one is reported on timeout.
    func waitUntil(
        _ what: String,
        timeout: Duration = .seconds(120),
        _ condition: () async throws -> Bool
    ) async throws {
        let deadline = ContinuousClock.now + timeout
        var lastError: Error?
        while ContinuousClock.now < deadline {
            do {
                if try await condition() { return }
                lastError = nil
            } catch {
                lastError = error
            }
            try await Task.sleep(for: .milliseconds(250))
        }
        throw HarnessError(
            description: "timed out after \(timeout) waiting for \(what)"
                + (lastError.map { "; last error: \($0)" } ?? "")
        )
    }

    /// Drops this test's vhost (its quorum queues would otherwise pile up in the broker) and database.
    func tearDown() async {
        _ = try? await mongodb.withConnection { try $0.dropDatabase() }
        await mongodb.shutdown()
        await postgres.shutdown()
        try? await runShell(Self.managementCall("DELETE", "vhosts/\(name)", base: adminManagementURL))
        var adminConfiguration = configuration.postgres
        adminConfiguration.database = Self.adminDatabase
        let admin = PostgresClient(configuration: adminConfiguration, maxConnections: 1)
        _ = try? await admin.query("DROP DATABASE IF EXISTS \(name) WITH (FORCE)")
        await admin.shutdown()
    }

    /// Removes the vhosts and databases of test runs that were killed before their tear-down (their
    /// pid, the name's second-to-last part, is gone), once per test process: a broker on two cores
    /// wedges with a few dozen vhosts of quorum queues left over. Runs of other test processes
    /// sharing the servers are alive and kept.
    static func sweepWorldsOfDeadRuns() async {
        guard
            sweptStaleWorlds.withLock({ swept in
                defer { swept = true }
                return !swept
            })
        else { return }
        let base = sharedAdminManagementURL
        let deadOnly =
            #"import json,os,sys; print(" ".join(v["name"] for v in json.load(sys.stdin) if v["name"].startswith("e2e_") and len(v["name"].split("_")) > 3 and v["name"].split("_")[-2].isdigit() and not os.path.exists("/proc/" + v["name"].split("_")[-2])))"#
        try? await runShell(
            "for v in $(curl -fsS --max-time 30 '\(base)/api/vhosts' | python3 -c '\(deadOnly)'); do "
                + "curl -fsS --max-time 30 -o /dev/null -X DELETE \"\(base)/api/vhosts/$v\" || true; done"
        )
        guard let configuration = try? FleetConfiguration.fromEnvironment(configDirectory: repositoryRoot) else {
            return
        }
        let admin = PostgresClient(configuration: configuration.postgres, maxConnections: 1)
        let names = try? await admin.query("SELECT datname FROM pg_database WHERE datname LIKE 'e2e\\_%'")
        for row in names.map(Array.init) ?? [] {
            guard let name = row["datname"] else { continue }
            let parts = name.split(separator: "_")
            guard parts.count > 3, let pid = Int32(parts[parts.count - 2]), kill(pid, 0) != 0, errno == ESRCH else {
                continue
            }
            _ = try? await admin.query("DROP DATABASE IF EXISTS \(name) WITH (FORCE)")
        }
        await admin.shutdown()
    }

    private static let sweptStaleWorlds = Mutex(false)

    /// A curl command calling RabbitMQ's management API. Used rather than `rabbitmqctl`, which
    /// takes a second per call and, with many tests at once, runs out of CLI distribution ports
    /// (35672-35682) or hangs.
    static func managementCall(
        _ method: String,
        _ path: String,
        body: String? = nil,
        base: String = sharedAdminManagementURL
    ) -> String {
        let data = body.map { " -H 'content-type: application/json' -d '\($0)'" } ?? ""
        return "curl -fsS --max-time 30 -o /dev/null -X \(method)\(data) '\(base)/api/\(path)'"
    }

    /// The database named by FLEET_POSTGRES_URL, from which test databases are created and dropped.
    static var adminDatabase: String {
        (try? FleetConfiguration.fromEnvironment(configDirectory: repositoryRoot).postgres.database) ?? "fleet"
    }
}

/// An `enrollment.update` job for the seeded user and course with these indices.
func enrollmentJob(user: Int, course: Int, action: String, idempotencyKey: String? = nil) -> JobEnvelope {
    JobEnvelope(
        id: UUID().uuidString.lowercased(),
        type: "enrollment.update",
        createdAt: Date(),
        idempotencyKey: idempotencyKey,
        payload: [
            "user_id": .string(SampleWorkload.userId(user)),
            "course_id": .string(SampleWorkload.courseId(course)),
            "action": .string(action),
        ]
    )
}

struct HarnessError: Error, CustomStringConvertible {
    let description: String
}

/// A `fleet run` child process; its logs go to a file under the system temp folder.
final class WorkerProcess: Sendable {
    let process: ChildProcess
    let logPath: String

    init(arguments: [String], environment: [String: String], logName: String) throws {
        logPath = "\(NSTemporaryDirectory())/\(logName)-\(UUID().uuidString.prefix(8)).log"
        process = try ChildProcess(
            FleetTestEnvironment.fleetBinary,
            arguments,
            environment: environment,
            standardOutput: logPath,
            standardError: logPath
        )
    }

    /// A test that fails before stopping its workers must not leave them running.
    deinit { process.signal(SIGKILL) }

    var isRunning: Bool { process.isRunning }

    func kill() async {
        process.signal(SIGKILL)
        await process.exited()
    }

    /// SIGTERM, then wait for the graceful drain; returns the output (the summary is printed last).
    @discardableResult
    func stop() async -> String {
        process.terminate()
        await process.exited()
        return output
    }

    /// `kill` and `stop` for a `defer`, which cannot wait asynchronously: they hold the thread.
    func kill() {
        process.signal(SIGKILL)
        process.waitUntilExit()
    }

    @discardableResult
    func stop() -> String {
        process.terminate()
        process.waitUntilExit()
        return output
    }

    var output: String { (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "" }
}
