import FleetApp
import FleetContract
import FleetCore
import FleetJobs
import Foundation
import MongoDB
import Testing

/// `fleet maintenance` against real stores: records past their dedup window go, newer ones stay,
/// and a job delivered again after its window is a new job.
@Suite("Retention end to end", .serialized)
struct RetentionEndToEndTests {
    @Test("Pruning removes ledger records past the window and keeps newer ones; a later duplicate runs again")
    func maintenancePrunesPastTheWindow() async throws {
        let environment = try await FleetTestEnvironment.make("retention", workers: ["learning"])
        try await SampleWorkload.seed(environment.postgres, users: 2, courses: 1)
        let old = enrollmentJob(user: 0, course: 0, action: "enroll")
        let recent = enrollmentJob(user: 1, course: 0, action: "enroll")
        let (producer, stores) = environment.producer()
        for job in [old, recent] { try await producer.publish(envelope: job, body: job.encoded()) }
        let worker = try environment.startWorker("learning")
        try await environment.waitUntil("both jobs applied") {
            try await environment.count("SELECT count(*) AS n FROM fleet_applied_jobs") == 2
        }
        // One record 8 days old, one 6 days old: only the first is past the 7-day default window.
        try await environment.postgres.query(
            "UPDATE fleet_applied_jobs SET applied_at = now() - ($2 || ' days')::interval WHERE job_id = $1",
            [old.id, "8"]
        )
        try await environment.postgres.query(
            "UPDATE fleet_applied_jobs SET applied_at = now() - ($2 || ' days')::interval WHERE job_id = $1",
            [recent.id, "6"]
        )
        // And a MongoDB key binding of each age.
        try await environment.mongodb.withConnection { connection in
            let keys = connection.collection("fleet_job_keys")
            for (key, days) in [("old", 8.0), ("recent", 6.0)] {
                try keys.insertOne([
                    "_id": .string("content.publish \(key)"), "job_type": "content.publish",
                    "target": "65a1b2c3d4e5f60718293a4b", "job_id": .string(UUID().uuidString.lowercased()),
                    "token": "t", "bound_at": BSONValue(Date().addingTimeInterval(-days * 86_400)),
                ])
            }
        }
        let output = try await environment.fleet(["maintenance"])
        #expect(output.contains("postgres enrollment.update: 1 record(s) pruned"), "\(output)")
        #expect(output.contains("mongodb content.publish: 1 record(s) pruned"), "\(output)")
        let bindings = try await environment.mongodb.withConnection { connection in
            try connection.collection("fleet_job_keys").find([:]).compactMap { $0["_id"]?.stringValue }
        }
        #expect(bindings == ["content.publish recent"])
        #expect(
            try await environment.count("SELECT count(*) AS n FROM fleet_applied_jobs WHERE job_id = $1", [recent.id])
                == 1
        )
        #expect(
            try await environment.count("SELECT count(*) AS n FROM fleet_applied_jobs WHERE job_id = $1", [old.id]) == 0
        )

        // Delivered again: the recent job is still a duplicate; the old one is a new job. Its effect
        // (an enroll, merged into the enrollment's history) changes nothing a second time.
        for job in [recent, old] { try await producer.publish(envelope: job, body: job.encoded()) }
        await producer.shutdown()
        await stores.shutdown()
        try await environment.waitUntil("the old job applied again") {
            try await environment.count("SELECT count(*) AS n FROM fleet_applied_jobs WHERE job_id = $1", [old.id]) == 1
        }
        try await environment.waitUntil("the queue drained") { try await environment.queueDepth("fleet.learning") == 0 }
        #expect(try await environment.count("SELECT count(*) AS n FROM user_courses WHERE status = 'enrolled'") == 2)
        #expect(try await environment.count("SELECT total_enrollments AS n FROM courses") == 2)
        let summary = await worker.stop()
        #expect(summary.contains("applied=3") && summary.contains("already_applied=1"), "\(summary.suffix(300))")
        await environment.tearDown()
    }
}
