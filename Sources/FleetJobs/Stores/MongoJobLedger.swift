import FleetCore
import Foundation
import MongoDB

/// The record of jobs that took effect in MongoDB (collection `fleet_applied_jobs`), written in the
/// same transaction as the effect, like ``PostgresJobLedger`` is for PostgreSQL.
///
/// The record's `_id` is `<type> <dedup key>` (a space cannot occur in a type), so the primary key
/// makes a second claim fail even where transactions do not isolate (nx-27017).
public enum MongoJobLedger {
    public static let collection = "fleet_applied_jobs"

    /// Claims the job inside the caller's transaction. True: first claim, apply the effect. False:
    /// an earlier job with the same type and key already took effect; apply nothing.
    /// - Throws: ``MongoWriteConflict`` when a concurrent duplicate claimed it first but has not
    ///   necessarily committed; ``MongoJobTransaction/run(_:attempts:_:)`` runs the body again.
    public static func claim(_ connection: MongoConnection, session: MongoSession, envelope: JobEnvelope) throws -> Bool
    {
        let ledger = connection.collection(collection)
        let id = BSONValue.string("\(envelope.type) \(envelope.deduplicationKey)")
        // Checked first: in MongoDB a failed write aborts the whole transaction, so the insert
        // must not be the way an ordinary duplicate is detected.
        if try ledger.findOne(["_id": id], session: session) != nil { return false }
        do {
            try ledger.insertOne(
                [
                    "_id": id, "job_type": .string(envelope.type), "dedup_key": .string(envelope.deduplicationKey),
                    "job_id": .string(envelope.id), "applied_at": BSONValue(Date()),
                ],
                session: session
            )
        } catch let error as MongoError where error.isDuplicateKey {
            throw MongoWriteConflict(detail: "job \(envelope.deduplicationKey) is being applied concurrently")
        }
        return true
    }
}
