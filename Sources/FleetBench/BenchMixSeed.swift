import Bolt
import FleetApp
import FleetCore
import FleetJobs
import FleetStoreKit
import Foundation
import MongoDB
import Postgres
import Redis

/// The store clients the suite itself uses for workloads C and hot (the workers have their own).
/// Opened for one step and closed after it: the suite seeds, resets and checks a few times per run.
struct BenchDomainStores: Sendable {
    let postgres: PostgresClient
    let mongodb: MongoClient
    let graph: BoltClient
    let redis: RedisClient
    let configuration: FleetConfiguration

    static func with<T: Sendable>(
        _ configuration: FleetConfiguration,
        postgres: PostgresClient,
        _ body: (BenchDomainStores) async throws -> T
    ) async throws -> T {
        let stores = BenchDomainStores(
            postgres: postgres,
            mongodb: MongoClient(configuration: configuration.mongodb, maxConnections: 2),
            graph: BoltClient(configuration: configuration.bolt, maxConnections: 2),
            redis: RedisClient(configuration: configuration.redis, maxConnections: 2),
            configuration: configuration
        )
        do {
            let result = try await body(stores)
            await stores.close()
            return result
        } catch {
            await stores.close()
            throw error
        }
    }

    private func close() async {
        await mongodb.shutdown()
        await graph.shutdown()
        await redis.shutdown()
    }

    /// Every store's migrations (each is idempotent).
    func migrate() async throws {
        _ = try await PostgresMigrations.migrate(postgres)
        _ = try await MongoMigrations.migrate(mongodb, recordingIn: postgres)
        _ = try await GraphMigrations.migrate(graph, graphRedis: configuration.graphRedis, recordingIn: postgres)
    }

    /// Deletes every graph node of one run (events, users, mentors, applied-job records, early cancels).
    func deleteGraph(prefix: String) async throws {
        for query in [
            "MATCH (n:Event) WHERE n.event_id STARTS WITH $prefix DETACH DELETE n",
            "MATCH (n:User) WHERE n.user_id STARTS WITH $prefix DETACH DELETE n",
            "MATCH (n:Mentor) WHERE n.user_id STARTS WITH $prefix DETACH DELETE n",
            "MATCH (n:\(NetworkingGraph.registrationCancelsLabel)) WHERE n.key STARTS WITH $prefix DETACH DELETE n",
            "MATCH (n:\(GraphJobClaim.appliedJobLabel)) WHERE n.key CONTAINS $prefix DETACH DELETE n",
        ] {
            _ = try await graph.run(query, parameters: ["prefix": .string(prefix)])
        }
    }

    /// One event node with `capacity` seats (as a platform's event service would create it).
    func createEvent(_ eventId: String, capacity: Int, title: String) async throws {
        _ = try await graph.run(
            """
            MERGE (e:Event {event_id: $event_id})
            ON CREATE SET e.title = $title, e.type = 'webinar', e.max_participants = $capacity
            """,
            parameters: [
                "event_id": .string(eventId), "title": .string(title), "capacity": .integer(Int64(capacity)),
            ]
        )
    }
}

/// The seeded profile of mix user `index`: which of the ten profile-completion items it has (the
/// tenth, a skill, comes from its assessments). Varied so percentages differ between users.
struct BenchProfileSeed: Sendable {
    var lastName: String?
    var headline: String?
    var summary: String?
    var currentPosition: String?
    var githubURL: String?
    var preferredWorkType: String?

    init(_ index: Int) {
        lastName = index % 2 == 0 ? "Number \(index)" : nil
        headline = index % 3 == 0 ? "Engineer" : nil
        summary = index % 6 == 1 ? "Builds backends" : nil
        currentPosition = index % 5 == 0 ? "Developer" : nil
        githubURL = index % 4 == 0 ? "https://github.com/u\(index)" : nil
        preferredWorkType = index % 7 == 0 ? "remote" : nil
    }

    /// Present items × 10: first name, years of experience and location are always seeded.
    func percentage(hasSkills: Bool) -> Int {
        let optional = [lastName, headline, summary, currentPosition, githubURL, preferredWorkType]
        return 10 * (3 + optional.compactMap { $0 }.count + (hasSkills ? 1 : 0))
    }
}

