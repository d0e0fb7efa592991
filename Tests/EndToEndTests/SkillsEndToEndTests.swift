import AMQP
import FleetContract
import FleetCore
import FleetJobs
import Foundation
import MongoDB
import Postgres
import Redis
import Testing

/// `assessment.score` through RabbitMQ with the `skills` worker, its follow-ups through the
/// `profile` and `career` workers, and hostile payloads dead-lettered before MongoDB is touched.
@Suite("Skills and career end to end", .serialized)
struct SkillsEndToEndTests {
    static let users = 20
    static let skills = (1...5).map { String(format: "65a0000000000000000000%02x", $0) }
    static let traceparent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
    /// Their queues are declared: the follow-ups of the skills worker need fleet.profile and fleet.career.
    static let workers = ["skills", "profile", "career"]

    /// 500 assessments, 25 per user over its 5 skills: two in three technical; every fifth job is
    /// published twice with the same bytes.
    struct Workload {
        var envelopes: [JobEnvelope] = []
        var duplicates: [JobEnvelope] = []

        init(users: [String]) {
            for index in 0..<500 {
                let technical = index % 3 != 2
                let score = technical ? (index * 37 + 11) % 101 : 1 + (index * 7) % 10
                let envelope = JobEnvelope(
                    id: UUID().uuidString.lowercased(),
                    type: "assessment.score",
                    createdAt: Date(),
                    payload: [
                        "user_id": .string(users[index % users.count]),
                        "skill_id": .string(SkillsEndToEndTests.skills[(index / SkillsEndToEndTests.users) % 5]),
                        "type": .string(technical ? "technical_assessment" : "self_assessment"),
                        "score": .integer(Int64(score)),
                    ]
                )
                envelopes.append(envelope)
                if index % 5 == 0 { duplicates.append(envelope) }
            }
        }

        /// user → skill → technical scores of the distinct jobs.
        var technicalScores: [String: [String: [Int]]] {
            var scores: [String: [String: [Int]]] = [:]
            for envelope in envelopes where envelope.payload["type"] == .string("technical_assessment") {
                guard case .string(let user)? = envelope.payload["user_id"],
                    case .string(let skill)? = envelope.payload["skill_id"],
                    case .integer(let score)? = envelope.payload["score"]
                else { continue }
                scores[user, default: [:]][skill, default: []].append(Int(score))
            }
            return scores
        }
    }

    /// Career path with three milestones over the five skills; each of the users is on it.
    struct CareerSeed {
        let path = UUID().uuidString.lowercased()
        let unjoinedPath = UUID().uuidString.lowercased()
        let milestones: [CareerMilestone] = [
            CareerMilestone(
                milestoneId: UUID().uuidString.lowercased(),
                order: 1,
                requirements: [.init(skillId: skills[0], minTenths: 30)]
            ),
            CareerMilestone(
                milestoneId: UUID().uuidString.lowercased(),
                order: 2,
                requirements: [.init(skillId: skills[1], minTenths: 50), .init(skillId: skills[2], minTenths: 45)]
            ),
            CareerMilestone(
                milestoneId: UUID().uuidString.lowercased(),
                order: 3,
                requirements: [.init(skillId: skills[3], minTenths: 60), .init(skillId: skills[4], minTenths: 70)]
            ),
        ]

        func insert(into postgres: PostgresClient) async throws {
            let milestones = self.milestones
            let (path, unjoinedPath) = (self.path, self.unjoinedPath)
            try await postgres.withTransaction { connection in
                for id in [path, unjoinedPath] {
                    try connection.query("INSERT INTO career_paths (path_id, title) VALUES ($1, 'Backend')", [id])
                }
                for milestone in milestones {
                    let required = milestone.requirements.map { requirement in
                        let score = String(format: "%.1f", Double(requirement.minTenths) / 10)
                        return #"{"skill_id": "\#(requirement.skillId)", "min_score": \#(score)}"#
                    }
                    try connection.query(
                        """
                        INSERT INTO career_milestones (milestone_id, path_id, title, order_sequence, required_skills)
                        VALUES ($1, $2, 'Milestone', $3, $4::json)
                        """,
                        [milestone.milestoneId, path, milestone.order, "[\(required.joined(separator: ","))]"]
                    )
                }
                // The users joined the path (the API creates these rows); follow-ups recalculate them.
                try connection.query(
                    """
                    INSERT INTO user_career_progress (progress_id, user_id, path_id, start_date, completion_percentage,
                                                      status)
                    SELECT gen_random_uuid(), user_id, $1, now(), 0, 'in_progress' FROM users
                    """,
                    [path]
                )
            }
        }
    }

