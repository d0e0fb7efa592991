import FleetApp
import FleetContract
import FleetCore
import FleetJobs
import FleetOutbox
import FleetStoreKit
import Foundation
import Logging
import MongoDB
import Postgres
import Redis
import Testing

/// The domain roles `fleet migrate` creates (`PostgresRoles`), on a database of the test's own: each
/// role logs in and runs its own job's statements (the real handlers), and the server refuses it
/// another domain's tables and ledger rows. Roles belong to the whole server, so every run sets the
/// same five roles' passwords again; their grants are per database.
// Serialized: both tests touch the same server-wide roles (the first gives them LOGIN).
@Suite("PostgreSQL domain roles", .serialized)
struct PostgresRolesTests {
    static let logger = Logger(label: "pg-roles-test")

    @Test("Each domain role runs its job's statements and cannot write another domain's tables")
    func rolesRunTheirJobsOnly() async throws {
        try await FreshDatabase.with("it_roles") { owner, _ in
            let passwords = Dictionary(
                uniqueKeysWithValues: PostgresRoles.roles.map { ($0.name, "pw-\(UInt64.random(in: 0...UInt64.max))") }
            )
            let applied = try await PostgresRoles.apply(owner, passwords: passwords)
            #expect(applied.map(\.role) == PostgresRoles.roles.map(\.name))
            #expect(applied.allSatisfy { $0.login })
            let seed = try await Seed.insert(owner)

            try await Self.withRole("fleet_learning", owner: owner, passwords: passwords) { learning in
                let handler = EnrollmentUpdateHandler(postgres: learning)
                let outcome = try await Self.run(
                    handler,
                    type: EnrollmentUpdate.jobType,
                    ["user_id": .string(seed.user), "course_id": .string(seed.course), "action": .string("enroll")]
                )
                #expect(outcome == .applied)
                try await Self.expectDenied(learning, "UPDATE users SET profile_completion_percentage = 1")
                try await Self.expectDenied(learning, "SELECT email, password_hash FROM users")
                try await Self.expectDenied(learning, "UPDATE user_career_progress SET status = 'x'")
                try await Self.expectDenied(learning, "SELECT * FROM fleet_outbox")
                try await Self.expectDenied(learning, "CREATE TABLE intruder (id INT)")
                // The shared ledger: another domain's rows are invisible and cannot be written.
                try await Self.expectDenied(
                    learning,
                    """
                    INSERT INTO fleet_applied_jobs (job_type, dedup_key, job_id, applied_at)
                    VALUES ('profile.completion.recalculate', 'forged', gen_random_uuid(), now())
                    """
                )
            }
            try await Self.withRole("fleet_profile", owner: owner, passwords: passwords) { profile in
                let mongodb = try Self.mongo()
                let redis = RedisClient(
                    configuration: try RedisConfiguration(
                        url: ProcessInfo.processInfo.environment["FLEET_REDIS_URL"]
                            ?? FleetConfiguration.defaultRedisURL
                    ),
                    maxConnections: 1
                )
                let handler = ProfileCompletionRecalculateHandler(
                    postgres: profile,
                    redis: redis,
                    skills: MongoSkillsSource(mongodb: mongodb)
                )
                let outcome = try await Self.run(
                    handler,
                    type: ProfileCompletionRecalculate.jobType,
                    ["user_id": .string(seed.user)]
                )
                await redis.shutdown()
                await mongodb.shutdown()
                #expect(outcome == .applied)
                // It sees the ledger rows of its own type only: the learning job's row is not there.
                #expect(
                    try await profile.query("SELECT job_type FROM fleet_applied_jobs").map { $0["job_type"] } == [
                        ProfileCompletionRecalculate.jobType
                    ]
                )
                try await Self.expectDenied(profile, "UPDATE courses SET total_enrollments = 0")
                try await Self.expectDenied(profile, "UPDATE users SET email = 'x@example.com'")
                try await Self.expectDenied(
                    profile,
                    "INSERT INTO user_courses (enrollment_id) VALUES (gen_random_uuid())"
                )
            }
            try await Self.withRole("fleet_career", owner: owner, passwords: passwords) { career in
                let mongodb = try Self.mongo()
                let handler = CareerProgressRecalculateHandler(postgres: career, mongodb: mongodb)
                let outcome = try await Self.run(
                    handler,
                    type: CareerProgressRecalculate.jobType,
                    ["user_id": .string(seed.user), "path_id": .string(seed.path)]
                )
                await mongodb.shutdown()
                #expect(outcome == .applied)
                try await Self.expectDenied(career, "UPDATE user_courses SET status = 'dropped'")
                try await Self.expectDenied(career, "SELECT * FROM fleet_applied_jobs")
            }
            try await Self.withRole("fleet_scheduler", owner: owner, passwords: passwords) { scheduler in
                let ledger = ScheduleLedger(holder: "roles-test", leaseTTL: .seconds(30))
                let schedule = Schedule(
                    name: "roles-test",
                    cron: try CronExpression("* * * * *"),
                    timeZone: .gmt,
                    jobType: MaintenanceRun.jobType,
                    payload: [:],
                    missed: .skip
                )
                let result = try await scheduler.withConnection { connection -> ScheduleLedger.TickResult in
                    let token = try #require(try ledger.acquire(on: connection))
                    return try ledger.enqueue(schedule, tick: Date(), token: token, on: connection)
                }
                guard case .enqueued = result else {
                    Issue.record("tick not enqueued: \(result)")
                    return
                }
                try await Self.expectDenied(scheduler, "SELECT * FROM users")
                try await Self.expectDenied(scheduler, "DELETE FROM fleet_applied_jobs")
            }
            try await Self.withRole("fleet_ops", owner: owner, passwords: passwords) { ops in
                // The maintenance pass over every type's ledger rows and the sent outbox rows.
                let pruned = try await PostgresJobLedger.prune(
                    ops,
                    jobType: EnrollmentUpdate.jobType,
                    olderThan: Date()
                )
                #expect(pruned == 1)
                try await Self.expectDenied(ops, "UPDATE users SET first_name = 'x'")
                try await Self.expectDenied(ops, "DELETE FROM users")
            }
        }
    }

    @Test("Re-running the roles pass changes no grant, policy or role")
    func applyingTwiceChangesNothing() async throws {
        try await FreshDatabase.with("it_roles_again") { owner, _ in
            _ = try await PostgresRoles.apply(owner, passwords: [:])
            let before = try await Self.privileges(owner)
            let again = try await PostgresRoles.apply(owner, passwords: [:])
            #expect(again.allSatisfy { !$0.created })
            #expect(try await Self.privileges(owner) == before)
            // Something to compare: every role holds grants, and the ledger has its policies.
            #expect(before.filter { $0.hasPrefix("table ") }.count > 10)
            #expect(before.filter { $0.hasPrefix("policy ") }.count == 3)
        }
    }

    /// Every grant and ledger policy the domain roles hold in this database, and their attributes
    /// (but LOGIN, which another test's pass with passwords may give them meanwhile).
    static func privileges(_ client: PostgresClient) async throws -> [String] {
        let roles = PostgresRoles.roles.map(\.name)
        let tables = try await client.query(
            """
            SELECT 'table ' || grantee || ' ' || table_name || ' ' || privilege_type AS line
            FROM information_schema.role_table_grants WHERE grantee = ANY($1::text[])
            UNION ALL
            SELECT 'column ' || grantee || ' ' || table_name || '.' || column_name || ' ' || privilege_type
            FROM information_schema.column_privileges WHERE grantee = ANY($1::text[])
            UNION ALL
            SELECT 'sequence ' || grantee || ' ' || object_name || ' ' || privilege_type
            FROM information_schema.usage_privileges WHERE grantee = ANY($1::text[])
            UNION ALL
            SELECT 'policy ' || polname || ' ' || pg_get_expr(polqual, polrelid) FROM pg_policy
            UNION ALL
            SELECT 'role ' || rolname || ' ' || rolcreatedb || ' ' || rolcreaterole || ' ' || rolsuper
            FROM pg_roles WHERE rolname = ANY($1::text[])
            """,
            ["{\(roles.joined(separator: ","))}"]
        )
        return tables.compactMap { $0["line"] }.sorted()
    }

    /// Rows of the seed's tables the jobs need, written by the owner.
    struct Seed {
        let user: String
        let course: String
        let path: String

        static func insert(_ owner: PostgresClient) async throws -> Seed {
            let seed = Seed(
                user: UUID().uuidString.lowercased(),
                course: UUID().uuidString.lowercased(),
                path: UUID().uuidString.lowercased()
            )
            try await owner.query(
                "INSERT INTO users (user_id, email, password_hash, first_name) VALUES ($1, $2, 'x', 'Ada')",
                [seed.user, "\(seed.user)@example.com"]
            )
            try await owner.query(
                "INSERT INTO user_profiles (profile_id, user_id, headline) VALUES (gen_random_uuid(), $1, 'Engineer')",
                [seed.user]
            )
            try await owner.query("INSERT INTO courses (course_id, title) VALUES ($1, 'Swift')", [seed.course])
            try await owner.query("INSERT INTO career_paths (path_id, title) VALUES ($1, 'iOS')", [seed.path])
            try await owner.query(
                """
                INSERT INTO career_milestones (milestone_id, path_id, title, order_sequence, required_skills)
                VALUES (gen_random_uuid(), $1, 'Basics', 1, '[]')
                """,
                [seed.path]
            )
            return seed
        }
    }

    static func run<Handler: JobHandler>(
        _ handler: Handler,
        type: String,
        _ payload: [String: JSONValue]
    ) async throws -> JobOutcome {
        let envelope = JobEnvelope(id: UUID().uuidString.lowercased(), type: type, createdAt: Date(), payload: payload)
        let parsed = try handler.parse(FieldReader(payload: envelope.payload), version: 1)
        return try await handler.handle(
            parsed,
            context: JobContext(envelope: envelope, attempt: 1, traceparent: nil, logger: logger)
        )
    }

    /// A client logged in as `role` to the owner's database; closed before the database is dropped.
    static func withRole(
        _ role: String,
        owner: PostgresClient,
        passwords: [String: String],
        _ body: (PostgresClient) async throws -> Void
    ) async throws {
        var configuration = owner.configuration
        configuration.user = role
        configuration.password = passwords[role]
        let client = PostgresClient(configuration: configuration, maxConnections: 2)
        var failure: Error?
        do {
            #expect(try await client.query("SELECT current_user AS me").first?["me"] == role)
            try await body(client)
        } catch { failure = error }
        await client.shutdown()
        if let failure { throw failure }
    }

    /// The statement fails with 42501 (insufficient privilege or a row-level security violation).
    static func expectDenied(_ client: PostgresClient, _ sql: String) async throws {
        do {
            try await client.query(sql)
            Issue.record("allowed: \(sql)")
        } catch let error as PostgresError {
            #expect(error.sqlState == "42501", "\(sql): \(error)")
        }
    }

    static func mongo() throws -> MongoClient {
        var configuration = try MongoConfiguration(
            url: ProcessInfo.processInfo.environment["FLEET_MONGODB_URL"] ?? FleetConfiguration.defaultMongoDBURL
        )
        // Never written: the handlers only read skills, and find none.
        configuration.database = "it_roles_\(UInt32.random(in: 0...UInt32.max))"
        return MongoClient(configuration: configuration, maxConnections: 1)
    }
}
