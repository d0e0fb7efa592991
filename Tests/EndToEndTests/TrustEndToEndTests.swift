import AMQP
import Bolt
import FleetApp
import FleetContract
import FleetCore
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
        worker.stop()
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