    func publish(_ envelopes: [JobEnvelope], in environment: FleetTestEnvironment) async throws {
        let (producer, stores) = environment.producer()
        try await withThrowingTaskGroup(of: Void.self) { group in
            for chunk in stride(from: 0, to: envelopes.count, by: 100) {
                let slice = envelopes[chunk..<min(chunk + 100, envelopes.count)]
                group.addTask {
                    for envelope in slice {
                        try await producer.publish(
                            envelope: envelope,
                            body: envelope.encoded(),
                            traceparent: Self.traceparent
                        )
                    }
                }
            }
            try await group.waitForAll()
        }
        await producer.shutdown()
        await stores.shutdown()
    }

    func userSkills(_ environment: FleetTestEnvironment) async throws -> [String: BSONDocument] {
        let documents = try await environment.mongodb.withConnection { connection in
            try connection.collection("user_skills").find()
        }
        var byUser: [String: BSONDocument] = [:]
        for document in documents { byUser[document["user_id"]?.stringValue ?? ""] = document }
        return byUser
    }

    /// Users of this test only (the profile cache in Redis is shared with other tests): a first name,
    /// and a last name for every other one.
    static func seedUsers(_ postgres: PostgresClient) async throws -> [String] {
        let users = (0..<Self.users).map { _ in UUID().uuidString.lowercased() }
        try await postgres.withTransaction { connection in
            for (index, user) in users.enumerated() {
                try connection.query(
                    "INSERT INTO users (user_id, email, password_hash, first_name, last_name) VALUES ($1, $2, 'x', 'Ada', $3)",
                    [user, "\(user)@example.com", index % 2 == 0 ? "Lovelace" : nil]
                )
            }
        }
        return users
    }

    /// 10 per present item: first name, last name of every other user, and the skills item.
    static func profilePercentage(user index: Int) -> Int { index % 2 == 0 ? 30 : 20 }

