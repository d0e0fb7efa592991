import FleetApp
import FleetContract
import FleetCore
import FleetJobs
import Foundation
import Logging
import MongoDB
import Postgres
import Synchronization
import Testing

/// The `assessment.score`, profile skills item and `career.progress.recalculate` handlers, run
/// directly against the real servers: each test has its own MongoDB and PostgreSQL databases.
/// Follow-up jobs are recorded here (their trip through RabbitMQ is in SkillsEndToEndTests).
@Suite("Skills and career handlers")
struct SkillsCareerHandlerTests {
    /// One test's databases, and the follow-ups its handlers published.
    final class World: Sendable {
        let name: String
        /// The database of FLEET_POSTGRES_URL, from which the test's is created and dropped.
        let adminDatabase: String
        let mongodb: MongoClient
        let postgres: PostgresClient
        let followUps = RecordingFollowUps()

        init() async throws {
            let environment = ProcessInfo.processInfo.environment
            name = "it_skills_\(UInt32.random(in: 0...UInt32.max))"
            var mongo = try MongoConfiguration(
                url: environment["FLEET_MONGODB_URL"] ?? FleetConfiguration.defaultMongoDBURL
            )
            mongo.database = name
            mongodb = MongoClient(configuration: mongo, maxConnections: 8)
            var pg = try PostgresConfiguration(
                url: environment["FLEET_POSTGRES_URL"] ?? FleetConfiguration.defaultPostgresURL
            )
            adminDatabase = pg.database
            let admin = PostgresClient(configuration: pg, maxConnections: 1)
            try await admin.query("CREATE DATABASE \(name)")
            await admin.shutdown()
            pg.database = name
            postgres = PostgresClient(configuration: pg, maxConnections: 8)
            _ = try await PostgresMigrations.migrate(postgres)
            _ = try await MongoMigrations.migrate(mongodb, recordingIn: postgres)
        }

        func tearDown() async {
            _ = try? await mongodb.withConnection { try $0.dropDatabase() }
            await mongodb.shutdown()
            await postgres.shutdown()
            var adminConfiguration = postgres.configuration
            adminConfiguration.database = adminDatabase
            let admin = PostgresClient(configuration: adminConfiguration, maxConnections: 1)
            _ = try? await admin.query("DROP DATABASE IF EXISTS \(name) WITH (FORCE)")
            await admin.shutdown()
        }

        var assessments: AssessmentScoreHandler { AssessmentScoreHandler(mongodb: mongodb, followUps: followUps) }
        var career: CareerProgressRecalculateHandler {
            CareerProgressRecalculateHandler(postgres: postgres, mongodb: mongodb)
        }

        func userSkills(_ userId: String) async throws -> BSONDocument? {
            try await mongodb.withConnection { connection in
                try connection.collection("user_skills").findOne(["user_id": .string(userId)])
            }
        }
    }

    final class RecordingFollowUps: FollowUpPublishing {
        struct Job: Sendable, Equatable {
            let type: String
            let payload: [String: JSONValue]
            let idempotencyKey: String
            let traceparent: String?
        }

        let jobs = Mutex<[Job]>([])
        let failing = Mutex(false)

        func enqueue(
            type: String,
            payload: [String: JSONValue],
            idempotencyKey: String,
            traceparent: String?
        )
            async throws
        {
            if failing.withLock({ $0 }) { throw HandlerTestError(description: "broker unreachable") }
            jobs.withLock {
                $0.append(Job(type: type, payload: payload, idempotencyKey: idempotencyKey, traceparent: traceparent))
            }
        }

        var published: [Job] { jobs.withLock { $0 } }
    }

    struct HandlerTestError: Error, CustomStringConvertible {
        let description: String
    }

    static let traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"

    func envelope(
        _ type: String,
        _ payload: [String: JSONValue],
        at date: Date = Date(),
        key: String? = nil
    )
        -> JobEnvelope
    {
        JobEnvelope(
            id: UUID().uuidString.lowercased(),
            type: type,
            createdAt: date,
            idempotencyKey: key,
            payload: payload
        )
    }

