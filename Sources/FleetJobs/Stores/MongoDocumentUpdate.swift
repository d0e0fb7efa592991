import FleetCore
import Foundation
import MongoDB

/// A concurrent writer changed the document between this update's read and its write. Reading
/// again and recomputing the change is safe.
public struct MongoWriteConflict: Error, CustomStringConvertible {
    public let detail: String

    public init(detail: String) {
        self.detail = detail
    }

    public var description: String { "write conflict: \(detail)" }
}

/// Exactly-once changes to ONE MongoDB document, atomic without multi-document transactions.
///
/// Each job type's effect lives in a single document (a user's skills, a content item, a trend
/// series), so the job's dedup key is recorded in that same document (`fleet_applied_jobs`) and
/// both are written by one `replaceOne` filtered on the document's `fleet_revision`. A duplicate
/// finds its key and writes nothing; a concurrent writer makes the replace match nothing, and the
/// update is read and computed again.
///
/// Why not a ledger collection in a transaction: nx-27017 (the local MongoDB) breaks concurrent
/// transactions in one database (`no such savepoint`, and an abort undoes other connections'
/// writes), and `$push`/`$addToSet`/positional `$set` are broken there too (README, "Deviations").
/// Read-modify-replace of one document is correct on both servers, across any number of workers.
public enum MongoDocumentUpdate {
    /// One more on every write of the document.
    public static let revisionField = "fleet_revision"
    /// Dedup keys (`<type> <key>`) of the jobs that changed the document.
    public static let appliedJobsField = "fleet_applied_jobs"

    /// What `change` decided for the document it was shown.
    public enum Decision: Sendable {
        /// Write this version of the document (it keeps the `_id` of the one read, or has one when
        /// creating).
        case write(BSONDocument)
        /// Write nothing.
        case unchanged
    }

    /// Reads the document matching `filter` (nil when there is none), lets `change` decide, and
    /// writes its version guarded by the revision read; on a conflict, from the read again, up to
    /// `attempts` times, then a transient ``JobError`` sends the job to its retry schedule.
    public static func apply<Result: Sendable>(
        _ client: MongoClient,
        collection: String,
        filter: BSONDocument,
        attempts: Int = 50,
        _ change: @escaping @Sendable (BSONDocument?) throws -> (Decision, Result)
    ) async throws -> Result {
        var attempt = 1
        while true {
            do {
                return try await client.withConnection { connection in
                    let documents = connection.collection(collection)
                    let current = try documents.findOne(filter)
                    let (decision, result) = try change(current)
                    if case .write(let document) = decision {
                        try write(document, expectedRevision: current.map(revision(of:)), to: documents)
                    }
                    return result
                }
            } catch let conflict as MongoWriteConflict {
                guard attempt < attempts else {
                    throw JobError.transient("write_conflict", "\(attempts) attempts conflicted; last: \(conflict)")
                }
                attempt += 1
                // Random, growing pauses so racing writers stop colliding.
                try await Task.sleep(for: .milliseconds(Int.random(in: 1...(2 * min(attempt, 20)))))
            }
        }
    }

    /// Replaces `document` if its stored revision is still `revision`, or inserts it when `revision`
    /// is nil; the written copy carries the next revision.
    /// - Throws: ``MongoWriteConflict`` when another writer got there first.
    public static func write(
        _ document: BSONDocument,
        expectedRevision revision: Int64?,
        to collection: MongoCollection,
        session: MongoSession? = nil
    ) throws {
        var document = document
        document[revisionField] = .int64((revision ?? 0) + 1)
        guard let id = document["_id"] else { preconditionFailure("write(_:) needs a document with an _id") }
        guard let revision else {
            do {
                try collection.insertOne(document, session: session)
            } catch let error as MongoError where error.isDuplicateKey {
                throw MongoWriteConflict(detail: "\(collection.name) document created concurrently")
            }
            return
        }
        // A document written by someone else has no revision yet: match it by the field's absence.
        let guardValue: BSONValue = revision == 0 ? ["$exists": false] : .int64(revision)
        let result = try collection.replaceOne(
            filter: ["_id": id, revisionField: guardValue],
            replacement: document,
            session: session
        )
        guard result.matchedCount == 1 else {
            throw MongoWriteConflict(detail: "\(collection.name) document changed concurrently")
        }
    }

    /// The revision of a document read for ``write(_:expectedRevision:to:session:)``; 0 when it has none.
    public static func revision(of document: BSONDocument) -> Int64 {
        Int64(document[revisionField]?.intValue ?? 0)
    }

    /// Where a producer's idempotency key is bound to the one document its first job targets.
    public static let keysCollection = "fleet_job_keys"

    /// The contract makes two jobs with one idempotency key and type one job, even when they name
    /// different documents, which an in-document record alone cannot see. So a job with an
    /// idempotency key first binds the key to its target document: true when the key is new or
    /// bound to this same target (then the in-document record decides, which also covers a crash
    /// between this call and the write), false when another document already took the key.
    /// Jobs without an idempotency key (the id is the key) need no binding.
    public static func bindKey(_ client: MongoClient, envelope: JobEnvelope, target: String) async throws -> Bool {
        guard envelope.idempotencyKey != nil else { return true }
        let id = BSONValue.string(jobKey(envelope))
        return try await client.withConnection { connection in
            let keys = connection.collection(keysCollection)
            do {
                try keys.insertOne([
                    "_id": id, "target": .string(target), "job_id": .string(envelope.id), "bound_at": BSONValue(Date()),
                ])
                return true
            } catch let error as MongoError where error.isDuplicateKey {
                return try keys.findOne(["_id": id])?["target"]?.stringValue == target
            }
        }
    }

    /// The key under which `envelope` is recorded in the document it changes.
    public static func jobKey(_ envelope: JobEnvelope) -> String {
        "\(envelope.type) \(envelope.deduplicationKey)"
    }

    /// Whether the job already changed `document`.
    public static func hasApplied(_ envelope: JobEnvelope, to document: BSONDocument?) -> Bool {
        let key = BSONValue.string(jobKey(envelope))
        return document?[appliedJobsField]?.arrayValue?.contains(key) ?? false
    }

    /// Records the job in the document about to be written.
    public static func recordApplied(_ envelope: JobEnvelope, in document: inout BSONDocument) {
        let applied = document[appliedJobsField]?.arrayValue ?? []
        document[appliedJobsField] = .array(applied + [.string(jobKey(envelope))])
    }
}
