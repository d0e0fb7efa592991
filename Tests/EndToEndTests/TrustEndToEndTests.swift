import AMQP
import Bolt
import FleetApp
import FleetContract
import FleetCore
import FleetSigning
import Foundation
import Testing

/// Issue 15's routing checks against the real broker and stores: a worker runs only its queue's job
/// types, and a delivery whose AMQP properties contradict the contract is dead-lettered at once.
@Suite("Trust end to end")
struct TrustEndToEndTests {
    @Test("A job of another queue, a mismatched type property and a text/plain body are dead-lettered unrun")
    func foreignAndMislabelledJobsAreDeadLettered() async throws {
        let environment = try await FleetTestEnvironment.make("trust_routing", workers: ["learning"])
        try await SampleWorkload.seed(environment.postgres, users: 3, courses: 1)
        let worker = try environment.startWorker("learning")
        let queue = "fleet.learning"
        let graph = BoltClient(configuration: environment.configuration.bolt, maxConnections: 1)
        let event = UUID().uuidString.lowercased()
        let user = UUID().uuidString.lowercased()
        try await graph.run(
            "CREATE (:Event {event_id: $event, max_participants: 10})",
            parameters: ["event": .string(event)]
        )
        // An event.register published straight into the learning worker's queue (default exchange).
        let register = JobEnvelope(
            id: UUID().uuidString.lowercased(),
            type: "event.register",
            createdAt: Date(),
            payload: ["user_id": .string(user), "event_id": .string(event)]
        )
        try await environment.publishRaw(register.encoded(), to: queue, type: "event.register")
        // A learning job whose AMQP type property names another type.
        let mislabelled = enrollmentJob(user: 0, course: 0, action: "enroll")
        try await environment.publishRaw(mislabelled.encoded(), to: queue, type: "event.register")
        // A learning job sent as text/plain.
        let plain = enrollmentJob(user: 1, course: 0, action: "enroll")
        try await environment.publishRaw(plain.encoded(), to: queue, type: plain.type, contentType: "text/plain")
        // A good job after them: the worker is still running and applies it.
        let good = enrollmentJob(user: 2, course: 0, action: "enroll")
        try await environment.publishRaw(
            good.encoded(),
            to: queue,
            type: good.type,
            contentType: "application/json; charset=utf-8"
        )
        try await environment.waitUntil("three dead letters and the good job applied") {
            let deadLetters = try await environment.queueDepth("\(queue).dlq")
            let enrolled = try await environment.count("SELECT count(*) AS n FROM user_courses")
            return deadLetters == 3 && enrolled == 1
        }
        let reasons = Dictionary(
            try await environment.deadLetters(queue).map { ($0.messageIdOrBodyId, $0.reason) },
            uniquingKeysWith: { first, _ in first }
        )
        #expect(reasons[register.id] == "wrong_queue")
        #expect(reasons[mislabelled.id] == "type_mismatch")
        #expect(reasons[plain.id] == "invalid_content_type")
        // Nothing of the rejected jobs reached a store: no registration in the graph, no enrollment
        // of users 0 and 1 in PostgreSQL.
        let registrations = try await graph.run(
            "MATCH (:User)-[r:REGISTERED_FOR]->(:Event {event_id: $event}) RETURN count(r) AS n",
            parameters: ["event": .string(event)]
        )
        #expect(registrations.first("n") == 0)
        #expect(
            try await environment.count(
                "SELECT count(*) AS n FROM user_courses WHERE user_id = $1",
                [SampleWorkload.userId(2)]
            ) == 1
        )
        #expect(worker.isRunning)
        await worker.stop()
        try await graph.run("MATCH (e:Event {event_id: $event}) DELETE e", parameters: ["event": .string(event)])
        await graph.shutdown()
        await environment.tearDown()
    }
}

