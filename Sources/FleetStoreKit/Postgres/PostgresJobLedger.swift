import FleetContract
import Foundation
import Postgres

/// The record of jobs that took effect in PostgreSQL (`fleet_applied_jobs`), written in the same
/// transaction as the effect: the job commits with its record or not at all, so a redelivery, a
/// retry after a crash or a second job with the same idempotency key finds the record and skips.
public enum PostgresJobLedger {
    /// Claims the job inside the caller's open transaction. True: first claim, apply the effect.
    /// False: an earlier job with the same type and key already took effect; apply nothing.
    ///
    /// A concurrent duplicate blocks on the primary key until the first transaction ends, then sees
    /// its row (claimed) or none (the first rolled back, and this one proceeds).
    public static func claim(_ connection: PostgresConnection, envelope: JobEnvelope) throws -> Bool {
        let rows = try connection.query(
            """
            INSERT INTO fleet_applied_jobs (job_type, dedup_key, job_id, applied_at)
            VALUES ($1, $2, $3, now())
            ON CONFLICT (job_type, dedup_key) DO NOTHING
            """,
            [envelope.type, envelope.deduplicationKey, envelope.id]
        )
        return rows.affectedRows == 1
    }
}

extension PostgresJobLedger {
    /// Deletes the records of `jobType` that took effect before `cutoff` (the dedup window is
    /// over: a duplicate arriving now is a new job), in batches so no transaction holds many
    /// locks. Returns how many were deleted.
    public static func prune(_ client: PostgresClient, jobType: String, olderThan cutoff: Date) async throws -> Int {
        var deleted = 0
        while true {
            let rows = try await client.query(
                """
                DELETE FROM fleet_applied_jobs WHERE ctid IN (
                    SELECT ctid FROM fleet_applied_jobs WHERE job_type = $1 AND applied_at < $2 LIMIT $3)
                """,
                [jobType, cutoff, pruneBatch]
            )
            deleted += rows.affectedRows
            if rows.affectedRows < pruneBatch { return deleted }
        }
    }

    static let pruneBatch = 5000
}
