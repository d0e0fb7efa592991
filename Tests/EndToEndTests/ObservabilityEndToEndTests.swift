import AMQP
import Bolt
import FleetApp
import FleetContract
import FleetCore
import FleetJobs
import Foundation
import Testing

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// Issue 14: a `fleet run` process's listener (`FLEET_HTTP_ADDRESS=127.0.0.1:0`): exact job counts
/// on `/metrics`, and `/readyz` following the broker and a store. Each test has its own vhost; the
/// store outage is a private `redis-server` of the test's own, so no shared server is disturbed.
@Suite("Observability end to end", .serialized)
struct ObservabilityEndToEndTests {
    /// A worker process with its listener on a free port, and a way to ask it.
    struct ObservedWorker {
        let process: WorkerProcess
        let base: String

        static func start(
            _ worker: String,
            in environment: FleetTestEnvironment,
            environment overrides: [String: String] = [:]
        ) async throws -> ObservedWorker {
            let addressFile = "\(NSTemporaryDirectory())/\(environment.name)-\(worker).http"
            try? FileManager.default.removeItem(atPath: addressFile)
            let process = try environment.startWorker(
                worker,
                environment: [
                    "FLEET_HTTP_ADDRESS": "127.0.0.1:0", "FLEET_HTTP_ADDRESS_FILE": addressFile,
                    // At info, for the `fleet.http listening` line.
                    "FLEET_LOG_LEVEL": "info",
                ].merging(overrides) { $1 }
            )
            return try await listening(process, addressFile: addressFile, environment: environment)
        }

        /// Waits for the address `process` writes to `addressFile` once listening.
        static func listening(
            _ process: WorkerProcess,
            addressFile: String,
            environment: FleetTestEnvironment
        ) async throws -> ObservedWorker {
            var address = ""
            try await environment.waitUntil("the listener's address in \(addressFile)", timeout: .seconds(120)) {
                address = (try? String(contentsOfFile: addressFile, encoding: .utf8)) ?? ""
                return !address.isEmpty || !process.isRunning
            }
            guard process.isRunning else { throw HarnessError(description: "worker exited: \(process.output)") }
            #expect(process.output.contains("fleet.http listening"), "\(process.output.suffix(2000))")
            return ObservedWorker(process: process, base: "http://\(address)")
        }

        func get(_ path: String) async throws -> (status: Int, body: String) {
            var request = URLRequest(url: URL(string: base + path)!)
            request.timeoutInterval = 30
            let (data, response) = try await URLSession.shared.data(for: request)
            return ((response as? HTTPURLResponse)?.statusCode ?? -1, String(decoding: data, as: UTF8.self))
        }

        /// `/metrics` as `series → value`, the series written as exposed: `name{label="value",...}`.
        func metrics() async throws -> [String: Double] {
            let (status, body) = try await get("/metrics")
            guard status == 200 else { throw HarnessError(description: "/metrics answered \(status)") }
            return Self.samples(body)
        }

        static func samples(_ body: String) -> [String: Double] {
            var samples: [String: Double] = [:]
            for line in body.split(separator: "\n") where !line.hasPrefix("#") {
                guard let space = line.lastIndex(of: " "), let value = Double(line[line.index(after: space)...]) else {
                    continue
                }
                samples[String(line[..<space])] = value
            }
            return samples
        }

        func waitForReadyz(
            _ status: Int,
            _ environment: FleetTestEnvironment,
            timeout: Duration = .seconds(180)
        ) async throws -> String {
            var body = ""
            try await environment.waitUntil("/readyz \(status)", timeout: timeout) {
                let answer = try await get("/readyz")
                body = answer.body
                return answer.status == status
            }
            return body
        }
    }

    static let learning = "fleet.learning"