extension DeadLetterEntry {
    /// The envelope `id` of the dead letter's body (the tests publish raw bodies with random message ids).
    var messageIdOrBodyId: String {
        if case .object(let object)? = try? JSONParser.parse(body), case .string(let id)? = object["id"] {
            return id
        }
        return messageId ?? "-"
    }
}

/// Forged fleet headers and signed jobs, against the real broker with `fleet run` workers.
@Suite("Trust headers and signing end to end", .serialized)
struct SigningEndToEndTests {
    @Test("A published x-fleet-attempt: 6 is not trusted: the failing job is retried, not dead-lettered at once")
    func aForgedAttemptCountIsIgnored() async throws {
        let environment = try await FleetTestEnvironment.make(
            "forged_attempt",
            retryDelays: "[200ms, 500ms]",
            workers: ["profile"]
        )
        try await SampleWorkload.seed(environment.postgres, users: 1, courses: 1)
        // Redis unreachable: every attempt of the profile job fails transiently.
        let worker = try environment.startWorker("profile", environment: ["FLEET_REDIS_URL": "redis://127.0.0.1:1/0"])
        let job = JobEnvelope(
            id: UUID().uuidString.lowercased(),
            type: "profile.completion.recalculate",
            createdAt: Date(),
            payload: ["user_id": .string(SampleWorkload.userId(0))]
        )
        try await environment.publishRaw(
            job.encoded(),
            to: "fleet.profile",
            type: job.type,
            headers: [
                "x-fleet-attempt": .int(6), "x-fleet-first-failure-at": .string("2020-01-01T00:00:00Z"),
                "x-fleet-applied": .bool(true), "x-fleet-failed-step": .string("cache_refresh"),
            ]
        )
        try await environment.waitUntil("the job dead-lettered", timeout: .seconds(60)) {
            try await environment.queueDepth("fleet.profile.dlq") == 1
        }
        let entry = try #require(try await environment.deadLetters("fleet.profile").first)
        #expect(entry.reason == "max_attempts")
        #expect(entry.attempts == 3, "attempt 1 and two retries, as for an honest job")
        #expect(entry.headers[FleetHeaders.firstFailureAt]?.string != "2020-01-01T00:00:00Z")
        let summary = await worker.stop()
        #expect(summary.contains("retried=2"), "\(summary.suffix(400))")
        await environment.tearDown()
    }

    @Test(
        "Signing required: unsigned is bad_signature; signed by fleet enqueue with a rotated key applies; retries and follow-ups stay signed"
    )
    func requiredSigning() async throws {
        let environment = try await FleetTestEnvironment.make(
            "signing",
            retryDelays: "[200ms, 500ms]",
            // career: the queue of the assessment's second follow-up, which no worker here runs.
            workers: ["learning", "profile", "skills", "career"]
        )
        try await SampleWorkload.seed(environment.postgres, users: 3, courses: 1)
        let directory = NSTemporaryDirectory() + "/" + environment.name
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let secretA = Data((0..<32).map { _ in UInt8.random(in: 0...255) }).base64EncodedString()
        let secretB = Data((0..<32).map { _ in UInt8.random(in: 0...255) }).base64EncodedString()
        // Rotation: the workers know A (the old key) and B (the new one); the producer has only B.
        try "# old\nkey-a \(secretA)\n# new\nkey-b \(secretB)\n".write(
            toFile: "\(directory)/worker.keys",
            atomically: true,
            encoding: .utf8
        )
        try "key-b \(secretB)\n".write(toFile: "\(directory)/producer.keys", atomically: true, encoding: .utf8)
        let workerSigning = [
            "FLEET_SIGNING_MODE": "required", "FLEET_SIGNING_KEYS_FILE": "\(directory)/worker.keys",
            "FLEET_SIGNING_KEY_ID": "key-a",
        ]
        let producerSigning = [
            "FLEET_SIGNING_KEYS_FILE": "\(directory)/producer.keys", "FLEET_SIGNING_KEY_ID": "key-b",
        ]
        let learning = try environment.startWorker("learning", environment: workerSigning)
        // The profile worker cannot reach Redis: its jobs fail transiently and are retried.
        var profileEnvironment = workerSigning
        profileEnvironment["FLEET_REDIS_URL"] = "redis://127.0.0.1:1/0"
        let profile = try environment.startWorker("profile", environment: profileEnvironment)

        // Unsigned, straight into the queue: dead-lettered as bad_signature, not run.
        let unsigned = enrollmentJob(user: 0, course: 0, action: "enroll")
        try await environment.publishRaw(unsigned.encoded(), to: "fleet.learning", type: unsigned.type)
        // Signed by `fleet enqueue` with key B: applied.
        _ = try await environment.fleet(
            [
                "enqueue", "enrollment.update", "--payload",
                #"{"user_id":"\#(SampleWorkload.userId(1))","course_id":"\#(SampleWorkload.courseId(0))","action":"enroll"}"#,
            ],
            environment: producerSigning
        )
        try await environment.waitUntil("one dead letter and the signed job applied") {
            let dead = try await environment.queueDepth("fleet.learning.dlq")
            let enrolled = try await environment.count("SELECT count(*) AS n FROM user_courses")
            return dead == 1 && enrolled == 1
        }
        let rejected = try #require(try await environment.deadLetters("fleet.learning").first)
        #expect(rejected.reason == "bad_signature")
        #expect(rejected.messageIdOrBodyId == unsigned.id)
        #expect(
            try await environment.count(
                "SELECT count(*) AS n FROM user_courses WHERE user_id = $1",
                [SampleWorkload.userId(1)]
            ) == 1
        )

