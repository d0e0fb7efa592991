import FleetContract
import FleetCore
import Foundation
import MongoDB

/// Binds a producer's idempotency key to the one document its job changes, so that two jobs with
/// one key and type take effect once even when they name different documents (which the record in
/// each document alone cannot see), while a job that ends permanently failed does not use up its key.
///
/// A binding is a document of `fleet_job_keys`: `_id` = `<type> <key>`, `job_type`, `target` (the document the
/// key's job changes, as the handler names it), `job_id`, `token` (random, new on every change of
/// the binding), `bound_at` (when it was last taken).
///
/// **The target document is the authority, the binding only a lease.** A key counts as used only
/// once its target document records it (`fleet_applied_jobs`, or the history entry's `job_key`). So:
/// 1. A job inserts its binding; if the key is bound already, it reads the binding `b`:
///    - `b.target` is its own target: it takes the binding over (a replace guarded by `b.token`, so
///      its `bound_at` is fresh) and goes on; the record in the document decides between the jobs.
///    - another target that records the key: the key was used there, the job is `already_applied`.
///    - another target that does not record the key, bound less than ``lease`` ago: that job may
///      still be writing; a transient error retries this one later.
///    - another target that does not record the key, bound at least ``lease`` ago: stale (its job
///      crashed, or failed before writing). Taken over by a replace guarded by `b.token`: of two
///      jobs taking over at once, one wins, the other reads again.
/// 2. The job writes its effect, recording the key in its target document, with the revision-guarded
///    update of ``MongoDocumentUpdate``, and starts that write only while `bound_at + ``writeWindow``` has
///    not passed (``Claim/checkWritable()``).
/// 3. A permanent failure (unknown content, an unreadable document, a write the server refuses for
///    good) deletes the binding it holds (guarded by its token), so a later job with the key is
///    handled as if the failed one never ran. Transient failures keep it: their write may have landed.
///
/// **Why a crash at any instant never applies a key to two targets.** A key is applied to target T
/// only by a write that started within ``writeWindow`` (2 min) of its job taking the binding for T,
/// and a write that started lands within libmongoc's socket timeout (5 min by default) or never; the
/// driver may send a retryable write once more after a network error, another socket timeout later.
/// A binding is taken over for another target only when it is at least ``lease`` (30 min) old and
/// its target does not record the key: by then every write of its holder has landed or never will
/// (2 + 5 + 5 min, leaving 18 min for clock differences between workers and a server still running
/// an operation its client gave up on), so "does not record" stays true for T forever and the key
/// is applied only to the new target. A crash between the binding and the write leaves a binding
/// whose target does not record the key: same-target jobs take it over at once, other targets after
/// the lease. A crash after the write leaves a binding that is authoritative, as it should. The
/// binding's token guards every change of it, so two jobs never both believe they took it over.
/// The assumptions: worker clocks differ by less than a few minutes, and `socketTimeoutMS` in
/// `FLEET_MONGODB_URL` stays at most its 5-minute default.
public enum KeyBinding {
    public static let collection = "fleet_job_keys"
    /// How long a binding whose target does not record the key keeps other targets waiting.
    public static let lease: Duration = .seconds(1800)
    /// How long after taking a binding its job may start the write that records the key.
    public static let writeWindow: Duration = .seconds(120)

    /// A binding held by a job, with the token that proves it.
    public struct Claim: Sendable {
        public let id: String
        public let token: String
        public let boundAt: Date

        /// - Throws: a transient ``JobError`` once the write window has passed (the retry binds again).
        public func checkWritable(now: Date = Date()) throws {
            guard now < boundAt.addingTimeInterval(KeyBinding.writeWindow.timeInterval) else {
                throw JobError.transient(
                    "idempotency_key_lease_expired",
                    "the binding of \(id) is too old to write under"
                )
            }
        }
    }

    public enum Outcome: Sendable {
        /// Go on; the claim is nil for a job without an idempotency key (its id is its key).
        case proceed(Claim?)
        /// Another target records the key: the job took effect there.
        case appliedElsewhere
    }

    /// Binds `envelope`'s idempotency key to `target`, as described above.
    /// - Parameter recordsKey: whether the document named by a target records this job's key (reads it).
    public static func claim(
        _ client: MongoClient,
        envelope: JobEnvelope,
        target: String,
        now: @escaping @Sendable () -> Date = { Date() },
        recordsKey: @escaping @Sendable (MongoConnection, String) throws -> Bool
    ) async throws -> Outcome {
        guard envelope.idempotencyKey != nil else { return .proceed(nil) }
        let id = MongoDocumentUpdate.jobKey(envelope)
        for _ in 0..<20 {
            let outcome: Outcome? = try await client.withConnection { connection in
                let keys = connection.collection(collection)
                let taken = now()
                let token = UUID().uuidString.lowercased()
                let binding: BSONDocument = [
                    "_id": .string(id), "job_type": .string(envelope.type), "target": .string(target),
                    "job_id": .string(envelope.id),
                    "token": .string(token), "bound_at": BSONValue(taken),
                ]
                let claim = Claim(id: id, token: token, boundAt: taken)
                do {
                    try keys.insertOne(binding)
                    return .proceed(claim)
                } catch let error as MongoError where error.isDuplicateKey {}
                guard let existing = try keys.findOne(["_id": .string(id)]) else { return nil }
                let existingTarget = existing["target"]?.stringValue
                if existingTarget != target {
                    if let existingTarget, try recordsKey(connection, existingTarget) { return .appliedElsewhere }
                    let boundAt = existing["bound_at"]?.dateValue ?? .distantPast
                    guard taken.timeIntervalSince(boundAt) >= lease.timeInterval else {
                        throw JobError.transient(
                            "idempotency_key_busy",
                            "the key is bound to another target since \(RFC3339.format(boundAt)) and not recorded there yet"
                        )
                    }
                }
                // Take it over: guarded by the token read, so only one of several racing jobs does.
                let replaced = try keys.replaceOne(
                    filter: ["_id": .string(id), "token": existing["token"] ?? .null],
                    replacement: binding
                )
                return replaced.matchedCount == 1 ? .proceed(claim) : nil
            }
            if let outcome { return outcome }
        }
        throw JobError.transient("idempotency_key_busy", "the binding of \(id) kept changing")
    }

    /// Deletes the binding `claim` holds (nothing if another job took it over since).
    public static func release(_ client: MongoClient, _ claim: Claim) async throws {
        try await client.withConnection { connection in
            _ = try connection.collection(collection).deleteOne([
                "_id": .string(claim.id), "token": .string(claim.token),
            ])
        }
    }
}