    @Test("/metrics counts a known workload exactly, by queue, type, outcome and dead-letter reason")
    func exactJobMetrics() async throws {
        let environment = try await FleetTestEnvironment.make("obs_metrics", workers: ["learning"])
        try await SampleWorkload.seed(environment.postgres, users: 3, courses: 1)
        let worker = try await ObservedWorker.start("learning", in: environment)
        let health = try await worker.get("/healthz")
        #expect(health.status == 200 && health.body == "ok")
        _ = try await worker.waitForReadyz(200, environment)

        let (producer, stores) = environment.producer()
        let applied = (0..<3).map { enrollmentJob(user: $0, course: 0, action: "enroll") }
        for job in applied { try await producer.publish(envelope: job, body: job.encoded()) }
        let series = #"queue="fleet.learning",type="enrollment.update""#
        try await environment.waitUntil("3 applied") {
            try await worker.metrics()[#"fleet_jobs_total{\#(series),outcome="applied"}"#] == 3
        }
        // The same job again (already applied), a user that does not exist (dead-lettered
        // `unknown_user`), and a body that is not JSON whose AMQP type and bytes carry a sentinel
        // that must not reach any label.
        try await producer.publish(envelope: applied[0], body: applied[0].encoded())
        let unknownUser = enrollmentJob(user: 99, course: 0, action: "enroll")
        try await producer.publish(envelope: unknownUser, body: unknownUser.encoded())
        await producer.shutdown()
        await stores.shutdown()
        let sentinel = "SENTINEL\(UInt32.random(in: 0...UInt32.max))"
        try await environment.publishRaw(Array("{not json \(sentinel)".utf8), to: Self.learning, type: sentinel)
        try await environment.waitUntil("every job settled") {
            let metrics = try await worker.metrics()
            return metrics[#"fleet_jobs_total{\#(series),outcome="already_applied"}"#] == 1
                && metrics[#"fleet_jobs_total{\#(series),outcome="dead_lettered"}"#] == 1
                && metrics[#"fleet_jobs_total{queue="fleet.learning",type="unknown",outcome="dead_lettered"}"#] == 1
        }
        let (status, body) = try await worker.get("/metrics")
        #expect(status == 200)
        capture("metrics.txt", body)
        #expect(!body.contains(sentinel), "a label carries message content")
        let metrics = ObservedWorker.samples(body)
        let expected: [String: Double] = [
            "fleet_jobs_started_total{\(series)}": 5,
            #"fleet_jobs_started_total{queue="fleet.learning",type="unknown"}"#: 1,
            #"fleet_jobs_total{\#(series),outcome="applied"}"#: 3,
            #"fleet_jobs_total{\#(series),outcome="already_applied"}"#: 1,
            #"fleet_jobs_total{\#(series),outcome="dead_lettered"}"#: 1,
            #"fleet_jobs_total{queue="fleet.learning",type="unknown",outcome="dead_lettered"}"#: 1,
            #"fleet_jobs_dead_lettered_total{\#(series),reason="unknown_user"}"#: 1,
            #"fleet_jobs_dead_lettered_total{queue="fleet.learning",type="unknown",reason="invalid_json"}"#: 1,
            // The handler's time of each job it ran to success (applied or already applied).
            "fleet_job_duration_seconds_count{\(series)}": 4,
            #"fleet_job_duration_seconds_bucket{\#(series),le="+Inf"}"#: 4,
            #"fleet_jobs_in_flight{queue="fleet.learning"}"#: 0,
            #"fleet_broker_blocked{connection="fleet.learning publisher"}"#: 0,
            #"fleet_broker_reconnects_total{connection="fleet.learning consumer"}"#: 0,
        ]
        for (name, value) in expected.sorted(by: { $0.key < $1.key }) {
            #expect(metrics[name] == value, "\(name)")
        }
        // 0 or 1 as the last probe found the stores (a slow probe on a loaded machine may say 0).
        #expect(metrics["fleet_ready"] != nil)
        // No other outcome, type or reason was counted.
        let jobSeries = metrics.keys.filter { $0.hasPrefix("fleet_jobs_total{") && metrics[$0] != 0 }
        #expect(jobSeries.count == 4, "\(jobSeries.sorted())")
        #expect(metrics[#"fleet_consumer_concurrency{queue="fleet.learning"}"#].map { $0 > 0 } == true)
        #expect(metrics[#"fleet_consumer_prefetch{queue="fleet.learning"}"#].map { $0 > 0 } == true)
        // The handlers' PostgreSQL calls, measured once at the pool.
        #expect((metrics[#"fleet_store_call_duration_seconds_count{store="postgres"}"#] ?? 0) >= 4)
        #expect(metrics[#"fleet_store_pool_connections{store="postgres"}"#].map { $0 >= 1 } == true)
        // ClickHouse's pool is not counted yet (README: "Not yet covered").
        #expect(metrics[#"fleet_store_pool_connections{store="clickhouse"}"#] == nil)
        let output = await worker.process.stop()
        #expect(output.contains("applied=3 already_applied=1"), "\(output.suffix(600))")
        await environment.tearDown()
    }

    @Test("/metrics counts follow-ups by type, and event-lock waits by kind")
    func followUpAndLockMetrics() async throws {
        // The profile and career queues exist, so the skills job's two follow-ups are routed.
        let environment = try await FleetTestEnvironment.make(
            "obs_followups",
            workers: ["skills", "profile", "career", "networking"]
        )
        let skills = try await ObservedWorker.start("skills", in: environment)
        let networking = try await ObservedWorker.start("networking", in: environment)
        let userId = UUID().uuidString.lowercased()
        let eventId = UUID().uuidString.lowercased()
        let graph = BoltClient(configuration: environment.configuration.bolt, maxConnections: 1)
        try await graph.run(
            "CREATE (:Event {event_id: $event, title: 'e2e', max_participants: 100})",
            parameters: ["event": .string(eventId)]
        )
        await graph.shutdown()
        let (producer, stores) = environment.producer()
        let assessment = JobEnvelope(
            id: UUID().uuidString.lowercased(),
            type: AssessmentScoreHandler.jobType,
            createdAt: Date(),
            payload: [
                "user_id": .string(userId), "skill_id": .string("65a1b2c3d4e5f60718293a4b"),
                "type": .string("technical_assessment"), "score": .integer(80),
            ]
        )
        try await producer.publish(envelope: assessment, body: assessment.encoded())
        for _ in 0..<3 {
            let registration = JobEnvelope(
                id: UUID().uuidString.lowercased(),
                type: "event.register",
                createdAt: Date(),
                payload: ["user_id": .string(UUID().uuidString.lowercased()), "event_id": .string(eventId)]
            )
            try await producer.publish(envelope: registration, body: registration.encoded())
        }
        await producer.shutdown()
        await stores.shutdown()
        try await environment.waitUntil("the assessment applied") {
            try await skills.metrics()[
                #"fleet_jobs_total{queue="fleet.skills",type="assessment.score",outcome="applied"}"#
            ]
                == 1
        }
        try await environment.waitUntil("3 registrations applied") {
            try await networking.metrics()[
                #"fleet_jobs_total{queue="fleet.networking",type="event.register",outcome="applied"}"#
            ]
                == 3
        }
        let published = try await skills.metrics()
        #expect(published[#"fleet_followups_published_total{type="profile.completion.recalculate"}"#] == 1)
        #expect(published[#"fleet_followups_published_total{type="career.progress.recalculate"}"#] == 1)
        let locks = try await networking.metrics()
        // One acquisition of the event's lock per registration, labelled by kind, not by key.
        #expect(locks[#"fleet_lock_wait_seconds_count{lock="event"}"#] == 3)
        #expect(locks[#"fleet_lock_wait_seconds_bucket{lock="event",le="+Inf"}"#] == 3)
        #expect((locks[#"fleet_store_call_duration_seconds_count{store="neo4j"}"#] ?? 0) >= 3)
        #expect((locks[#"fleet_store_call_duration_seconds_count{store="redis"}"#] ?? 0) >= 3)
        let (_, body) = try await networking.get("/metrics")
        #expect(!body.contains(eventId), "a label carries an event id")
        capture("metrics-networking.txt", body)
        await skills.process.stop()
        await networking.process.stop()
        await environment.tearDown()
    }

    /// The PostgreSQL-only roles: `fleet schedule run` given the flag, `fleet outbox relay` given
    /// `FLEET_HTTP_ADDRESS` (as deploy/base configures both).
    @Test(
        "A PostgreSQL-only role serves /healthz, /readyz with its database probe, and /metrics",
        arguments: [
            (["schedule", "run"], ["--http-address", "127.0.0.1:0"], [String: String]()),
            (["outbox", "relay"], [], ["FLEET_HTTP_ADDRESS": "127.0.0.1:0"]),
        ]
    )
    func roleListener(command: [String], flags: [String], variables: [String: String]) async throws {
        let environment = try await FleetTestEnvironment.make("obs_\(command[0])", workers: ["ops"])
        let addressFile = "\(NSTemporaryDirectory())/\(environment.name)-\(command[0]).http"
        var processEnvironment = environment.processEnvironment.merging(variables) { $1 }
        processEnvironment["FLEET_HTTP_ADDRESS_FILE"] = addressFile
        processEnvironment["FLEET_LOG_LEVEL"] = "info"
        let process = try WorkerProcess(
            arguments: command + ["--config-dir", environment.configuration.configDirectory] + flags,
            environment: processEnvironment,
            logName: "\(environment.name)-\(command[0])"
        )
        let role = try await ObservedWorker.listening(process, addressFile: addressFile, environment: environment)
        #expect(try await role.get("/healthz").status == 200)
        #expect(try await role.waitForReadyz(200, environment) == "ready")
        let metrics = try await role.metrics()
        #expect(metrics["fleet_ready"] == 1)
        // The probe's `SELECT 1`, measured at the pool as every store call is.
        #expect((metrics[#"fleet_store_call_duration_seconds_count{store="postgres"}"#] ?? 0) >= 1)
        await process.stop()
        await environment.tearDown()
    }

    @Test("/readyz: 503 naming the broker while the vhost is gone, 200 again once it is back")
    func readinessFollowsTheBroker() async throws {
        let environment = try await FleetTestEnvironment.make("obs_broker", workers: ["learning"])
        let worker = try await ObservedWorker.start("learning", in: environment)
        _ = try await worker.waitForReadyz(200, environment)
        // Deleting the vhost closes this test's connections only.
        try await runShell(FleetTestEnvironment.managementCall("DELETE", "vhosts/\(environment.name)"))
        // Both connections drop; the publisher's may be reported first.
        var reasons = ""
        try await environment.waitUntil("/readyz 503 naming the consumer's connection", timeout: .seconds(180)) {
            let answer = try await worker.get("/readyz")
            reasons = answer.body
            return answer.status == 503 && reasons.contains("broker disconnected (fleet.learning consumer)")
        }
        capture("readyz-broker-down.txt", reasons)
        let user = environment.configuration.amqp.user
        let password = environment.configuration.amqp.password
        #expect(!reasons.contains("\(user):\(password)") && !reasons.contains("amqp://"), "\(reasons)")
        try await runShell(
            "\(FleetTestEnvironment.managementCall("PUT", "vhosts/\(environment.name)")) && "
                + FleetTestEnvironment.managementCall(
                    "PUT",
                    "permissions/\(environment.name)/\(user)",
                    body: #"{"configure":".*","write":".*","read":".*"}"#
                )
        )
        var topology = environment.topology
        topology.queues = topology.queues.filter { $0.name == Self.learning }
        try await AMQPConnection.withDedicatedThread(environment.configuration.amqp) { [topology] connection in
            try TopologyDeclarer(topology: topology).declare(on: connection)
        }
        #expect(try await worker.waitForReadyz(200, environment) == "ready")
        let metrics = try await worker.metrics()
        #expect((metrics[#"fleet_broker_reconnects_total{connection="fleet.learning consumer"}"#] ?? 0) >= 1)
        await worker.process.stop()
        await environment.tearDown()
    }

    @Test("/readyz: 503 naming redis while the worker's Redis is down, 200 again once it is back")
    func readinessFollowsAStore() async throws {
        let environment = try await FleetTestEnvironment.make("obs_redis", workers: ["content"])
        let redis = try PrivateRedis()
        defer { redis.stop() }
        let worker = try await ObservedWorker.start(
            "content",
            in: environment,
            environment: ["FLEET_REDIS_URL": "redis://127.0.0.1:\(redis.port)/0"]
        )
        _ = try await worker.waitForReadyz(200, environment)
        redis.stop()
        let reasons = try await worker.waitForReadyz(503, environment)
        #expect(reasons == "store unreachable: redis\n", "\(reasons)")
        capture("readyz-redis-down.txt", reasons)
        // The failed probes went through the pool: counted as the store's transient errors.
        let down = try await worker.metrics()
        #expect((down[#"fleet_store_errors_total{store="redis",class="transient"}"#] ?? 0) >= 1)
        try redis.start()
        #expect(try await worker.waitForReadyz(200, environment) == "ready")
        #expect(try await worker.get("/healthz").status == 200)
        await worker.process.stop()
        await environment.tearDown()
    }
}

/// Keeps a body the tests saw in FLEET_OBS_CAPTURE_DIR, when set: the README's examples come from there.
func capture(_ name: String, _ body: String) {
    guard let directory = ProcessInfo.processInfo.environment["FLEET_OBS_CAPTURE_DIR"] else { return }
    try? body.write(toFile: "\(directory)/\(name)", atomically: true, encoding: .utf8)
}

/// A `redis-server` of one test's own on a free port, without persistence.
final class PrivateRedis: @unchecked Sendable {
    let port: Int
    let directory: String

    init() throws {
        directory = "\(NSTemporaryDirectory())/redis-\(getpid())-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        port = try Self.freePort()
        try start()
    }

    func start() throws {
        try runShellBlocking(
            "redis-server --port \(port) --bind 127.0.0.1 --save '' --appendonly no --daemonize yes "
                + "--dir \(directory) --pidfile \(directory)/redis.pid --logfile \(directory)/redis.log"
        )
        for _ in 0..<200 {
            if (try? runShellBlocking("redis-cli -p \(port) ping >/dev/null 2>&1")) != nil { return }
            usleep(50_000)
        }
        throw HarnessError(description: "the private redis-server on port \(port) did not start")
    }

    /// Stops it now (SIGKILL by its pid file), as a crash would.
    func stop() {
        try? runShellBlocking(
            "[ -f \(directory)/redis.pid ] && kill -9 $(cat \(directory)/redis.pid); rm -f \(directory)/redis.pid"
        )
        for _ in 0..<100 where (try? runShellBlocking("redis-cli -p \(port) ping >/dev/null 2>&1")) != nil {
            usleep(50_000)
        }
    }

    /// A port nothing listens on now: bound to 0, read back, closed.
    static func freePort() throws -> Int {
        let socket = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(socket) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(socket, $0, length) == 0 && getsockname(socket, $0, &length) == 0
            }
        }
        guard bound else { throw HarnessError(description: "no free port") }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}
