import FleetApp
import FleetContract
import FleetCore
import FleetJobs
import Foundation
import Postgres
import Testing

/// Publishes real jobs to RabbitMQ and checks PostgreSQL, with worker processes of the `fleet` binary.
@Suite("Enrollment end to end", .serialized)
struct EnrollmentEndToEndTests {
    static let courses = 50
    static let jobs = 2000

    /// 2,000 first enrollments, one per user, over 50 courses: 10% published twice, 10% sent again
    /// as a second job (new id) under the same idempotency key.
    struct Workload {
        var envelopes: [JobEnvelope] = []
        var extraDeliveries: [JobEnvelope] = []

        init(jobs: Int, courses: Int) {
            for index in 0..<jobs {
                let key: String? = index % 10 == 1 ? "enroll-\(index)" : nil
                let envelope = enrollmentJob(
                    user: index,
                    course: index % courses,
                    action: "enroll",
                    idempotencyKey: key
                )
                envelopes.append(envelope)
                if index % 10 == 0 { extraDeliveries.append(envelope) }
                if let key {
                    extraDeliveries.append(
                        JobEnvelope(
                            id: UUID().uuidString.lowercased(),
                            type: envelope.type,
                            createdAt: Date(),
                            idempotencyKey: key,
                            payload: envelope.payload
                        )
                    )
                }
            }
        }

        var all: [JobEnvelope] { envelopes + extraDeliveries }
    }

    func publish(_ envelopes: [JobEnvelope], in environment: FleetTestEnvironment) async throws {
        let (producer, stores) = environment.producer()
        try await withThrowingTaskGroup(of: Void.self) { group in
            for chunk in stride(from: 0, to: envelopes.count, by: 100) {
                let slice = envelopes[chunk..<min(chunk + 100, envelopes.count)]
                group.addTask {
                    for envelope in slice { try await producer.publish(envelope: envelope, body: envelope.encoded()) }
                }
            }
            try await group.waitForAll()
        }
        await producer.shutdown()
        await stores.shutdown()
    }