extension BenchMix {
    /// Once per suite: users with profiles, courses, career paths with milestones over the mix's
    /// skills. Earlier suites' rows go first (the bench's database is its own), so they do not pile up.
    func seed(_ stores: BenchDomainStores) async throws {
        try await stores.postgres.withTransaction { connection in
            try connection.execute(
                script: """
                    TRUNCATE users, user_profiles, courses, user_courses, career_paths, career_milestones,
                        user_career_progress, fleet_enrollment_histories, fleet_applied_jobs CASCADE
                    """
            )
            for index in 0..<Self.users {
                let profile = BenchProfileSeed(index)
                try connection.query(
                    """
                    INSERT INTO users (user_id, email, password_hash, first_name, last_name)
                    VALUES ($1, $2, 'x', 'User', $3) ON CONFLICT (user_id) DO NOTHING
                    """,
                    [userId(index), "bench-\(namespace)-\(index)@example.com", profile.lastName]
                )
                try connection.query(
                    """
                    INSERT INTO user_profiles (profile_id, user_id, headline, summary, current_position,
                        years_of_experience, location, github_url, preferred_work_type)
                    SELECT gen_random_uuid(), $1, $2, $3, $4, $5, 'Berlin', $6, $7
                    WHERE NOT EXISTS (SELECT 1 FROM user_profiles WHERE user_id = $1)
                    """,
                    [
                        userId(index), profile.headline, profile.summary, profile.currentPosition, index % 5,
                        profile.githubURL, profile.preferredWorkType,
                    ]
                )
            }
            for index in 0..<Self.courses {
                try connection.query(
                    """
                    INSERT INTO courses (course_id, title, provider) VALUES ($1, $2, 'WorkerFleet Academy')
                    ON CONFLICT (course_id) DO NOTHING
                    """,
                    [courseId(index), "Course \(index)"]
                )
            }
            for path in 0..<Self.paths {
                try connection.query(
                    """
                    INSERT INTO career_paths (path_id, title, industry) VALUES ($1, $2, 'Software')
                    ON CONFLICT (path_id) DO NOTHING
                    """,
                    [pathId(path), "Path \(path)"]
                )
                for milestone in 0..<Self.milestonesPerPath {
                    let required = Self.requirements(path: path, milestone: milestone).map {
                        #"{"skill_id": "\#(skillId($0.skill))", "min_score": \#($0.minScore)}"#
                    }
                    try connection.query(
                        """
                        INSERT INTO career_milestones (milestone_id, path_id, title, order_sequence, required_skills)
                        VALUES ($1, $2, $3, $4, $5::json) ON CONFLICT (milestone_id) DO NOTHING
                        """,
                        [
                            milestoneId(path: path, milestone), pathId(path), "Milestone \(milestone + 1)",
                            milestone + 1, "[\(required.joined(separator: ", "))]",
                        ]
                    )
                }
            }
        }
    }

    /// Before each run: the state the mix's jobs write, back to what it was seeded as, and this run's
    /// graph events. Only the mix's own entities are touched in the shared stores.
    func reset(_ plan: BenchMixPlan, _ stores: BenchDomainStores) async throws {
        try await stores.postgres.withConnection { connection in
            try connection.execute(
                script: """
                    TRUNCATE fleet_applied_jobs, user_courses, fleet_enrollment_histories, user_career_progress;
                    UPDATE courses SET total_enrollments = 0;
                    UPDATE users SET profile_completion_percentage = -1;
                    """
            )
        }
        let users = (0..<Self.users).map { BSONValue.string(userId($0)) }
        let skills = try (0..<Self.skills).map { BSONValue.objectId(try ObjectId(hex: skillId($0))) }
        let contents = try (0..<Self.contents).map { BSONValue.objectId(try ObjectId(hex: contentId($0))) }
        let created = Date()
        try await stores.mongodb.withConnection { connection in
            for chunk in stride(from: 0, to: users.count, by: 500) {
                _ = try connection.collection(UserSkillsDocument.collection)
                    .deleteMany(["user_id": ["$in": .array(Array(users[chunk..<min(chunk + 500, users.count)]))]])
            }
            _ = try connection.collection(JobMarketTrendIngestHandler.collection)
                .deleteMany(["skill_id": ["$in": .array(skills)]])
            let content = connection.collection("content")
            _ = try content.deleteMany(["_id": ["$in": .array(contents)]])
            _ = try content.insertMany(
                contents.enumerated().map { index, id in
                    [
                        "_id": id, "type": "article", "title": .string("Bench article \(index)"), "status": "draft",
                        "created_at": BSONValue(created), "updated_at": BSONValue(created),
                    ]
                }
            )
        }
        // Cached profile values go (the check wants this run's), cached content entries come back so
        // the check can see that the content jobs invalidated them.
        var commands: [[String]] = (0..<Self.users).flatMap { index in
            [["DEL", ProfileCompletionRecalculateHandler.cachePrefix + userId(index)]]
        }
        for index in 0..<Self.contents {
            let key = ContentCache.prefix + contentId(index)
            commands.append(["SET", key, "cached", "EX", "3600"])
            commands.append(["SET", key + ":summary", "cached", "EX", "3600"])
            commands.append(["DEL", key + ":keys"])
            commands.append(["SADD", key + ":keys", key + ":summary"])
        }
        for chunk in stride(from: 0, to: commands.count, by: 500) {
            _ = try await stores.redis.pipeline(Array(commands[chunk..<min(chunk + 500, commands.count)]))
        }
        try await stores.deleteGraph(prefix: runPrefix(plan.run))
        for event in 0..<plan.events {
            try await stores.createEvent(eventId(run: plan.run, event), capacity: plan.capacity, title: "Bench event")
        }
    }
}
