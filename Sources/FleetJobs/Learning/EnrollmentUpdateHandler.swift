import FleetContract
import FleetCore
import FleetStoreKit
import Foundation
import Postgres

/// `enrollment.update` `{user_id, course_id, action, progress_percentage?}` → PostgreSQL
/// `user_courses` (one row per user and course) and `courses.total_enrollments`.
///
/// The row is what its jobs make in ``JobStamp`` order, whatever order they are processed in
/// (``EnrollmentHistory``, kept in `fleet_enrollment_histories`). The counter changes by the
/// difference the job makes to "this row exists and is not dropped", computed under row locks in the
/// job's transaction, so it equals the count of non-dropped rows under any concurrency. Locks are
/// taken in one order (course, then enrollment) to avoid deadlocks.
public struct EnrollmentUpdateHandler: JobHandler {
    public typealias Action = EnrollmentUpdate.Action

    let postgres: PostgresClient

    public init(postgres: PostgresClient) {
        self.postgres = postgres
    }

    public func handle(_ payload: EnrollmentUpdate, context: JobContext) async throws -> JobOutcome {
        let envelope = context.envelope
        return try await postgres.withTransaction { connection in
            guard try PostgresJobLedger.claim(connection, envelope: envelope) else { return .alreadyApplied }
            // The course row lock serialises every job of the course: no racing insert below.
            guard
                try !connection.query(
                    "SELECT 1 FROM courses WHERE course_id = $1 FOR NO KEY UPDATE",
                    [payload.courseId]
                ).isEmpty
            else { throw JobError.permanent("unknown_course", "course \(payload.courseId) does not exist") }
            guard try !connection.query("SELECT 1 FROM users WHERE user_id = $1", [payload.userId]).isEmpty else {
                throw JobError.permanent("unknown_user", "user \(payload.userId) does not exist")
            }
            let row = try currentRow(connection, payload)
            var history =
                try EnrollmentHistoryStore.read(connection, userId: payload.userId, courseId: payload.courseId)
                ?? row.map {
                    EnrollmentHistory.legacy($0.state, enrolledAt: $0.enrolledAt, completedAt: $0.completedAt)
                }
                ?? EnrollmentHistory()
            history.record(payload.action, progress: payload.progressPercentage, stamp: JobStamp(envelope))
            try EnrollmentHistoryStore.write(connection, history, userId: payload.userId, courseId: payload.courseId)
            // Only drops so far: the history is a tombstone and there is no row to write.
            guard let after = history.state else { return .applied }
            try write(connection, payload, after: after, history: history, existed: row != nil)
            let delta = EnrollmentTransition.counterDelta(before: row?.state, after: after)
            if delta != 0 {
                try connection.query(
                    """
                    UPDATE courses SET total_enrollments = total_enrollments + $2, updated_at = now()
                    WHERE course_id = $1
                    """,
                    [payload.courseId, delta]
                )
            }
            return .applied
        }
    }

    private struct Row {
        let state: EnrollmentState
        /// For ordering only; a NULL `enrollment_date` stays NULL (see ``write``).
        let enrolledAt: Date
        let completedAt: Date?
    }

    private func currentRow(_ connection: PostgresConnection, _ payload: EnrollmentUpdate) throws -> Row? {
        let rows = try connection.query(
            """
            SELECT status, progress_percentage, enrollment_date, completion_date FROM user_courses
            WHERE user_id = $1 AND course_id = $2 FOR UPDATE
            """,
            [payload.userId, payload.courseId]
        )
        guard let row = rows.first else { return nil }
        return Row(
            state: EnrollmentState(status: row["status"] ?? "enrolled", progress: row.int("progress_percentage") ?? 0),
            enrolledAt: row.date("enrollment_date") ?? Date(timeIntervalSince1970: 0),
            completedAt: row.date("completion_date")
        )
    }

    /// Writes the row the history makes. Progress and dates only move the way the rules move them
    /// (progress up, dates to the earliest job's), so a value another writer raised is kept.
    private func write(
        _ connection: PostgresConnection,
        _ payload: EnrollmentUpdate,
        after: EnrollmentState,
        history: EnrollmentHistory,
        existed: Bool
    ) throws {
        if existed {
            try connection.query(
                """
                UPDATE user_courses SET status = $3, progress_percentage = GREATEST(progress_percentage, $4),
                    enrollment_date = CASE WHEN enrollment_date IS NULL THEN NULL
                        ELSE LEAST(enrollment_date, $5::timestamptz) END,
                    completion_date = CASE WHEN $6::timestamptz IS NULL THEN completion_date
                        ELSE LEAST(COALESCE(completion_date, $6::timestamptz), $6::timestamptz) END
                WHERE user_id = $1 AND course_id = $2
                """,
                [
                    payload.userId, payload.courseId, after.status, after.progress, history.enrolledAt,
                    history.completedAt,
                ]
            )
        } else {
            try connection.query(
                """
                INSERT INTO user_courses (enrollment_id, user_id, course_id, enrollment_date, completion_date,
                                          progress_percentage, status)
                VALUES (gen_random_uuid(), $1, $2, $3, $4, $5, $6)
                """,
                [
                    payload.userId, payload.courseId, history.enrolledAt, history.completedAt, after.progress,
                    after.status,
                ]
            )
        }
    }
}
