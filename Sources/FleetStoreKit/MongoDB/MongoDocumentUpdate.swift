import FleetContract
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

/// Exactly-once changes to ONE MongoDB document, atomic without multi-document transactions, that
/// write only the fields the fleet owns.
///
/// Each job type's effect lives in a single document (a user's skills, a content item, a trend
/// series), so the job's dedup key is recorded in that same document (`fleet_applied_jobs`, or the
/// job's history entry) and both are written by one `updateOne` whose filter holds the document's
/// `fleet_revision` as read and whose `$set` names only fleet-owned paths. A duplicate finds its key
/// and writes nothing; a concurrent fleet writer makes the update match nothing, and the change is
/// read and computed again. Another service's `$inc`/`$set` of any other field of the same document
/// (a view counter, a skill entry's `endorsements`) is never written back, so it survives whenever
/// it lands.
///
/// Why not a ledger collection in a transaction: nx-27017 (the local MongoDB) breaks concurrent
/// transactions in one database. How the update forms differ there (README, "Deviations", and
/// `MongoClientTests`) is handled here, in ``write(_:current:to:)``, never in the job rules:
/// - a date as the direct value of a `$set` path is stored as a string by its SQL update path; an
///   update that also carries `$pull` with a condition runs its Python path, which keeps dates, so
///   on nx-27017 such updates get a no-op `$pull` of an absent field (``nxPythonPathField``);
/// - numeric array paths (`skills.2.level`) in `$set` and in filters do nothing there (the update
///   matches and changes nothing; the filter matches nothing), so ``FieldChanges/setElement`` and
///   ``FieldChanges/appendElement`` fall back to a `$set` of the whole array guarded by its length
///   (`$size`), which it serves. On MongoDB they write the element's owned fields by index, guarded by
///   the element at that index still being the same one (`"skills.2.skill_id": {$in: [id]}`), so
///   another writer's fields inside the element (`endorsements`, `certificates`) survive too.
///
/// Dedup records have a lifetime (``AppliedJobs``): entries carry the time they were recorded, are
/// dropped once older than the dedup window whenever the document is written, and the array is
/// capped at ``AppliedJobs/cap`` entries.
public enum MongoDocumentUpdate {
    /// One more on every fleet write of the document.
    public static let revisionField = "fleet_revision"
    /// Dedup records (`{key: "<type> <key>", at: <date>}`, or old-format plain strings) of the jobs
    /// that changed the document.
    public static let appliedJobsField = "fleet_applied_jobs"
    /// The field an nx-27017-only no-op `$pull` names to make that server keep `$set` dates (see above).
    public static let nxPythonPathField = "fleet_nx_update_path"
    /// The contract's default dedup window: 7 days.
    public static let defaultDedupWindow = Topology.defaultDedupWindow

    /// The fleet-owned fields one write sets, and what must still hold of the document for the write
    /// to be right (besides its revision).
    public struct FieldChanges: Sendable {
        /// `$set`: path → value.
        public private(set) var set = BSONDocument()
        /// Extra filter conditions.
        public private(set) var guards = BSONDocument()
        /// Array element changes, written by index on MongoDB and as the whole array on nx-27017.
        var elementChanges: [ElementChange] = []

        struct ElementChange: Sendable {
            let arrayPath: String
            /// The index changed, or nil to append.
            let index: Int?
            /// The array's length as read.
            let count: Int
            let identity: (field: String, value: BSONValue)
            let fields: BSONDocument
            let element: BSONDocument
            let wholeArray: [BSONValue]
        }

        public init() {}

        public mutating func set(_ path: String, _ value: BSONValue) {
            set[path] = value
        }

        /// Adds a filter condition the write needs.
        public mutating func require(_ path: String, _ condition: BSONValue) {
            guards[path] = condition
        }

        /// Sets `fields` of the element at `index` of the array `arrayPath` as read (`array`), the
        /// element being the one whose `identity.field` is `identity.value` (an ObjectId or string).
        public mutating func setElement(
            _ arrayPath: String,
            of array: [BSONValue],
            at index: Int,
            identity: (field: String, value: BSONValue),
            fields: BSONDocument
        ) {
            var whole = array
            var element = array[index].documentValue ?? BSONDocument()
            for (key, value) in fields.elements { element[key] = value }
            whole[index] = .document(element)
            elementChanges.append(
                ElementChange(
                    arrayPath: arrayPath,
                    index: index,
                    count: array.count,
                    identity: identity,
                    fields: fields,
                    element: element,
                    wholeArray: whole
                )
            )
        }

