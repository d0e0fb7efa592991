import FleetContract
import FleetCore
import FleetStoreKit
import Postgres
import Redis

/// `profile.completion.recalculate` `{user_id}` → PostgreSQL `users.profile_completion_percentage`,
/// cached in Redis under `profile_completion:<user_id>`.
///
/// The cache is refreshed after every run, including a duplicate that changes nothing in
/// PostgreSQL: so a run whose Redis write failed is repaired by its retry. Cache writes carry a
/// version taken under the user's row lock, so concurrent runs cannot leave an older value behind.
public struct ProfileCompletionRecalculateHandler: JobHandler {
    public static let cachePrefix = "profile_completion:"

    let postgres: PostgresClient
    let cache: RedisCache
    let skills: any SkillsSource
    let cacheTTL: Duration

    public init(
        postgres: PostgresClient,
        redis: RedisClient,
        skills: any SkillsSource,
        cacheTTL: Duration = .seconds(3600)
    ) {
        self.postgres = postgres
        self.cache = RedisCache(client: redis, prefix: Self.cachePrefix)
        self.skills = skills
        self.cacheTTL = cacheTTL
    }

    public func handle(_ payload: ProfileCompletionRecalculate, context: JobContext) async throws -> JobOutcome {
        // The skills item comes from MongoDB, outside the transaction: a first assessment landing
        // meanwhile must not be overwritten by an older answer. Only the first write claims the job.
        let (first, last) = try await ReadAgainAfterCommit.run(what: "the skills of user \(payload.userId)") {
            try await skills.hasSkills(userId: payload.userId)
        } write: { hasSkills, isFirst in
            try await recalculate(payload, context.envelope, hasSkills, claim: isFirst)
        }
        do {
            try await cache.set(payload.userId, String(last.1), version: last.2, ttl: cacheTTL)
        } catch {
            // The percentage is committed: a retry, or a replay of the dead letter, refreshes the cache.
            let failure = context.classifier.classify(error)
            throw JobError.stepFailedAfterEffect("cache_refresh", reason: failure.reason, failure.message)
        }
        return first.0
    }

    /// One transaction: the user's row under lock, the ledger when `claim`, the new percentage.
    private func recalculate(
        _ payload: ProfileCompletionRecalculate,
        _ envelope: JobEnvelope,
        _ hasSkills: Bool,
        claim: Bool
    ) async throws -> (JobOutcome, Int, Int64) {
        try await postgres.withTransaction {
            connection -> (JobOutcome, Int, Int64) in
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
            // Taken under the user's row lock, so versions follow commit order for this user: the
            // cache write of a later recalculation always wins, whichever reaches Redis first.
            let version = Int64(
                try connection.query("SELECT nextval('fleet_profile_cache_version') AS v").first?.int("v") ?? 0
            )
            guard try !claim || PostgresJobLedger.claim(connection, envelope: envelope) else {
                return (.alreadyApplied, row.int("profile_completion_percentage") ?? 0, version)
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
            return (.applied, percentage, version)
        }
    }
}