        // A signed job failing transiently: its retries are re-signed by the worker (key A) and
        // verify, so it ends as max_attempts after three attempts, not as bad_signature.
        _ = try await environment.fleet(
            [
                "enqueue", "profile.completion.recalculate", "--payload",
                #"{"user_id":"\#(SampleWorkload.userId(2))"}"#,
            ],
            environment: producerSigning
        )
        try await environment.waitUntil("the profile job dead-lettered", timeout: .seconds(60)) {
            try await environment.queueDepth("fleet.profile.dlq") == 1
        }
        let exhausted = try #require(try await environment.deadLetters("fleet.profile").first)
        #expect(exhausted.reason == "max_attempts", "\(exhausted.reason): \(exhausted.error ?? "")")
        #expect(exhausted.attempts == 3)
        let profileSummary = await profile.stop()
        #expect(profileSummary.contains("retried=2"), "\(profileSummary.suffix(400))")

        // A follow-up job (assessment.score enqueues two) is signed by the worker's key.
        let skills = try environment.startWorker("skills", environment: workerSigning)
        _ = try await environment.fleet(
            [
                "enqueue", "assessment.score", "--payload",
                #"{"user_id":"\#(UUID().uuidString.lowercased())","skill_id":"65a1b2c3d4e5f60718293a4b","type":"self_assessment","score":7}"#,
            ],
            environment: producerSigning
        )
        // Its profile.completion.recalculate follow-up waits in fleet.profile (its worker is stopped).
        try await environment.waitUntil("the follow-up in fleet.profile") {
            try await environment.queueDepth("fleet.profile") == 1
        }
        let followUp = try #require(
            try await AMQPConnection.withDedicatedThread(environment.configuration.amqp) {
                try $0.get(queue: "fleet.profile")
            }
        )
        let keys = try SigningKeys.load(file: "\(directory)/worker.keys")
        #expect(
            JobVerifier(keys: keys).verify(followUp.properties.headers, body: followUp.body)
                == .verified(keyId: "key-a")
        )
        await skills.stop()
        let learningOutput = await learning.stop()
        #expect(!learningOutput.contains(secretA) && !learningOutput.contains(secretB))
        await environment.tearDown()
    }

    @Test("Signing permissive: unsigned and badly signed jobs run, are counted on /metrics and logged")
    func permissiveSigningRunsAndCounts() async throws {
        let environment = try await FleetTestEnvironment.make("permissive", workers: ["learning"])
        try await SampleWorkload.seed(environment.postgres, users: 2, courses: 1)
        let keys = try Self.keysFile(in: environment, id: "key-a")
        let worker = try await ObservabilityEndToEndTests.ObservedWorker.start(
            "learning",
            in: environment,
            environment: [
                "FLEET_SIGNING_MODE": "permissive", "FLEET_SIGNING_KEYS_FILE": keys, "FLEET_SIGNING_KEY_ID": "key-a",
            ]
        )
        let unsigned = enrollmentJob(user: 0, course: 0, action: "enroll")
        try await environment.publishRaw(unsigned.encoded(), to: "fleet.learning", type: unsigned.type)
        let forged = enrollmentJob(user: 1, course: 0, action: "enroll")
        try await environment.publishRaw(
            forged.encoded(),
            to: "fleet.learning",
            type: forged.type,
            headers: [
                "x-fleet-key-id": .string("key-a"),
                "x-fleet-signature": .string("v1=" + String(repeating: "0", count: 64)),
            ]
        )
        try await environment.waitUntil("both jobs applied") {
            try await environment.count("SELECT count(*) AS n FROM user_courses") == 2
        }
        let samples = try await worker.metrics()
        #expect(samples[#"fleet_jobs_unsigned_total{queue="fleet.learning"}"#] == 1, "\(samples)")
        #expect(samples[#"fleet_jobs_bad_signature_total{queue="fleet.learning"}"#] == 1, "\(samples)")
        #expect(try await environment.queueDepth("fleet.learning.dlq") == 0)
        let output = await worker.process.stop()
        let warnings = output.components(separatedBy: "signature not verified").count - 1
        #expect(warnings == 2, "\(output.suffix(2000))")
        await environment.tearDown()
    }

    @Test("Signing required: fleet dlq replay re-signs a bad_signature dead letter with its own key, and it applies")
    func replayReSignsABadSignatureDeadLetter() async throws {
        let environment = try await FleetTestEnvironment.make("resign", workers: ["learning"])
        try await SampleWorkload.seed(environment.postgres, users: 1, courses: 1)
        let keys = try Self.keysFile(in: environment, id: "key-a")
        let signing = [
            "FLEET_SIGNING_MODE": "required", "FLEET_SIGNING_KEYS_FILE": keys, "FLEET_SIGNING_KEY_ID": "key-a",
        ]
        let worker = try environment.startWorker("learning", environment: signing)
        let unsigned = enrollmentJob(user: 0, course: 0, action: "enroll")
        try await environment.publishRaw(unsigned.encoded(), to: "fleet.learning", type: unsigned.type)
        try await environment.waitUntil("the unsigned job dead-lettered") {
            try await environment.queueDepth("fleet.learning.dlq") == 1
        }
        #expect(try await environment.deadLetters("fleet.learning").first?.reason == "bad_signature")
        #expect(try await environment.count("SELECT count(*) AS n FROM user_courses") == 0)
        // An operator who holds the signing key vouches for the job by replaying it.
        _ = try await environment.fleet(["dlq", "replay", "--queue", "fleet.learning"], environment: signing)
        try await environment.waitUntil("the replayed job applied") {
            let applied = try await environment.count("SELECT count(*) AS n FROM user_courses")
            let dead = try await environment.queueDepth("fleet.learning.dlq")
            return applied == 1 && dead == 0
        }
        _ = await worker.stop()
        await environment.tearDown()
    }

    /// A keys file with one random key, in a folder of this test's own.
    static func keysFile(in environment: FleetTestEnvironment, id: String) throws -> String {
        let directory = NSTemporaryDirectory() + "/" + environment.name
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let secret = Data((0..<32).map { _ in UInt8.random(in: 0...255) }).base64EncodedString()
        try "\(id) \(secret)\n".write(toFile: "\(directory)/keys", atomically: true, encoding: .utf8)
        return "\(directory)/keys"
    }
}