        /// Appends `element` to the array `arrayPath` as read (`array`, empty when missing).
        public mutating func appendElement(
            _ arrayPath: String,
            to array: [BSONValue],
            identity: (field: String, value: BSONValue),
            element: BSONDocument
        ) {
            elementChanges.append(
                ElementChange(
                    arrayPath: arrayPath,
                    index: nil,
                    count: array.count,
                    identity: identity,
                    fields: element,
                    element: element,
                    wholeArray: array + [.document(element)]
                )
            )
        }

        /// The `$set` and the extra filter for the server: by index on MongoDB, whole arrays on
        /// nx-27017. One change per array (the fleet changes at most one element per write).
        /// `arrayExists` tells whether the document read holds an array at a path.
        public func resolved(
            arrayPathsWork: Bool,
            arrayExists: (String) -> Bool
        ) -> (set: BSONDocument, guards: BSONDocument) {
            var set = self.set
            var guards = self.guards
            for change in elementChanges {
                if !arrayExists(change.arrayPath) {
                    // No array yet (absent or null): write it whole.
                    set[change.arrayPath] = .array(change.wholeArray)
                    guards[change.arrayPath] = .null
                } else if !arrayPathsWork {
                    set[change.arrayPath] = .array(change.wholeArray)
                    guards[change.arrayPath] = ["$size": .int64(Int64(change.count))]
                } else if let index = change.index {
                    for (key, value) in change.fields.elements {
                        set["\(change.arrayPath).\(index).\(key)"] = value
                    }
                    guards["\(change.arrayPath).\(index).\(change.identity.field)"] = ["$in": [change.identity.value]]
                } else {
                    set["\(change.arrayPath).\(change.count)"] = .document(change.element)
                    guards[change.arrayPath] = ["$size": .int64(Int64(change.count))]
                }
            }
            return (set, guards)
        }
    }

    /// What `change` decided for the document it was shown.
    public enum Decision: Sendable {
        /// Insert this new document (it has an `_id`).
        case insert(BSONDocument)
        /// Set these fields of the document read.
        case update(FieldChanges)
        /// Write nothing.
        case unchanged
    }

    /// Reads the document matching `filter` (nil when there is none), lets `change` decide, and
    /// writes its decision guarded by the revision read; on a conflict, from the read again, up to
    /// `attempts` times, then a transient ``JobError`` sends the job to its retry schedule.
    ///
    /// With a `claim` (a job with an idempotency key, ``KeyBinding``): each write starts only while
    /// the claim's lease allows it, and a permanent ``JobError`` thrown by `change` (the job can never
    /// apply, e.g. unknown content) releases the claim, so the failed job leaves its key unused.
    public static func apply<Result: Sendable>(
        _ client: MongoClient,
        collection: String,
        filter: BSONDocument,
        claim: KeyBinding.Claim? = nil,
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
                    if case .unchanged = decision { return result }
                    // Asked before the window check, so its round trip on a new connection cannot
                    // delay the write past the window (the answer is kept per connection).
                    _ = try connection.isNx27017()
                    try claim?.checkWritable()
                    try write(decision, current: current, to: documents)
                    return result
                }
            } catch let conflict as MongoWriteConflict {
                guard attempt < attempts else {
                    throw JobError.transient("write_conflict", "\(attempts) attempts conflicted; last: \(conflict)")
                }
                attempt += 1
                // Random, growing pauses so racing writers stop colliding.
                try await Task.sleep(for: .milliseconds(Int.random(in: 1...(2 * min(attempt, 20)))))
            } catch let error as JobError where error.kind == .permanent {
                if let claim { try? await KeyBinding.release(client, claim) }
                throw error
            } catch let error as MongoError where !error.isTransient {
                // Refused for good (a validator, a bad value): the key stays unused, as for any
                // permanent failure.
                if let claim { try? await KeyBinding.release(client, claim) }
                throw error
            }
        }
    }

    /// Writes `decision` for the document read as `current`: an insert (when `current` is nil), or
    /// an `updateOne` filtered on its `_id`, its revision as read and the changes' guards, setting
    /// the changes and the next revision.
    /// - Throws: ``MongoWriteConflict`` when another writer got there first.
    public static func write(_ decision: Decision, current: BSONDocument?, to collection: MongoCollection) throws {
        switch decision {
        case .unchanged:
            return
        case .insert(var document):
            precondition(document["_id"] != nil, "insert needs a document with an _id")
            guard current == nil else { throw MongoWriteConflict(detail: "insert over an existing document") }
            document[revisionField] = .int64(1)
            do {
                try collection.insertOne(document)
            } catch let error as MongoError where error.isDuplicateKey {
                throw MongoWriteConflict(detail: "\(collection.name) document created concurrently")
            }
        case .update(let changes):
            guard let current, let id = current["_id"] else {
                preconditionFailure("an update needs the document it was computed from")
            }
            let nx = try collection.connection.isNx27017()
            let (set, guards) = changes.resolved(arrayPathsWork: !nx) { path in
                current[path]?.arrayValue != nil
            }
            let revision = revision(of: current)
            // A document written by someone else has no revision yet: match it by the field's absence.
            var filter: BSONDocument = [
                "_id": id, revisionField: revision == 0 ? ["$exists": false] : .int64(revision),
            ]
            for (key, value) in guards.elements { filter[key] = value }
            var fields = set
            fields[revisionField] = .int64(revision + 1)
            var update: BSONDocument = ["$set": .document(fields)]
            if nx, fields.elements.contains(where: { if case .date = $0.value { true } else { false } }) {
                update["$pull"] = [nxPythonPathField: ["$in": []]]
            }
            let result = try collection.updateOne(filter: filter, update: update)
            guard result.matchedCount == 1 else {
                throw MongoWriteConflict(detail: "\(collection.name) document changed concurrently")
            }
        }
    }

    /// The revision of a document as read; 0 when it has none.
    public static func revision(of document: BSONDocument) -> Int64 {
        Int64(document[revisionField]?.intValue ?? 0)
    }

    /// The key under which `envelope` is recorded in the document it changes.
    public static func jobKey(_ envelope: JobEnvelope) -> String {
        "\(envelope.type) \(envelope.deduplicationKey)"
    }

    /// Whether the job already changed `document` (a record younger than `window`).
    public static func hasApplied(
        _ envelope: JobEnvelope,
        to document: BSONDocument?,
        window: Duration = defaultDedupWindow,
        now: Date = Date()
    ) -> Bool {
        AppliedJobs.contains(jobKey(envelope), in: document?[appliedJobsField], window: window, now: now)
    }

    /// Records the job in `changes`: `fleet_applied_jobs` as read, pruned, plus this job.
    public static func recordApplied(
        _ envelope: JobEnvelope,
        in changes: inout FieldChanges,
        current: BSONDocument?,
        window: Duration = defaultDedupWindow,
        now: Date = Date()
    ) {
        changes.set(
            appliedJobsField,
            AppliedJobs.recording(jobKey(envelope), in: current?[appliedJobsField], window: window, now: now)
        )
    }
}

