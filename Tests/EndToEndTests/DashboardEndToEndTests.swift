import FleetApp
import FleetContract
import FleetCore
import Foundation
import Testing

/// `fleet dashboard` against the real broker and PostgreSQL: its routes over HTTP, and the whole
/// operator path in headless Chromium (scripts/browser-tools.sh installs Debian's chromium).
@Suite("Dashboard end to end", .serialized)
struct DashboardEndToEndTests {
    static let pages = ["/", "/workers", "/failures", "/dlq", "/schedules", "/backups", "/login"]

    @Test("routes: pages answer, output is escaped, replay and purge need the token, a session and its CSRF token")
    func routes() async throws {
        let environment = try await FleetTestEnvironment.make("dashroutes", workers: ["learning"])
        do {
            try await checkRoutes(environment)
            await environment.tearDown()
        } catch {
            await environment.tearDown()
            throw error
        }
    }

    func checkRoutes(_ environment: FleetTestEnvironment) async throws {
        let deadLetterQueue = try #require(environment.topology.queue(named: "fleet.learning")).deadLetterQueue
        // A hostile dead letter, straight into the DLQ: markup and a terminal escape in its body and type.
        try await environment.publishRaw(
            Array("<script>alert(1)</script>\u{1B}[31m".utf8),
            to: deadLetterQueue,
            type: "<b>evil</b>"
        )
        let id = try #require(try await environment.deadLetters("fleet.learning").first?.messageId)
        let token = "token-\(UUID().uuidString)"
        let worker = try await StaticMetricsServer.start(Self.workerMetrics)
        defer { worker.stop() }
        let dashboard = try await DashboardProcess.start(
            in: environment,
            token: token,
            workerMetrics: [worker.url, "127.0.0.1:1"]
        )
        defer { _ = dashboard.stop() }

        for path in Self.pages {
            let reply = try dashboard.request(path)
            #expect(reply.status == 200, "\(path): \(reply.status) \(reply.body.prefix(300))")
            #expect(reply.body.contains("</html>"), "\(path)")
            let amqp = environment.configuration.amqp
            #expect(
                !reply.body.contains(token) && !reply.body.contains("\(amqp.user):\(amqp.password)@"),
                "\(path) shows a secret"
            )
        }
        #expect(try dashboard.request("/healthz").body == "ok")
        let workers = try dashboard.request("/workers").body
        #expect(
            workers.contains("enrollment.update 3") && workers.contains("625.0 ms") && workers.contains("992.5 ms"),
            "\(workers)"
        )
        #expect(workers.contains("127.0.0.1:1/metrics: cannot connect"))
        #expect(try dashboard.request("/login").body.contains(#"name="token""#))
        let list = try dashboard.request("/dlq?queue=fleet.learning")
        #expect(list.body.contains(id) && list.body.contains("&lt;b&gt;evil&lt;/b&gt;"))
        #expect(!list.body.contains("<b>evil</b>"))
        let entry = try dashboard.request("/dlq/entry?queue=fleet.learning&id=\(id)")
        #expect(entry.status == 200)
        #expect(entry.body.contains("&lt;script&gt;alert(1)&lt;/script&gt;\\u{1B}[31m"))
        #expect(!entry.body.contains("<script>") && !entry.body.contains("\u{1B}"))
        #expect(try dashboard.request("/dlq/entry?id=no-such-job").status == 404)

        let purgeAll = [("queue", "fleet.learning"), ("scope", "all")]
        #expect(try dashboard.request("/dlq/purge", form: purgeAll).status == 403, "no session")
        let wrong = try dashboard.request("/login", form: [("token", "not-\(token)")])
        #expect(wrong.status == 403 && DashboardProcess.sessionCookie(wrong) == nil)
        let login = try dashboard.request("/login", form: [("token", token)])
        #expect(login.status == 303)
        let session = try #require(DashboardProcess.sessionCookie(login))
        let cookieLine = login.headers.lowercased()
        #expect(cookieLine.contains("httponly") && cookieLine.contains("samesite=strict"))
        #expect(try dashboard.request("/dlq/purge", form: purgeAll, cookie: session).status == 403, "no CSRF token")
        #expect(
            try dashboard.request(
                "/dlq/purge",
                form: purgeAll + [("csrf", "0" + String(repeating: "f", count: 63))],
                cookie: session
            )
            .status == 403,
            "forged CSRF token"
        )
        let csrf = try #require(DashboardProcess.csrf(in: try dashboard.request("/dlq", cookie: session).body))
        #expect(try dashboard.request("/dlq/purge", form: purgeAll + [("csrf", csrf)], cookie: "forged").status == 403)

        let confirm = try dashboard.request("/dlq/purge", form: purgeAll + [("csrf", csrf)], cookie: session)
        #expect(confirm.status == 200 && confirm.body.contains("Purge 1 dead-lettered job(s)?"))
        #expect(try await environment.queueDepth(deadLetterQueue) == 1, "asking to confirm purged nothing")
        let purged = try dashboard.request(
            "/dlq/purge",
            form: purgeAll + [("csrf", csrf), ("confirm", "yes")],
            cookie: session
        )
        #expect(purged.status == 200 && purged.body.contains("Purged 1 job(s)."))
        #expect(try await environment.queueDepth(deadLetterQueue) == 0)
        #expect(try dashboard.request("/logout", form: [("csrf", csrf)], cookie: session).status == 303)
        #expect(try dashboard.request("/dlq/purge", form: purgeAll + [("csrf", csrf)], cookie: session).status == 403)
        let log = dashboard.stop()
        #expect(log.contains("dashboard.action") && log.contains("session:\(session.prefix(8))"))
        #expect(!log.contains(token), "the log shows the admin token")

        let readOnly = try await DashboardProcess.start(in: environment, token: nil)
        defer { _ = readOnly.stop() }
        #expect(try readOnly.request("/login", form: [("token", token)]).status == 403)
        #expect(try readOnly.request("/dlq/replay", form: purgeAll).status == 403)
        #expect(try readOnly.request("/dlq").body.contains("Read-only"))
        #expect(!(try readOnly.request("/login").body.contains(#"name="token""#)))
    }

    /// A worker's /metrics as `fleet run --http-address` serves them: 3 jobs (2 applied, 1 dead-lettered),
    /// one under 0.5 s and all under 1 s: p50 0.625 s and p99 0.9925 s by histogram_quantile's interpolation.
    static let workerMetrics = """
        # TYPE fleet_jobs_total counter
        fleet_jobs_total{queue="fleet.learning",type="enrollment.update",outcome="applied"} 2
        fleet_jobs_total{queue="fleet.learning",type="enrollment.update",outcome="dead_lettered"} 1
        fleet_jobs_in_flight{queue="fleet.learning"} 0
        fleet_job_duration_seconds_bucket{queue="fleet.learning",type="enrollment.update",le="0.5"} 1
        fleet_job_duration_seconds_bucket{queue="fleet.learning",type="enrollment.update",le="1.0"} 3
        fleet_job_duration_seconds_bucket{queue="fleet.learning",type="enrollment.update",le="+Inf"} 3

        """

    @Test("browser: headless Chromium loads every page, logs in and replays a fixed job; the store has it")
    func browser() async throws {
        let root = FleetTestEnvironment.repositoryRoot
        try await runShell("bash '\(root)/scripts/browser-tools.sh' setup >&2")
        let environment = try await FleetTestEnvironment.make("dashbrowser", workers: ["learning"])
        do {
            try await replayThroughTheBrowser(environment)
            await environment.tearDown()
        } catch {
            await environment.tearDown()
            throw error
        }
    }

    func replayThroughTheBrowser(_ environment: FleetTestEnvironment) async throws {
        let root = FleetTestEnvironment.repositoryRoot
        try await SampleWorkload.seed(environment.postgres, users: 1, courses: 0)
        // The workers' metrics listener (`fleet run --http-address`) where this build has it.
        let listener = try await environment.fleet(["run", "--help"]).contains("--http-address")
        let addressFile = "\(NSTemporaryDirectory())/\(environment.name)-worker.address"
        let worker = try environment.startWorker(
            "learning",
            environment: listener ? ["FLEET_HTTP_ADDRESS": "127.0.0.1:0", "FLEET_HTTP_ADDRESS_FILE": addressFile] : [:]
        )
        defer { worker.stop() }
        // Course 7 does not exist yet: the job is dead-lettered at once, reason unknown_course.
        let job = enrollmentJob(user: 0, course: 7, action: "enroll")
        let (producer, stores) = environment.producer()
        try await producer.publish(envelope: job, body: job.encoded())
        await producer.shutdown()
        await stores.shutdown()
        try await environment.waitUntil("the job in the DLQ") {
            try await environment.deadLetters("fleet.learning").first?.reason == "unknown_course"
        }
        try await SampleWorkload.seed(environment.postgres, users: 1, courses: 8)

        var workerMetrics = ["127.0.0.1:1"]
        if listener {
            try await environment.waitUntil("the worker's address file") {
                FileManager.default.fileExists(atPath: addressFile)
            }
            workerMetrics = [try String(contentsOfFile: addressFile, encoding: .utf8)]
        }
        let dashboard = try await DashboardProcess.start(
            in: environment,
            token: "browser-\(UUID().uuidString)",
            workerMetrics: workerMetrics
        )
        defer { _ = dashboard.stop() }
        let shots =
            FleetTestEnvironment.environment["FLEET_DASHBOARD_SCREENSHOTS"]
            ?? "\(NSTemporaryDirectory())/\(environment.name)-screenshots"
        let log = "\(NSTemporaryDirectory())/\(environment.name)-browser.log"
        do {
            try await runShell(
                "\"$(bash '\(root)/scripts/browser-tools.sh' python)\" '\(root)/scripts/dashboard_browser_test.py' "
                    + "'\(dashboard.baseURL)' '\(dashboard.tokenFile!)' '\(job.id)' '\(shots)' \(listener ? 1 : 0) "
                    + ">'\(log)' 2>&1"
            )
        } catch {
            let output = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
            throw HarnessError(
                description: "browser test failed: \(error)\n\(output)\ndashboard log:\n\(dashboard.stop())"
            )
        }
        try await environment.waitUntil("the replayed enrollment in PostgreSQL") {
            try await environment.count(
                "SELECT count(*)::int AS n FROM user_courses WHERE user_id = $1 AND course_id = $2",
                [SampleWorkload.userId(0), SampleWorkload.courseId(7)]
            ) == 1
        }
        let deadLetterQueue = try #require(environment.topology.queue(named: "fleet.learning")).deadLetterQueue
        #expect(try await environment.queueDepth(deadLetterQueue) == 0)
        #expect(dashboard.stop().contains("dashboard.action"))
    }
}
