import AMQP
import FleetApp
import FleetContract
import FleetCore
import FleetJobs
import Foundation
import Testing

/// Transient failures, retries, dead-lettering after the last attempt, and delayed jobs.
@Suite("Recovery end to end", .serialized)
struct RecoveryEndToEndTests {
    @Test("A store that never comes back: retried on the schedule, then dead-lettered with the last error")
    func exhaustedRetriesEndInTheDeadLetterQueue() async throws {
        let environment = try await FleetTestEnvironment.make(
            "exhausted",
            retryDelays: "[200ms, 500ms]",
            workers: ["learning", "profile"]
        )
        try await SampleWorkload.seed(environment.postgres, users: 1, courses: 1)
        // Redis unreachable: the profile job commits in PostgreSQL but cannot refresh its cache.
        let worker = try environment.startWorker("profile", environment: ["FLEET_REDIS_URL": "redis://127.0.0.1:1/0"])
        let (producer, stores) = environment.producer()
        let job = try await producer.enqueue(
            type: "profile.completion.recalculate",
            payload: ["user_id": .string(SampleWorkload.userId(0))],
            traceparent: "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
        )
        try await environment.waitUntil("the job dead-lettered", timeout: .seconds(60)) {
            try await environment.queueDepth("fleet.profile.dlq") == 1
        }
        let entry = try #require(try await environment.deadLetters("fleet.profile").first)
        #expect(entry.messageId == job.id)
        #expect(entry.reason == "max_attempts")
        #expect(entry.attempts == 3, "two retries on a two-delay schedule, then the DLQ")
        #expect(entry.error?.contains("redis_unavailable") == true, "\(entry.error ?? "")")
        #expect(entry.headers[FleetHeaders.firstFailureAt] != nil)
        #expect(entry.headers[FleetHeaders.traceparent]?.string?.hasPrefix("00-0af7651916cd43dd") == true)
        #expect(
            try await environment.count("SELECT count(*) AS n FROM fleet_applied_jobs") == 1,
            "the PostgreSQL effect applied once across three attempts"
        )
        let summary = await worker.stop()
        #expect(summary.contains("retried=2"), "\(summary.suffix(400))")
        await producer.shutdown()
        await stores.shutdown()
        await environment.tearDown()
    }

    @Test("A message that crashes its worker every time is dead-lettered by the broker at the delivery limit")
    func poisonMessagesReachTheDeadLetterQueue() async throws {
        let environment = try await FleetTestEnvironment.make("poison", workers: ["learning", "profile"])
        let queue = "fleet.learning"
        let poison = JobEnvelope(
            id: UUID().uuidString.lowercased(),
            type: "enrollment.update",
            createdAt: Date(),
            payload: ["user_id": .string(SampleWorkload.userId(0))]
        )
        try await environment.publishRaw(poison.encoded(), to: queue, type: "enrollment.update")
        // Stands in for a worker that dies holding the message: it returns to the queue unsettled,
        // never acked, retried or dead-lettered by the fleet.
        let returns = try await AMQPConnection.withDedicatedThread(environment.configuration.amqp) { connection in
            var returns = 0
            for _ in 0..<200 {
                if let delivery = try connection.get(queue: queue) {
                    try connection.reject(delivery.deliveryTag, requeue: true)
                    returns += 1
                } else if try connection.declareQueue("\(queue).dlq", passive: true) == 1 {
                    break
                } else {
                    usleep(50_000)
                }
            }
            return returns
        }
        let limit = try #require(environment.topology.queue(named: queue)).deliveryLimit
        #expect(returns > limit - 1 && returns <= limit + 1, "returned \(returns) times for a limit of \(limit)")
        let entry = try #require(try await environment.deadLetters(queue).first)
        #expect(entry.reason == "delivery_limit")
        #expect(entry.body == poison.encoded())
        await environment.tearDown()
    }

    @Test("A job with not_before runs at its time, not before, without holding a worker")
    func delayedJobsRunAtTheirTime() async throws {
        let environment = try await FleetTestEnvironment.make("delayed", workers: ["learning", "profile"])
        try await SampleWorkload.seed(environment.postgres, users: 1, courses: 1)
        let worker = try environment.startWorker("learning")
        let (producer, stores) = environment.producer()
        let notBefore = Date().addingTimeInterval(3)
        try await producer.enqueue(
            type: "enrollment.update",
            payload: [
                "user_id": .string(SampleWorkload.userId(0)), "course_id": .string(SampleWorkload.courseId(0)),
                "action": .string("enroll"),
            ],
            notBefore: notBefore
        )
        try await environment.waitUntil("the delayed job applied", timeout: .seconds(30)) {
            try await environment.count("SELECT count(*) AS n FROM fleet_applied_jobs") == 1
        }
        let appliedAt = try await environment.postgres.query("SELECT applied_at FROM fleet_applied_jobs").first?
            .date("applied_at")
        #expect(try #require(appliedAt) >= notBefore)
        #expect(appliedAt!.timeIntervalSince(notBefore) < 5, "ran soon after its time")
        let summary = await worker.stop()
        #expect(summary.contains("delayed="), "\(summary.suffix(300))")
        await producer.shutdown()
        await stores.shutdown()
        await environment.tearDown()
    }

    /// Stops the shared PostgreSQL server, so it runs alone: `scripts/test.sh` runs it in a second
    /// pass with FLEET_OUTAGE_TESTS=1.
    @Test(
        "PostgreSQL stopped for a few seconds mid-run: jobs retry and all succeed exactly once",
        .enabled(if: ProcessInfo.processInfo.environment["FLEET_OUTAGE_TESTS"] == "1")
    )
    func postgresOutageIsRetriedThrough() async throws {
        let jobs = 1500
        // Jobs published while PostgreSQL is down: work that must retry, however fast the first batch ran.
        let duringOutage = 500
        let environment = try await FleetTestEnvironment.make("outage", workers: ["learning", "profile"])
        try await SampleWorkload.seed(environment.postgres, users: jobs, courses: 10)
        let envelopes = (0..<jobs).map { enrollmentJob(user: $0, course: $0 % 10, action: "enroll") }
        let (producer, stores) = environment.producer()
        for envelope in envelopes.prefix(jobs - duringOutage) {
            try await producer.publish(envelope: envelope, body: envelope.encoded())
        }
        let worker = try environment.startWorker("learning")
        try await environment.waitUntil("some jobs applied") {
            try await environment.count("SELECT count(*) AS n FROM fleet_applied_jobs") >= 100
        }
        let services = "\(FleetTestEnvironment.repositoryRoot)/scripts/services.sh"
        try await runShell("\(services) pg-stop >/dev/null 2>&1")
        for envelope in envelopes.suffix(duringOutage) {
            try await producer.publish(envelope: envelope, body: envelope.encoded())
        }
        try await Task.sleep(for: .seconds(4))
        try await runShell("\(services) pg-start >/dev/null 2>&1")
        try await environment.waitUntil("all jobs applied after the outage", timeout: .seconds(180)) {
            try await environment.count("SELECT count(*) AS n FROM fleet_applied_jobs") == jobs
        }
        try await environment.waitUntil("queues drained") {
            try await environment.queueDepth("fleet.learning") == 0
        }
        #expect(try await environment.count("SELECT sum(total_enrollments) AS n FROM courses") == jobs)
        #expect(try await environment.count("SELECT count(*) AS n FROM user_courses") == jobs)
        #expect(try await environment.deadLetters("fleet.learning").isEmpty)
        let summary = await worker.stop()
        #expect(!summary.contains("retried=0"), "the outage caused retries: \(summary.suffix(400))")
        await producer.shutdown()
        await stores.shutdown()
        await environment.tearDown()
    }
}
