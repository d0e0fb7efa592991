import AMQP
import FleetContract
import FleetCore
import FleetJobs
import Foundation
import MongoDB
import Testing

/// How a delivery is settled when settling itself fails: a retry or dead-letter copy the broker
/// refuses, and a job whose effect committed but whose follow-up step kept failing.
@Suite("Settlement end to end", .serialized)
struct SettlementEndToEndTests {
    func declare(_ environment: FleetTestEnvironment, queues: [String]) async throws {
        var topology = environment.topology
        topology.queues = environment.topology.queues.filter { queues.contains($0.name) }
        try await AMQPConnection.withDedicatedThread(environment.configuration.amqp) { [topology] connection in
            try TopologyDeclarer(topology: topology).declare(on: connection)
        }
    }

    @Test("A refused dead-letter copy is published again after a pause, not requeued into a loop")
    func refusedCopyBacksOff() async throws {
        let environment = try await FleetTestEnvironment.make("refused", workers: ["learning"])
        // Without its DLQ, the worker's dead-letter copy of a malformed job is returned unroutable.
        try await runShell(
            FleetTestEnvironment.managementCall("DELETE", "queues/\(environment.name)/fleet.learning.dlq")
        )
        let worker = try environment.startWorker("learning")
        try await environment.publishRaw(Array("{not json".utf8), to: "fleet.learning")
        // Not a fixed pause: on a loaded machine the worker may not have read the job 3 s later, and
        // the DLQ came back before the broker could refuse anything (CI, 2026-12-01).
        try await environment.waitUntil("the worker's dead-letter copy refused by the broker") {
            worker.output.contains("copy refused by the broker, publishing it again")
        }
        try await declare(environment, queues: ["fleet.learning"])
        try await environment.waitUntil("the malformed job in the DLQ") {
            try await !environment.deadLetters("fleet.learning").isEmpty
        }
        try await environment.waitUntil("the work queue empty") {
            try await environment.queueDepth("fleet.learning") == 0
        }
        let entries = try await environment.deadLetters("fleet.learning")
        #expect(entries.count == 1)
        #expect(entries.first?.reason == "invalid_json")
        let output = await worker.stop()
        #expect(output.contains("dead_lettered=1") && output.contains("requeued=0"), "\(output.suffix(400))")
        // Run once: a requeued delivery would have come back and been rejected again.
        #expect(output.components(separatedBy: "fleet.job rejected").count == 2, "\(output.suffix(2000))")
        #expect(output.contains("copy refused by the broker, publishing it again"))
        await environment.tearDown()
    }

    @Test("A follow-up publish failing every attempt: dead-lettered as applied; the replay only publishes")
    func appliedThenDeadLetteredReplaysOnlyTheStep() async throws {
        // Only the skills queue exists: the follow-ups to the profile and career queues are unroutable.
        let environment = try await FleetTestEnvironment.make(
            "applied",
            retryDelays: "[100ms, 150ms, 200ms, 250ms, 300ms]",
            workers: ["skills"]
        )
        let userId = UUID().uuidString.lowercased()
        let job = JobEnvelope(
            id: UUID().uuidString.lowercased(),
            type: AssessmentScoreHandler.jobType,
            createdAt: Date(),
            payload: [
                "user_id": .string(userId), "skill_id": .string("65a1b2c3d4e5f60718293a4b"),
                "type": .string("technical_assessment"), "score": .integer(80),
            ]
        )
        let (producer, stores) = environment.producer()
        try await producer.publish(envelope: job, body: job.encoded())
        await producer.shutdown()
        await stores.shutdown()
        let worker = try environment.startWorker("skills")
        try await environment.waitUntil("the job dead-lettered after 6 attempts") {
            try await !environment.deadLetters("fleet.skills").isEmpty
        }
        let entry = try #require(try await environment.deadLetters("fleet.skills").first)
        #expect(entry.reason == "max_attempts")
        #expect(entry.attempts == 6)
        #expect(entry.headers[FleetHeaders.applied] == .bool(true))
        #expect(entry.headers[FleetHeaders.failedStep] == .string("follow_up_publish"))
        func history() async throws -> Int {
            try await environment.mongodb.withConnection { connection in
                try connection.collection("user_skills").findOne(["user_id": .string(userId)])?["assessment_history"]?
                    .arrayValue?.count ?? 0
            }
        }
        #expect(try await history() == 1)

        try await declare(environment, queues: ["fleet.skills", "fleet.profile", "fleet.career"])
        _ = try await environment.fleet(["dlq", "replay", "--queue", "fleet.skills"])
        try await environment.waitUntil("the follow-ups published") {
            let profile = try await environment.queueDepth("fleet.profile")
            let career = try await environment.queueDepth("fleet.career")
            return profile == 1 && career == 1
        }
        try await environment.waitUntil("the replay settled") {
            let waiting = try await environment.queueDepth("fleet.skills")
            let dead = try await environment.deadLetters("fleet.skills")
            return waiting == 0 && dead.isEmpty
        }
        #expect(try await history() == 1)
        let output = await worker.stop()
        #expect(output.contains("already_applied=1"), "\(output.suffix(400))")

        // The same dead letter, but applied eight days ago: its dedup record may be pruned, so a
        // replay could add a second assessment. `replay` holds it back unless told otherwise.
        var headers = entry.headers
        headers[FleetHeaders.firstFailureAt] = .string(RFC3339.format(Date().addingTimeInterval(-8 * 86_400)))
        let old = AMQPOutgoingMessage(
            exchange: "",
            routingKey: "fleet.skills.dlq",
            properties: AMQPProperties(
                contentType: "application/json",
                deliveryMode: 2,
                messageId: job.id,
                type: job.type,
                headers: headers
            ),
            body: job.encoded()
        )
        try await AMQPConnection.withDedicatedThread(environment.configuration.amqp) { connection in
            try connection.enableConfirms()
            try connection.publishConfirmed(old)
        }
        let held = try await environment.fleet(["dlq", "replay", "--queue", "fleet.skills"])
        #expect(
            held.contains("held back: applied 192 h ago") && held.contains("replayed 0 job(s), held back 1"),
            "\(held)"
        )
        #expect(try await environment.deadLetters("fleet.skills").count == 1)
        let forced = try await environment.fleet(["dlq", "replay", "--queue", "fleet.skills", "--reapply-past-window"])
        #expect(forced.contains("replayed 1 job(s)"), "\(forced)")
        try await environment.waitUntil("the forced replay queued") {
            try await environment.queueDepth("fleet.skills") == 1
        }
        await environment.tearDown()
    }
}
