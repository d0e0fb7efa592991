import FleetContract
import FleetCore
import MongoDB
import Postgres

/// `career.progress.recalculate` `{user_id, path_id?}` → PostgreSQL `user_career_progress`, one row per
/// user and path (created when missing), from the user's verified scores in MongoDB `user_skills` and
/// the path's `career_milestones` (``CareerProgress``). Without `path_id`: every path the user has a
/// progress row for.
///
/// No job ledger: the result is a function of the current state, and a recalculation asked for
/// again, even with the same idempotency key, must compute again. Rows are written under their row
/// locks. The skills are read outside the PostgreSQL transaction, so a run that read them before a
/// concurrent run could commit after it: each run therefore reads the skills again after its commit
/// and recomputes if they changed, and the last write always reflects the latest skills.
public struct CareerProgressRecalculateHandler: JobHandler {

    let postgres: PostgresClient
    let mongodb: MongoClient
    /// Recomputations when the skills keep changing under the run, before it is retried later.
    let attempts = 5

    public init(postgres: PostgresClient, mongodb: MongoClient) {
        self.postgres = postgres
        self.mongodb = mongodb
    }

    public func handle(_ payload: CareerProgressRecalculate, context: JobContext) async throws -> JobOutcome {
        _ = try await ReadAgainAfterCommit.run(attempts: attempts, what: "the skills of user \(payload.userId)") {
            try await verifiedSkills(userId: payload.userId)
        } write: { skills, _ in
            try await write(payload, skills: skills)
        }
        return .applied
    }

    private func verifiedSkills(userId: String) async throws -> [String: Int] {
        try await mongodb.withConnection { connection in
            let document = try connection.collection(UserSkillsDocument.collection).findOne(
                ["user_id": .string(userId)],
                projection: ["skills": 1]
            )
            return UserSkillsDocument.verifiedTenths(of: document)
        }
    }

    private func write(_ payload: CareerProgressRecalculate, skills: [String: Int]) async throws {
        try await postgres.withTransaction { connection in
            guard try !connection.query("SELECT 1 FROM users WHERE user_id = $1", [payload.userId]).isEmpty else {
                throw JobError.permanent("unknown_user", "user \(payload.userId) does not exist")
            }
            let paths: [String]
            if let pathId = payload.pathId {
                guard try !connection.query("SELECT 1 FROM career_paths WHERE path_id = $1", [pathId]).isEmpty else {
                    throw JobError.permanent("unknown_path", "career path \(pathId) does not exist")
                }
                try connection.query(
                    """
                    INSERT INTO user_career_progress (progress_id, user_id, path_id, start_date, completion_percentage,
                                                      status)
                    VALUES (gen_random_uuid(), $1, $2, now(), 0, $3)
                    ON CONFLICT (user_id, path_id) DO NOTHING
                    """,
                    [payload.userId, pathId, CareerProgress.inProgress]
                )
                try connection.query(
                    "SELECT 1 FROM user_career_progress WHERE user_id = $1 AND path_id = $2 FOR UPDATE",
                    [payload.userId, pathId]
                )
                paths = [pathId]
            } else {
                // In one order, so two runs for the same user cannot deadlock.
                paths = try connection.query(
                    """
                    SELECT path_id FROM user_career_progress WHERE user_id = $1 AND path_id IS NOT NULL
                    ORDER BY path_id FOR UPDATE
                    """,
                    [payload.userId]
                ).compactMap { $0["path_id"] }
            }
            for pathId in paths {
                let progress = CareerProgress.compute(
                    milestones: try milestones(connection, pathId: pathId),
                    verifiedTenths: skills
                )
                try connection.query(
                    """
                    UPDATE user_career_progress
                    SET completion_percentage = $3, current_milestone_id = $4, status = $5
                    WHERE user_id = $1 AND path_id = $2
                    """,
                    [
                        payload.userId, pathId, progress.completionPercentage, progress.currentMilestoneId,
                        progress.status,
                    ]
                )
            }
        }
    }

    private func milestones(_ connection: PostgresConnection, pathId: String) throws -> [CareerMilestone] {
        try connection.query(
            "SELECT milestone_id, order_sequence, required_skills::text AS required FROM career_milestones WHERE path_id = $1",
            [pathId]
        ).map { row in
            let id = row["milestone_id"] ?? ""
            do {
                return CareerMilestone(
                    milestoneId: id,
                    order: row.int("order_sequence"),
                    requirements: try CareerMilestone.parseRequirements(row["required"], milestoneId: id)
                )
            } catch {
                throw JobError.permanent("invalid_milestone", "\(error)")
            }
        }
    }
}
