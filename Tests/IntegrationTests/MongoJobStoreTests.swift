import FleetApp
import FleetContract
import FleetCore
import FleetJobs
import FleetStoreKit
import Foundation
import MongoDB
import Postgres
import Testing

/// The fleet's MongoDB building blocks against nx-27017: migrations recorded in PostgreSQL, and
/// exactly-once read-modify-replace of one document that retries on conflicts.
@Suite("MongoDB job store")
struct MongoJobStoreTests {
    static let environment = ProcessInfo.processInfo.environment

    /// A MongoDB client on a database of the test's own with the fleet's indexes, dropped by
    /// `body`'s end.
    static func withScratchDatabase(_ body: (MongoClient) async throws -> Void) async throws {
        let client = MongoClient(configuration: try MongoClientTests.scratchConfiguration(), maxConnections: 8)
        do {
            try await client.withConnection { connection in
                for step in MongoMigrations.steps {
                    for (collection, index) in step.indexes {
                        try connection.collection(collection).createIndexes([index])
                    }
                }
            }
            try await body(client)
        } catch {
            _ = try? await client.withConnection { try $0.dropDatabase() }
            await client.shutdown()
            throw error
        }
        _ = try? await client.withConnection { try $0.dropDatabase() }
        await client.shutdown()
    }

    static func envelope(key: String? = nil) -> JobEnvelope {
        JobEnvelope(
            id: UUID().uuidString.lowercased(),
            type: "test.job",
            createdAt: Date(),
            idempotencyKey: key,
            payload: [:]
        )
    }

    @Test func migrationsAreRecordedOnceAndMakeUserSkillsUnique() async throws {
        let postgres = PostgresClient(
            configuration: try PostgresConfiguration(
                url: Self.environment["FLEET_POSTGRES_URL"] ?? FleetConfiguration.defaultPostgresURL
            ),
            maxConnections: 2
        )
        _ = try await PostgresMigrations.migrate(postgres)
        try await Self.withScratchDatabase { mongodb in
            // schema_versions is shared by every test database of this server: the first call may
            // find the steps recorded already, so what counts is that a second call records nothing.
            _ = try await MongoMigrations.migrate(mongodb, recordingIn: postgres)
            #expect(try await MongoMigrations.migrate(mongodb, recordingIn: postgres).isEmpty)
            let recorded = try await SchemaVersions.applied(postgres, service: MongoMigrations.serviceName)
            #expect(recorded.isSuperset(of: MongoMigrations.steps.map(\.version)))
            // A fresh MongoDB database behind an up-to-date record still gets its unique indexes.
            try await mongodb.withConnection { try $0.dropDatabase() }
            #expect(try await MongoMigrations.migrate(mongodb, recordingIn: postgres).isEmpty)
            try await mongodb.withConnection { connection in
                let skills = connection.collection("user_skills")
                try skills.insertOne(["user_id": "u1"])
                #expect(throws: MongoError.self) { try skills.insertOne(["user_id": "u1"]) }
            }
        }
        await postgres.shutdown()
    }

    /// 40 jobs racing to change one document, each delivered twice: conflicts are retried inside
    /// `apply`, every job takes effect once, and duplicates find their key in the document.
    @Test func racingUpdatesOfOneDocumentApplyEachJobOnce() async throws {
        try await Self.withScratchDatabase { mongodb in
            let id = BSONValue.string("counter")
            let jobs = (0..<40).map { _ in Self.envelope() }
            let outcomes = try await withThrowingTaskGroup(of: Bool.self) { group in
                for job in jobs + jobs {
                    group.addTask {
                        try await MongoDocumentUpdate.apply(mongodb, collection: "counters", filter: ["_id": id]) {
                            current -> (MongoDocumentUpdate.Decision, Bool) in
                            guard !MongoDocumentUpdate.hasApplied(job, to: current) else { return (.unchanged, false) }
                            guard let current else {
                                var first: BSONDocument = ["_id": id, "n": .int64(1)]
                                first[MongoDocumentUpdate.appliedJobsField] = AppliedJobs.recording(
                                    MongoDocumentUpdate.jobKey(job),
                                    in: nil,
                                    window: MongoDocumentUpdate.defaultDedupWindow,
                                    now: Date()
                                )
                                return (.insert(first), true)
                            }
                            var changes = MongoDocumentUpdate.FieldChanges()
                            changes.set("n", .int64(Int64(current["n"]?.intValue ?? 0) + 1))
                            MongoDocumentUpdate.recordApplied(job, in: &changes, current: current)
                            return (.update(changes), true)
                        }
                    }
                }
                return try await group.reduce(into: [Bool]()) { $0.append($1) }
            }
            #expect(outcomes.filter { $0 }.count == 40)
            let stored = try await mongodb.withConnection { try $0.collection("counters").findOne(["_id": id]) }
            #expect(stored?["n"]?.intValue == 40)
            #expect(stored.map(MongoDocumentUpdate.revision(of:)) == 40)
            #expect(stored?[MongoDocumentUpdate.appliedJobsField]?.arrayValue?.count == 40)
        }
    }

    /// A document created by someone else (no `fleet_revision`) is updated once, and a second writer
    /// holding the same stale read conflicts.
    @Test func aDocumentWithoutRevisionIsGuardedByTheFieldsAbsence() async throws {
        try await Self.withScratchDatabase { mongodb in
            try await mongodb.withConnection { connection in
                let content = connection.collection("content")
                try content.insertOne(["_id": "c1", "status": "draft"])
                let read = try #require(try content.findOne(["_id": "c1"]))
                var published = MongoDocumentUpdate.FieldChanges()
                published.set("status", "published")
                try MongoDocumentUpdate.write(.update(published), current: read, to: content)
                #expect(throws: MongoWriteConflict.self) {
                    try MongoDocumentUpdate.write(.update(published), current: read, to: content)
                }
                let stored = try content.findOne(["_id": "c1"])
                #expect(stored?["status"] == "published")
                #expect(stored.map(MongoDocumentUpdate.revision(of:)) == 1)
            }
        }
    }
}
