import FleetContract
import FleetCore
import Postgres

/// `fleet_enrollment_histories`: one ``EnrollmentHistory`` per user and course, stamps stored as
/// ``JobStamp/text``. Read and written inside the job's transaction, under the course's row lock.
enum EnrollmentHistoryStore {
    static func read(_ connection: PostgresConnection, userId: String, courseId: String) throws -> EnrollmentHistory? {
        let rows = try connection.query(
            """
            SELECT first_create, enrolls_after_drop, last_progress, last_complete, first_complete, last_drop, max_progress
            FROM fleet_enrollment_histories WHERE user_id = $1 AND course_id = $2 FOR UPDATE
            """,
            [userId, courseId]
        )
        guard let row = rows.first else { return nil }
        func stamp(_ column: String) -> JobStamp? { row[column].flatMap(JobStamp.init(text:)) }
        return EnrollmentHistory(
            firstCreate: stamp("first_create"),
            enrollsAfterDrop: (row["enrolls_after_drop"] ?? "").split(separator: ";").compactMap {
                JobStamp(text: String($0))
            },
            lastProgress: stamp("last_progress"),
            lastComplete: stamp("last_complete"),
            firstComplete: stamp("first_complete"),
            lastDrop: stamp("last_drop"),
            maxProgress: row.int("max_progress") ?? 0
        )
    }

    static func write(
        _ connection: PostgresConnection,
        _ history: EnrollmentHistory,
        userId: String,
        courseId: String
    ) throws {
        try connection.query(
            """
            INSERT INTO fleet_enrollment_histories (user_id, course_id, first_create, enrolls_after_drop, last_progress,
                last_complete, first_complete, last_drop, max_progress, updated_at)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, now())
            ON CONFLICT (user_id, course_id) DO UPDATE SET first_create = EXCLUDED.first_create,
                enrolls_after_drop = EXCLUDED.enrolls_after_drop, last_progress = EXCLUDED.last_progress,
                last_complete = EXCLUDED.last_complete, first_complete = EXCLUDED.first_complete,
                last_drop = EXCLUDED.last_drop, max_progress = EXCLUDED.max_progress, updated_at = now()
            """,
            [
                userId, courseId, history.firstCreate?.text,
                history.enrollsAfterDrop.map(\.text).joined(separator: ";"), history.lastProgress?.text,
                history.lastComplete?.text, history.firstComplete?.text, history.lastDrop?.text, history.maxProgress,
            ]
        )
    }
}