/// The bounded dedup records of one document (`fleet_applied_jobs`).
///
/// An entry is `{key, at}` (`at` = when it was recorded); entries older than the dedup window no
/// longer count and are dropped whenever the document is written, and at most ``cap`` entries are
/// kept (the oldest go first). 1,000 entries (about 80 KB) stay far below MongoDB's 16 MiB document
/// limit while covering any realistic number of jobs per content item or trend series within a
/// window; a document receiving more than 1,000 keyed jobs within one window would forget the oldest
/// early (documented). Old-format entries (plain key strings, written before records had a time)
/// count as applied, and are rewritten as `{key, at: now}` on the next write, so they too expire
/// one window later.
public enum AppliedJobs {
    public static let cap = 1_000

    /// Whether `key` is recorded in `records` and younger than `window`.
    public static func contains(_ key: String, in records: BSONValue?, window: Duration, now: Date) -> Bool {
        let cutoff = now.addingTimeInterval(-window.timeInterval)
        for record in records?.arrayValue ?? [] {
            switch record {
            case .string(let stored) where stored == key:
                return true
            case .document(let entry) where entry["key"]?.stringValue == key:
                if (entry["at"]?.dateValue ?? .distantFuture) >= cutoff { return true }
            default:
                continue
            }
        }
        return false
    }

    /// `records` without entries older than `window`, old-format entries given the time `now`, plus
    /// `key` recorded at `now`, capped at ``cap``.
    public static func recording(_ key: String, in records: BSONValue?, window: Duration, now: Date) -> BSONValue {
        var kept = pruned(records, window: window, now: now)
        kept.append(entry(key, at: now))
        if kept.count > cap { kept.removeFirst(kept.count - cap) }
        return .array(kept)
    }

    /// `records` without the entries older than `window` (old-format entries kept, given `now`).
    public static func pruned(_ records: BSONValue?, window: Duration, now: Date) -> [BSONValue] {
        let cutoff = now.addingTimeInterval(-window.timeInterval)
        // (BSONValue is ExpressibleByNilLiteral: the closure's type is spelled out so nil drops.)
        return (records?.arrayValue ?? []).compactMap { (record: BSONValue) -> BSONValue? in
            switch record {
            case .string(let key):
                return entry(key, at: now)
            case .document(let entry):
                guard let at = entry["at"]?.dateValue else { return record }
                return at >= cutoff ? record : Optional<BSONValue>.none
            default:
                return Optional<BSONValue>.none
            }
        }
    }

    static func entry(_ key: String, at time: Date) -> BSONValue {
        .document(["key": .string(key), "at": BSONValue(time)])
    }
}