    @Test("500 assessments, 20% twice: each counted once, follow-ups update profile and career progress")
    func assessmentsAreAppliedOnceAndFollowedUp() async throws {
        let environment = try await FleetTestEnvironment.make("skills", workers: Self.workers)
        let users = try await Self.seedUsers(environment.postgres)
        let career = CareerSeed()
        try await career.insert(into: environment.postgres)
        let workers = try Self.workers.map { try environment.startWorker($0) }
        let workload = Workload(users: users)
        try await publish(workload.envelopes + workload.duplicates, in: environment)

        try await environment.waitUntil("one history entry per distinct job") {
            let documents = try await userSkills(environment)
            return documents.values.reduce(0) { $0 + ($1["assessment_history"]?.arrayValue?.count ?? 0) } == 500
        }
        let documents = try await userSkills(environment)
        #expect(documents.count == Self.users)
        var expectedTenths: [String: [String: Int]] = [:]
        for (user, scores) in workload.technicalScores {
            let document = try #require(documents[user])
            let history = document["assessment_history"]?.arrayValue?.compactMap(\.documentValue) ?? []
            #expect(history.count == 25, "user \(user)")
            let keys = Set(history.compactMap { $0["job_key"]?.stringValue })
            #expect(keys.count == 25, "one entry per distinct job of user \(user)")
            for (skill, values) in scores {
                // The mean of the distinct jobs' scores over 10, half away from zero, in integers.
                let tenths = (2 * values.reduce(0, +) + values.count) / (2 * values.count)
                expectedTenths[user, default: [:]][skill] = tenths
                let entry = document["skills"]?.arrayValue?.compactMap(\.documentValue).first {
                    $0["skill_id"] == .objectId(try! ObjectId(hex: skill))
                }
                #expect(entry?["verified_score"] == .double(Double(tenths) / 10), "user \(user) skill \(skill)")
                let level = tenths < 40 ? "beginner" : tenths < 75 ? "intermediate" : "advanced"
                #expect(entry?["level"] == .string(level), "user \(user) skill \(skill)")
            }
        }

        // Follow-ups: the skills item counts in the profile, and progress follows the verified scores.
        try await environment.waitUntil("profiles include the skills item") {
            for (index, user) in users.enumerated() {
                let stored = try await environment.count(
                    "SELECT profile_completion_percentage AS n FROM users WHERE user_id = $1",
                    [user]
                )
                if stored != Self.profilePercentage(user: index) { return false }
            }
            return true
        }
        var expectedProgress: [String: CareerProgress] = [:]
        for user in users {
            expectedProgress[user] = CareerProgress.compute(
                milestones: career.milestones,
                verifiedTenths: expectedTenths[user] ?? [:]
            )
        }
        #expect(Set(expectedProgress.values.map(\.completionPercentage)).count > 1, "a workload with variety")
        try await environment.waitUntil("career progress computed from the final scores", timeout: .seconds(180)) {
            let rows = try await environment.postgres.query(
                """
                SELECT user_id, completion_percentage, current_milestone_id, status FROM user_career_progress
                WHERE path_id = $1
                """,
                [career.path]
            )
            return rows.count == Self.users
                && rows.allSatisfy { row in
                    let expected = expectedProgress[row["user_id"] ?? ""]
                    return expected?.completionPercentage == row.int("completion_percentage")
                        && expected?.currentMilestoneId == row["current_milestone_id"]
                        && expected?.status == row["status"]
                }
        }
        #expect(
            try await environment.count("SELECT count(*) AS n FROM user_career_progress") == Self.users,
            "a path nobody joined gets no rows"
        )
        for queue in ["fleet.skills", "fleet.profile", "fleet.career"] {
            #expect(try await environment.queueDepth("\(queue).dlq") == 0, "\(queue)")
        }
        for worker in workers { await worker.stop() }
        let redis = RedisClient(configuration: environment.configuration.redis)
        let cache = RedisCache(client: redis, prefix: ProfileCompletionRecalculateHandler.cachePrefix)
        #expect(try await cache.get(users[0]) == "30", "the profile cache has the skills item too")
        try await cache.invalidate(users.flatMap { [$0, $0 + ":version"] })
        await redis.shutdown()
        await environment.tearDown()
    }

    @Test("Hostile assessments are dead-lettered untouched; a valid one's follow-ups carry its traceparent")
    func hostileInputAndTraceparent() async throws {
        let environment = try await FleetTestEnvironment.make("skills_hostile", workers: Self.workers)
        let worker = try environment.startWorker("skills")
        let user = UUID().uuidString.lowercased()
        let valid: [String: JSONValue] = [
            "user_id": .string(user), "skill_id": .string(Self.skills[0]), "type": .string("technical_assessment"),
            "score": .integer(80),
        ]
        let hostile: [[String: JSONValue]] = [
            ["skill_id": .string("not-an-object-id")],
            ["skill_id": .string("$where")],
            ["skill_id": .object(["$gt": .string("")])],
            ["user_id": .object(["$gt": .string("")])],
            ["user_id": .string("$where")],
            ["user_id": .string(String(repeating: "u", count: 100 * 1024))],
            ["skill_id": .string(String(repeating: "a", count: 100 * 1024))],
            ["type": .string("$where")],
            ["score": .string("80")],
            ["score": .integer(101)],
            ["type": .string("self_assessment"), "score": .integer(0)],
            ["score": .number(79.5)],
        ].map { valid.merging($0) { $1 } }
        for payload in hostile {
            let envelope = JobEnvelope(
                id: UUID().uuidString.lowercased(),
                type: "assessment.score",
                createdAt: Date(),
                payload: payload
            )
            try await environment.publishRaw(envelope.encoded(), to: "fleet.skills", type: envelope.type)
        }
        let (producer, stores) = environment.producer()
        let parent = try await producer.enqueue(
            type: "assessment.score",
            payload: valid,
            idempotencyKey: "exam-\(user)",
            traceparent: Self.traceparent
        )
        try await environment.waitUntil("hostile jobs dead-lettered, the valid one followed up") {
            let dead = try await environment.queueDepth("fleet.skills.dlq")
            let profile = try await environment.queueDepth("fleet.profile")
            let career = try await environment.queueDepth("fleet.career")
            return dead == UInt32(hostile.count) && profile == 1 && career == 1
        }
        let deadLetters = try await environment.deadLetters("fleet.skills")
        #expect(deadLetters.count == hostile.count)
        #expect(deadLetters.allSatisfy { $0.reason == "invalid_payload" && $0.attempts <= 1 })
        #expect(deadLetters.allSatisfy { ($0.error?.count ?? 0) < 500 }, "errors do not echo the values")
        let documents = try await userSkills(environment)
        #expect(documents.count == 1, "only the valid job wrote")
        #expect(documents[user]?["assessment_history"]?.arrayValue?.count == 1)

        for (queue, type, suffix) in [
            ("fleet.profile", "profile.completion.recalculate", "profile"),
            ("fleet.career", "career.progress.recalculate", "career"),
        ] {
            let delivery = try await AMQPConnection.withDedicatedThread(environment.configuration.amqp) {
                try $0.get(queue: queue)
            }
            let message = try #require(delivery)
            #expect(message.properties.headers[FleetHeaders.traceparent]?.string == Self.traceparent)
            #expect(message.properties.type == type)
            #expect(message.properties.deliveryMode == 2)
            guard case .object(let body) = try JSONParser.parse(message.body) else {
                Issue.record("not a JSON object")
                continue
            }
            #expect(body["idempotency_key"] == .string("\(parent.deduplicationKey)/\(suffix)"))
            #expect(body["payload"] == .object(["user_id": .string(user)]))
        }
        await worker.stop()
        await producer.shutdown()
        await stores.shutdown()
        await environment.tearDown()
    }
}