    /// Every course's counter equals its active rows, and every user has exactly one enrollment.
    func expectExact(_ environment: FleetTestEnvironment, dropped: Set<Int> = []) async throws {
        let mismatched = try await environment.postgres.query(
            """
            SELECT c.course_id, c.total_enrollments,
                   (SELECT count(*) FROM user_courses uc WHERE uc.course_id = c.course_id AND uc.status <> 'dropped') AS active
            FROM courses c
            WHERE c.total_enrollments <> (SELECT count(*) FROM user_courses uc
                                          WHERE uc.course_id = c.course_id AND uc.status <> 'dropped')
            """
        )
        #expect(mismatched.isEmpty, "courses whose counter is off: \(mismatched.map { $0["course_id"] ?? "" })")
        for course in 0..<Self.courses {
            let expected = (0..<Self.jobs).filter { $0 % Self.courses == course && !dropped.contains($0) }.count
            let counter = try await environment.count(
                "SELECT total_enrollments AS n FROM courses WHERE course_id = $1",
                [SampleWorkload.courseId(course)]
            )
            #expect(counter == expected, "course \(course)")
        }
        #expect(try await environment.count("SELECT count(*) AS n FROM user_courses") == Self.jobs)
        #expect(
            try await environment.count(
                "SELECT count(*) AS n FROM fleet_applied_jobs WHERE job_type = 'enrollment.update'"
            )
                == Self.jobs + dropped.count
        )
    }

    func appliedCount(_ environment: FleetTestEnvironment) async throws -> Int {
        try await environment.count("SELECT count(*) AS n FROM fleet_applied_jobs")
    }

    @Test("2,000 jobs with duplicates, two concurrent workers: exact counters, each job once")
    func duplicatedJobsTakeEffectOnce() async throws {
        let environment = try await FleetTestEnvironment.make("dupes", workers: ["learning"])
        try await SampleWorkload.seed(environment.postgres, users: Self.jobs, courses: Self.courses)
        let workload = Workload(jobs: Self.jobs, courses: Self.courses)
        try await publish(workload.all.shuffled(), in: environment)
        let workers = try [environment.startWorker("learning"), environment.startWorker("learning")]
        try await environment.waitUntil("all 2,000 jobs applied") { try await appliedCount(environment) >= Self.jobs }
        try await environment.waitUntil("the work queue to drain") {
            try await environment.queueDepth("fleet.learning") == 0
        }
        try await expectExact(environment)

        // Drop 200 enrollments, then redeliver their original enroll jobs: a job applied twice
        // would re-enroll them.
        let droppedIndices = Set((0..<Self.jobs).filter { $0 % 10 == 2 })
        let drops = droppedIndices.sorted().map { enrollmentJob(user: $0, course: $0 % Self.courses, action: "drop") }
        try await publish(drops, in: environment)
        try await environment.waitUntil("the drops applied") {
            try await appliedCount(environment) == Self.jobs + drops.count
        }
        try await publish(droppedIndices.sorted().map { workload.envelopes[$0] }, in: environment)
        try await environment.waitUntil("redelivered jobs consumed") {
            try await environment.queueDepth("fleet.learning") == 0
        }
        try await Task.sleep(for: .seconds(1))
        try await expectExact(environment, dropped: droppedIndices)
        #expect(try await environment.count("SELECT count(*) AS n FROM user_courses WHERE status = 'dropped'") == 200)
        for worker in workers {
            let output = await worker.stop()
            #expect(output.contains("already_applied="), "summary printed on SIGTERM: \(output.suffix(500))")
        }
        #expect(try await environment.deadLetters("fleet.learning").isEmpty)
        await environment.tearDown()
    }

    @Test("30 drops processed before their earlier enrolls: all 30 end dropped, the counter at 0")
    func dropsProcessedBeforeTheirEnrollsWin() async throws {
        let environment = try await FleetTestEnvironment.make("order", workers: ["learning"])
        try await SampleWorkload.seed(environment.postgres, users: 30, courses: 1)
        let worker = try environment.startWorker("learning")
        let created = Date()
        func job(_ user: Int, _ action: String, at time: Date) -> JobEnvelope {
            let template = enrollmentJob(user: user, course: 0, action: action)
            return JobEnvelope(id: template.id, type: template.type, createdAt: time, payload: template.payload)
        }
        // The drops are created a minute after the enrolls but reach the worker first, as a retried
        // or delayed enroll would.
        try await publish((0..<30).map { job($0, "drop", at: created) }, in: environment)
        try await environment.waitUntil("the 30 drops applied") { try await appliedCount(environment) == 30 }
        try await publish((0..<30).map { job($0, "enroll", at: created.addingTimeInterval(-60)) }, in: environment)
        try await environment.waitUntil("the 30 enrolls applied") { try await appliedCount(environment) == 60 }
        #expect(try await environment.count("SELECT count(*) AS n FROM user_courses WHERE status = 'dropped'") == 30)
        #expect(try await environment.count("SELECT count(*) AS n FROM user_courses") == 30)
        #expect(try await environment.count("SELECT total_enrollments AS n FROM courses") == 0)
        await worker.stop()
        #expect(try await environment.deadLetters("fleet.learning").isEmpty)
        await environment.tearDown()
    }

    enum Interruption: String, CaseIterable, Sendable {
        /// A crash: in-flight jobs are lost with the process and redelivered.
        case sigkill
        /// A graceful stop: consuming stops, in-flight jobs drain, the rest stays queued.
        case sigterm
    }

    @Test(
        "A worker interrupted mid-run (SIGKILL, SIGTERM) and restarted: same exact result",
        arguments: Interruption.allCases
    )
    func interruptedWorkerLosesNothingAndAppliesNothingTwice(interruption: Interruption) async throws {
        let environment = try await FleetTestEnvironment.make(interruption.rawValue, workers: ["learning"])
        try await SampleWorkload.seed(environment.postgres, users: Self.jobs, courses: Self.courses)
        let workload = Workload(jobs: Self.jobs, courses: Self.courses)
        try await publish(workload.all.shuffled(), in: environment)
        let first = try environment.startWorker("learning")
        try await environment.waitUntil("a third of the jobs applied") {
            try await appliedCount(environment) >= Self.jobs / 3
        }
        switch interruption {
        case .sigkill: await first.kill()
        case .sigterm:
            let output = await first.stop()
            #expect(output.contains("worker learning: applied="), "drained and summarised: \(output.suffix(300))")
        }
        let atKill = try await appliedCount(environment)
        #expect(atKill < Self.jobs, "the kill happened mid-run")
        let second = try environment.startWorker("learning")
        try await environment.waitUntil("all jobs applied after restart") {
            try await appliedCount(environment) >= Self.jobs
        }
        try await environment.waitUntil("the work queue to drain") {
            try await environment.queueDepth("fleet.learning") == 0
        }
        try await expectExact(environment)
        await second.stop()
        #expect(try await environment.deadLetters("fleet.learning").isEmpty)
        await environment.tearDown()
    }

    @Test("Malformed messages go to the DLQ with a reason; the worker keeps running; a fixed job replays")
    func malformedMessagesAreDeadLetteredAndFixedJobsReplay() async throws {
        let environment = try await FleetTestEnvironment.make("malformed", workers: ["learning", "profile"])
        try await SampleWorkload.seed(environment.postgres, users: 3, courses: 1)
        let worker = try environment.startWorker("learning")
        let queue = "fleet.learning"
        try await environment.publishRaw(Array("{not json".utf8), to: queue)
        try await environment.publishRaw(
            Array(
                #"{"id":"3f1c2a9e-8b7d-4c6e-9f01-23456789abcd","type":"no.such.job","created_at":"2026-11-25T10:00:00Z","payload":{}}"#
                    .utf8
            ),
            to: queue
        )
        try await environment.publishRaw(
            Array(#"{"id":"3f1c2a9e-8b7d-4c6e-9f01-23456789abce","type":"enrollment.update","payload":{}}"#.utf8),
            to: queue
        )
        try await environment.publishRaw(Array(repeating: UInt8(ascii: " "), count: (1 << 20) + 1), to: queue)
        try await environment.publishRaw([0xC3, 0x28], to: queue)
        let hostile = JobEnvelope(
            id: UUID().uuidString.lowercased(),
            type: "enrollment.update",
            createdAt: Date(),
            payload: [
                "user_id": .string("'; DROP TABLE users; --"),
                "course_id": .string(SampleWorkload.courseId(0)), "action": .string("enroll"),
            ]
        )
        try await environment.publishRaw(hostile.encoded(), to: queue)
        // A valid job for a course that does not exist yet: a permanent error, dead-lettered at once.
        let missingCourse = "00000000-0000-4000-9000-999999999999"
        let (producer, stores) = environment.producer()
        let orphan = try await producer.enqueue(
            type: "enrollment.update",
            payload: [
                "user_id": .string(SampleWorkload.userId(1)), "course_id": .string(missingCourse),
                "action": .string("enroll"),
            ]
        )
        try await environment.waitUntil("seven dead letters") {
            try await environment.queueDepth("\(queue).dlq") == 7
        }
        let reasons = try await environment.deadLetters(queue).map(\.reason).sorted()
        #expect(
            reasons == [
                "invalid_json", "invalid_payload", "invalid_utf8", "missing_field", "oversize",
                "unknown_course", "unknown_type",
            ]
        )
        #expect(worker.isRunning)
        #expect(try await environment.count("SELECT count(*) AS n FROM users") == 3, "the hostile string was data")

        // The worker still applies good jobs.
        try await producer.enqueue(
            type: "enrollment.update",
            payload: [
                "user_id": .string(SampleWorkload.userId(0)), "course_id": .string(SampleWorkload.courseId(0)),
                "action": .string("enroll"),
            ]
        )
        try await environment.waitUntil("the good job applied") {
            try await environment.count("SELECT total_enrollments AS n FROM courses") == 1
        }

        // Fix the cause, then replay just that job with the CLI.
        try await environment.postgres.query(
            "INSERT INTO courses (course_id, title) VALUES ($1, 'Late course')",
            [missingCourse]
        )
        let dryRun = try await environment.fleet(["dlq", "replay", "--queue", queue, "--id", orphan.id, "--dry-run"])
        #expect(dryRun.contains("would replay 1 job(s)"))
        #expect(try await environment.queueDepth("\(queue).dlq") == 7)
        let replay = try await environment.fleet(["dlq", "replay", "--queue", queue, "--id", orphan.id])
        #expect(replay.contains("replayed 1 job(s)"))
        try await environment.waitUntil("the replayed job applied") {
            try await environment.count(
                "SELECT total_enrollments AS n FROM courses WHERE course_id = $1",
                [missingCourse]
            ) == 1
        }
        #expect(try await environment.queueDepth("\(queue).dlq") == 6)
        let purge = try await environment.fleet(["dlq", "purge", "--queue", queue])
        #expect(purge.contains("purged 6 job(s)"))
        #expect(try await environment.queueDepth("\(queue).dlq") == 0)
        await worker.stop()
        await producer.shutdown()
        await stores.shutdown()
        await environment.tearDown()
    }
}
