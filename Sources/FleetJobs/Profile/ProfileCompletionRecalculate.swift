import FleetCore
import Postgres
import Redis

/// `profile.completion.recalculate` `{user_id}` → PostgreSQL `users.profile_completion_percentage`,
/// cached in Redis under `profile_completion:<user_id>`.
///
/// The cache is refreshed after every run, including a duplicate that changes nothing in
/// PostgreSQL: so a run whose Redis write failed is repaired by its retry.
public struct ProfileCompletionRecalculateHandler: JobHandler {
    public static let jobType = "profile.completion.recalculate"
    public static let cachePrefix = "profile_completion:"

    public struct Payload: Sendable, Equatable {
        public let userId: String
    }

    let postgres: PostgresClient
    let cache: RedisCache
    let skills: any SkillsSource
    let cacheTTL: Duration

    public init(
        postgres: PostgresClient,
        redis: RedisClient,
        skills: any SkillsSource = NoSkillsSource(),
        cacheTTL: Duration = .seconds(3600)
    ) {
        self.postgres = postgres
        self.cache = RedisCache(client: redis, prefix: Self.cachePrefix)
        self.skills = skills
        self.cacheTTL = cacheTTL
    }

    public func parse(_ payload: FieldReader, version: Int) throws(EnvelopeRejection) -> Payload {
        Payload(userId: try payload.uuid("user_id"))
    }

    public func handle(_ payload: Payload, context: JobContext) async throws -> JobOutcome {
        let hasSkills = try await skills.hasSkills(userId: payload.userId)
        let envelope = context.envelope
        let (outcome, percentage) = try await postgres.withTransaction { connection -> (JobOutcome, Int) in
            let rows = try connection.query(
                """
                SELECT u.first_name, u.last_name, u.profile_completion_percentage, p.headline, p.summary,
                       p.current_position, p.years_of_experience, p.location, p.linkedin_url, p.github_url,
                       p.portfolio_url, p.preferred_work_type
                FROM users u
                LEFT JOIN LATERAL (
                    SELECT * FROM user_profiles WHERE user_id = u.user_id
                    ORDER BY updated_at DESC NULLS LAST LIMIT 1
                ) p ON true
                WHERE u.user_id = $1
                FOR UPDATE OF u
                """,
                [payload.userId]
            )
            guard let row = rows.first else {
                throw JobError.permanent("unknown_user", "user \(payload.userId) does not exist")
            }
            guard try PostgresJobLedger.claim(connection, envelope: envelope) else {
                return (.alreadyApplied, row.int("profile_completion_percentage") ?? 0)
            }
            let percentage = ProfileCompletion(
                firstName: row["first_name"],
                lastName: row["last_name"],
                headline: row["headline"],
                summary: row["summary"],
                currentPosition: row["current_position"],
                yearsOfExperience: row.int("years_of_experience"),
                location: row["location"],
                linkedinURL: row["linkedin_url"],
                githubURL: row["github_url"],
                portfolioURL: row["portfolio_url"],
                preferredWorkType: row["preferred_work_type"],
                hasSkills: hasSkills
            ).percentage
            try connection.query(
                "UPDATE users SET profile_completion_percentage = $2, updated_at = now() WHERE user_id = $1",
                [payload.userId, percentage]
            )
            return (.applied, percentage)
        }
        try await cache.set(payload.userId, String(percentage), ttl: cacheTTL)
        return outcome
    }
}