    func assessment(
        user: String,
        skill: ObjectId,
        _ type: String,
        _ score: Int,
        at date: Date = Date(),
        key: String? = nil
    ) -> JobEnvelope {
        envelope(
            "assessment.score",
            [
                "user_id": .string(user), "skill_id": .string(skill.hex), "type": .string(type),
                "score": .integer(Int64(score)),
            ],
            at: date,
            key: key
        )
    }

    /// Parses and runs a job as the consumer would.
    @discardableResult
    func run<Handler: JobHandler>(_ handler: Handler, _ envelope: JobEnvelope) async throws -> JobOutcome {
        let payload = try handler.parse(FieldReader(payload: envelope.payload), version: envelope.version)
        let context = JobContext(
            envelope: envelope,
            attempt: 1,
            traceparent: Self.traceparent,
            logger: Logger(label: "test")
        )
        return try await handler.handle(payload, context: context)
    }

    static func skill(_ document: BSONDocument?, _ id: ObjectId) -> BSONDocument? {
        document?["skills"]?.arrayValue?.compactMap(\.documentValue).first { $0["skill_id"] == .objectId(id) }
    }

    // MARK: - assessment.score

    @Test func anAssessmentCreatesTheDocumentAndSkillThenPublishesTheFollowUps() async throws {
        let world = try await World()
        let user = UUID().uuidString.lowercased()
        let skill = ObjectId()
        let time = Date(timeIntervalSince1970: 1_764_000_000.5)
        let job = assessment(user: user, skill: skill, "technical_assessment", 75, at: time)
        #expect(try await run(world.assessments, job) == .applied)

        let document = try #require(try await world.userSkills(user))
        let entry = try #require(Self.skill(document, skill))
        #expect(entry["verified_score"] == .double(7.5))
        #expect(entry["level"] == "advanced")
        #expect(entry["self_assessment_score"] == .null)
        #expect(entry["last_assessed"] == BSONValue(time))
        let history = (document["assessment_history"]?.arrayValue ?? []).map { entry -> BSONValue in
            var entry = entry.documentValue ?? BSONDocument()
            #expect(entry["recorded_at"]?.dateValue != nil)
            entry["recorded_at"] = nil
            return .document(entry)
        }
        #expect(
            history == [
                .document([
                    "date": BSONValue(time), "skill_id": .objectId(skill), "score": .int32(75),
                    "type": "technical_assessment", "job_key": .string(job.id),
                ])
            ]
        )
        #expect(
            world.followUps.published == [
                .init(
                    type: "profile.completion.recalculate",
                    payload: ["user_id": .string(user)],
                    idempotencyKey: "\(job.id)/profile",
                    traceparent: Self.traceparent
                ),
                .init(
                    type: "career.progress.recalculate",
                    payload: ["user_id": .string(user)],
                    idempotencyKey: "\(job.id)/career",
                    traceparent: Self.traceparent
                ),
            ]
        )
        await world.tearDown()
    }

    @Test func aDuplicateChangesNothingButPublishesTheFollowUpsAgain() async throws {
        let world = try await World()
        let user = UUID().uuidString.lowercased()
        let skill = ObjectId()
        let job = assessment(user: user, skill: skill, "technical_assessment", 40)
        #expect(try await run(world.assessments, job) == .applied)
        let before = try await world.userSkills(user)
        #expect(try await run(world.assessments, job) == .alreadyApplied)
        // Another job with the same idempotency key is the same job.
        var same = assessment(user: user, skill: skill, "technical_assessment", 90, key: "exam-7")
        #expect(try await run(world.assessments, same) == .applied)
        same = assessment(user: user, skill: skill, "technical_assessment", 10, key: "exam-7")
        #expect(try await run(world.assessments, same) == .alreadyApplied)
        let after = try await world.userSkills(user)
        #expect(after?["assessment_history"]?.arrayValue?.count == 2)
        #expect(Self.skill(after, skill)?["verified_score"] == .double(6.5), "(40 + 90) / 2 / 10")
        #expect(before?["_id"] == after?["_id"])
        let keys = world.followUps.published.map(\.idempotencyKey)
        #expect(
            keys == [
                "\(job.id)/profile", "\(job.id)/career", "\(job.id)/profile", "\(job.id)/career",
                "exam-7/profile", "exam-7/career", "exam-7/profile", "exam-7/career",
            ]
        )
        await world.tearDown()
    }

    @Test func theSkillEntryFollowsTheHistoryAndKeepsOtherFields() async throws {
        let world = try await World()
        let user = UUID().uuidString.lowercased()
        let seeded = ObjectId()
        let other = ObjectId()
        let lastYear = Date(timeIntervalSince1970: 1_730_000_000)
        // A document as the seed writes it: certificates and endorsements must survive.
        _ = try await world.mongodb.withConnection { connection in
            try connection.collection("user_skills").insertOne([
                "user_id": .string(user),
                "skills": [
                    [
                        "skill_id": .objectId(seeded), "level": "intermediate", "self_assessment_score": 7,
                        "verified_score": 6.8, "last_assessed": BSONValue(lastYear), "endorsements_count": 12,
                        "certificates": [["name": "JavaScript Advanced", "issuer": "Coursera"]],
                    ]
                ],
                "assessment_history": [
                    [
                        "date": BSONValue(lastYear), "skill_id": .objectId(seeded), "score": 68.0,
                        "type": "technical_assessment",
                    ]
                ],
            ])
        }
        let now = Date()
        try await run(world.assessments, assessment(user: user, skill: seeded, "technical_assessment", 81, at: now))
        var entry = try #require(Self.skill(try await world.userSkills(user), seeded))
        #expect(entry["verified_score"] == .double(7.5), "(68 + 81) / 2 = 74.5 → 7.5")
        #expect(entry["level"] == "advanced")
        #expect(entry["self_assessment_score"] == 7, "untouched by a technical assessment")
        #expect(entry["endorsements_count"] == 12)
        #expect(entry["certificates"]?.arrayValue?.count == 1)
        #expect(entry["last_assessed"] == BSONValue(now))

        // Self-assessments: the latest by job time wins, whatever the arrival order.
        try await run(world.assessments, assessment(user: user, skill: seeded, "self_assessment", 9, at: now))
        try await run(
            world.assessments,
            assessment(user: user, skill: seeded, "self_assessment", 2, at: now.addingTimeInterval(-60))
        )
        entry = try #require(Self.skill(try await world.userSkills(user), seeded))
        #expect(entry["self_assessment_score"] == .int32(9))
        #expect(entry["last_assessed"] == BSONValue(now), "an older job does not move it back")
        #expect(entry["verified_score"] == .double(7.5), "self-assessments do not count")

        // A skill first met through a self-assessment has no verified score yet.
        try await run(world.assessments, assessment(user: user, skill: other, "self_assessment", 3))
        let document = try await world.userSkills(user)
        let fresh = try #require(Self.skill(document, other))
        #expect(fresh["self_assessment_score"] == .int32(3))
        #expect(fresh["verified_score"] == .null && fresh["level"] == .null)
        #expect(document?["assessment_history"]?.arrayValue?.count == 5)
        #expect(document?["skills"]?.arrayValue?.count == 2)
        await world.tearDown()
    }

    @Test func concurrentAssessmentsOfOneUserAreAllKept() async throws {
        let world = try await World()
        let user = UUID().uuidString.lowercased()
        let skills = [ObjectId(), ObjectId()]
        let jobs = (0..<40).map { index in
            assessment(user: user, skill: skills[index % 2], "technical_assessment", index)
        }
        let handler = world.assessments
        try await withThrowingTaskGroup(of: JobOutcome.self) { group in
            for job in jobs + jobs.prefix(10) {  // ten delivered twice, concurrently
                group.addTask { try await run(handler, job) }
            }
            for try await _ in group {}
        }
        let document = try await world.userSkills(user)
        let history = document?["assessment_history"]?.arrayValue ?? []
        #expect(history.count == 40)
        // Skill 0: 0, 2, ..., 38 → mean 19 → 1.9; skill 1: 1, 3, ..., 39 → mean 20 → 2.0.
        #expect(Self.skill(document, skills[0])?["verified_score"] == .double(1.9))
        #expect(Self.skill(document, skills[1])?["verified_score"] == .double(2.0))
        #expect(Self.skill(document, skills[1])?["level"] == "beginner")
        await world.tearDown()
    }

    @Test func aFailedPublishIsRetriedAndTheRetryPublishesWithoutWritingAgain() async throws {
        let world = try await World()
        let user = UUID().uuidString.lowercased()
        let job = assessment(user: user, skill: ObjectId(), "technical_assessment", 50)
        world.followUps.failing.withLock { $0 = true }
        let error = await #expect(throws: JobError.self) { try await run(world.assessments, job) }
        #expect(error?.kind == .transient)
        #expect(error?.reason == "follow_up_not_published")
        #expect(error?.failedStepAfterEffect == "follow_up_publish", "dead-lettered as applied when retries run out")
        #expect(try await world.userSkills(user)?["assessment_history"]?.arrayValue?.count == 1, "stored first")
        world.followUps.failing.withLock { $0 = false }
        #expect(try await run(world.assessments, job) == .alreadyApplied)
        #expect(world.followUps.published.count == 2)
        #expect(try await world.userSkills(user)?["assessment_history"]?.arrayValue?.count == 1)
        await world.tearDown()
    }

    @Test func longParentKeysStillGiveValidFollowUpKeys() {
        #expect(FollowUpKey.derive(parent: "exam-7", suffix: "career") == "exam-7/career")
        let long = String(repeating: "k", count: 200)
        let derived = FollowUpKey.derive(parent: long, suffix: "profile")
        #expect(derived.count <= 200)
        #expect(derived.hasSuffix("/profile"))
        #expect(derived == FollowUpKey.derive(parent: long, suffix: "profile"), "stable")
        #expect(derived != FollowUpKey.derive(parent: long + "x", suffix: "profile"))
    }

    // MARK: - Profile skills item

    @Test func aUserHasSkillsWhenItsDocumentListsOne() async throws {
        let world = try await World()
        let source = MongoSkillsSource(mongodb: world.mongodb)
        let user = UUID().uuidString.lowercased()
        let empty = UUID().uuidString.lowercased()
        #expect(try await source.hasSkills(userId: user) == false, "no document")
        _ = try await world.mongodb.withConnection { connection in
            try connection.collection("user_skills").insertOne(["user_id": .string(empty), "skills": []])
        }
        #expect(try await source.hasSkills(userId: empty) == false, "an empty skills array")
        try await run(world.assessments, assessment(user: user, skill: ObjectId(), "self_assessment", 5))
        #expect(try await source.hasSkills(userId: user))
        await world.tearDown()
    }

    // MARK: - career.progress.recalculate

    struct CareerSeed {
        let user: String
        let path: String
        let otherPath: String
        let milestones: [String]
        let python = ObjectId()
        let sql = ObjectId()
        let swift = ObjectId()
    }

    /// A user, two paths; the first has three milestones: python ≥ 5, sql ≥ 7.5 and python ≥ 5,
    /// swift ≥ 8. The second has one milestone needing nothing.
    func seedCareer(_ world: World) async throws -> CareerSeed {
        let seed = CareerSeed(
            user: UUID().uuidString.lowercased(),
            path: UUID().uuidString.lowercased(),
            otherPath: UUID().uuidString.lowercased(),
            milestones: (0..<4).map { _ in UUID().uuidString.lowercased() }
        )
        try await world.postgres.withTransaction { connection in
            try connection.query(
                "INSERT INTO users (user_id, email, password_hash) VALUES ($1, $2, 'x')",
                [seed.user, "\(seed.user)@example.com"]
            )
            for path in [seed.path, seed.otherPath] {
                try connection.query("INSERT INTO career_paths (path_id, title) VALUES ($1, 'Path')", [path])
            }
            let required = [
                #"[{"skill_id": "\#(seed.python.hex)", "min_score": 5}]"#,
                #"[{"skill_id": "\#(seed.sql.hex)", "min_score": 7.5}, {"skill_id": "\#(seed.python.hex)", "min_score": 5}]"#,
                #"[{"skill_id": "\#(seed.swift.hex)", "min_score": 8}]"#,
            ]
            for (index, json) in required.enumerated() {
                try connection.query(
                    """
                    INSERT INTO career_milestones (milestone_id, path_id, title, order_sequence, required_skills)
                    VALUES ($1, $2, 'M', $3, $4::json)
                    """,
                    [seed.milestones[index], seed.path, index + 1, json]
                )
            }
            try connection.query(
                """
                INSERT INTO career_milestones (milestone_id, path_id, title, order_sequence, required_skills)
                VALUES ($1, $2, 'Anything', 1, '[]'::json)
                """,
                [seed.milestones[3], seed.otherPath]
            )
        }
        return seed
    }

    func progressRows(_ world: World, user: String) async throws -> [String: (Int, String?, String)] {
        var rows: [String: (Int, String?, String)] = [:]
        for row in try await world.postgres.query(
            "SELECT path_id, completion_percentage, current_milestone_id, status FROM user_career_progress WHERE user_id = $1",
            [user]
        ) {
            rows[row["path_id"] ?? ""] = (
                row.int("completion_percentage") ?? -1, row["current_milestone_id"], row["status"] ?? ""
            )
        }
        return rows
    }

    @Test func progressFollowsTheVerifiedScores() async throws {
        let world = try await World()
        let seed = try await seedCareer(world)
        // python 6.0 (meets 5), sql 7.4 (misses 7.5), swift 9.0.
        for (skill, score) in [(seed.python, 60), (seed.sql, 74), (seed.swift, 90)] {
            try await run(world.assessments, assessment(user: seed.user, skill: skill, "technical_assessment", score))
        }
        let recalculate = { (path: String?) in
            var payload: [String: JSONValue] = ["user_id": .string(seed.user)]
            if let path { payload["path_id"] = .string(path) }
            return envelope("career.progress.recalculate", payload)
        }
        #expect(try await run(world.career, recalculate(seed.path)) == .applied)
        var rows = try await progressRows(world, user: seed.user)
        #expect(rows.count == 1)
        let row = try #require(rows[seed.path])
        #expect(row.0 == 67 && row.1 == seed.milestones[1] && row.2 == "in_progress", "2 of 3, the sql one is next")

        // The same job again computes again (no ledger) and still keeps one row.
        let again = recalculate(seed.path)
        try await run(world.career, again)
        try await run(world.career, again)
        #expect(try await world.postgres.query("SELECT count(*) AS n FROM user_career_progress").first?.int("n") == 1)

        // sql reaches 7.5 → every milestone complete; the other path is joined and recalculated.
        try await run(world.assessments, assessment(user: seed.user, skill: seed.sql, "technical_assessment", 76))
        try await run(world.career, recalculate(seed.otherPath))
        #expect(try await run(world.career, recalculate(nil)) == .applied, "all of the user's paths")
        rows = try await progressRows(world, user: seed.user)
        #expect(rows[seed.path].map { $0.0 == 100 && $0.1 == nil && $0.2 == "completed" } == true)
        #expect(rows[seed.otherPath].map { $0.0 == 100 && $0.1 == nil && $0.2 == "completed" } == true)
        let started = try await world.postgres.query(
            "SELECT count(*) AS n FROM user_career_progress WHERE start_date IS NOT NULL AND progress_id IS NOT NULL"
        )
        #expect(started.first?.int("n") == 2)
        await world.tearDown()
    }

    @Test func unknownUsersPathsAndBadMilestonesAreDeadLettered() async throws {
        let world = try await World()
        let seed = try await seedCareer(world)
        func reason(_ payload: [String: JSONValue]) async -> String? {
            do {
                try await run(world.career, envelope("career.progress.recalculate", payload))
                return nil
            } catch let error as JobError {
                #expect(error.kind == .permanent)
                return error.reason
            } catch {
                return "\(error)"
            }
        }
        let nobody = UUID().uuidString.lowercased()
        #expect(await reason(["user_id": .string(nobody)]) == "unknown_user")
        #expect(await reason(["user_id": .string(nobody), "path_id": .string(seed.path)]) == "unknown_user")
        #expect(await reason(["user_id": .string(seed.user), "path_id": .string(nobody)]) == "unknown_path")
        try await world.postgres.query(
            "UPDATE career_milestones SET required_skills = '{\"skill_id\": 1}'::json WHERE milestone_id = $1",
            [seed.milestones[2]]
        )
        let error = await #expect(throws: JobError.self) {
            try await run(
                world.career,
                envelope("career.progress.recalculate", ["user_id": .string(seed.user), "path_id": .string(seed.path)])
            )
        }
        #expect(error?.reason == "invalid_milestone")
        #expect(error?.message.contains(seed.milestones[2]) == true)
        #expect(try await world.postgres.query("SELECT 1 FROM user_career_progress").isEmpty, "rolled back")
        await world.tearDown()
    }
}
