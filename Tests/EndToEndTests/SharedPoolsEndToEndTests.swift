import FleetApp
import FleetCore
import FleetJobs
import Foundation
import Testing

/// `fleet run` without `--worker` runs every manifest of its configuration in one process, on one
/// set of store pools sized from those manifests.
@Suite("Shared store pools end to end")
struct SharedPoolsEndToEndTests {
    @Test("Two workers in one process share pools sized from their manifests and both apply jobs")
    func oneProcessRunsTwoWorkersOnOnePoolSet() async throws {
        let environment = try await FleetTestEnvironment.make("onepool", workers: ["learning", "profile"])
        try await SampleWorkload.seed(environment.postgres, users: 2, courses: 1)
        // A configuration holding only these two manifests: `fleet run` runs every one it finds.
        let directory = "\(NSTemporaryDirectory())/\(environment.name)-config"
        try FileManager.default.createDirectory(atPath: "\(directory)/workers", withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let source = environment.configuration.configDirectory
        try FileManager.default.copyItem(atPath: "\(source)/queues.yaml", toPath: "\(directory)/queues.yaml")
        for worker in ["learning", "profile"] {
            try FileManager.default.copyItem(
                atPath: "\(source)/workers/\(worker).yaml",
                toPath: "\(directory)/workers/\(worker).yaml"
            )
        }
        var processEnvironment = environment.processEnvironment
        processEnvironment["FLEET_LOG_LEVEL"] = "info"
        let process = try WorkerProcess(
            arguments: ["run", "--config-dir", directory, "--drain-timeout", "5"],
            environment: processEnvironment,
            logName: "\(environment.name)-all"
        )
        let (producer, stores) = environment.producer()
        try await producer.enqueue(
            type: "enrollment.update",
            payload: [
                "user_id": .string(SampleWorkload.userId(0)), "course_id": .string(SampleWorkload.courseId(0)),
                "action": .string("enroll"),
            ]
        )
        try await producer.enqueue(
            type: "profile.completion.recalculate",
            payload: ["user_id": .string(SampleWorkload.userId(1))]
        )
        try await environment.waitUntil("an enrollment and a recalculation applied") {
            try await environment.count("SELECT count(*) AS n FROM fleet_applied_jobs") == 2
        }
        #expect(try await environment.count("SELECT total_enrollments AS n FROM courses") == 1)
        let output = await process.stop()
        // learning runs 16 jobs at once on PostgreSQL, profile 8 on PostgreSQL, Redis and MongoDB;
        // nothing uses Neo4j, which gets no pool.
        // Off a terminal the log is JSON lines: the pool sizes are string fields of the line.
        let poolLine = output.split(separator: "\n").first { $0.contains("fleet.store pools") }.map(String.init) ?? ""
        #expect(poolLine.contains(#""postgres":"24""#), "\(poolLine)")
        #expect(poolLine.contains(#""redis":"8""#) && poolLine.contains(#""mongodb":"8""#), "\(poolLine)")
        #expect(!poolLine.contains("neo4j"), "\(poolLine)")
        #expect(output.contains("worker learning:") && output.contains("worker profile:"))
        await producer.shutdown()
        await stores.shutdown()
        await environment.tearDown()
    }
}
