import Foundation
import MongoDB

/// Removes MongoDB dedup records past their window (run by `fleet maintenance`).
///
/// The per-document records (`fleet_applied_jobs`) prune themselves whenever their document is
/// written (``AppliedJobs``) and stop counting once older than the window even when it is not; what
/// grows without bound otherwise is `fleet_job_keys`, one binding per idempotency key.
public enum MongoRetention {
    /// Deletes the key bindings of `jobType` taken before `cutoff` (old-format bindings without
    /// `job_type` are matched by their `_id` prefix `<type> `).
    /// - Returns: how many were deleted.
    public static func prune(_ client: MongoClient, jobType: String, olderThan cutoff: Date) async throws -> Int {
        let prefix = "^" + NSRegularExpression.escapedPattern(for: jobType + " ")
        return try await client.withConnection { connection in
            let keys = connection.collection(KeyBinding.collection)
            let current = try keys.deleteMany(["job_type": .string(jobType), "bound_at": ["$lt": BSONValue(cutoff)]])
            let old = try keys.deleteMany([
                "job_type": ["$exists": false], "_id": ["$regex": .string(prefix)],
                "bound_at": ["$lt": BSONValue(cutoff)],
            ])
            return current + old
        }
    }
}
