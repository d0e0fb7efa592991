import FleetCore
import MongoDB

/// A concurrent writer changed the document (or claimed the job) between this transaction's read
/// and its write. Running the whole transaction again is safe.
public struct MongoWriteConflict: Error, CustomStringConvertible {
    public let detail: String

    public init(detail: String) {
        self.detail = detail
    }

    public var description: String { "write conflict: \(detail)" }
}

/// Read-modify-write of MongoDB documents, exactly once per job.
///
/// Array changes are written by reading the document and replacing it with a filter on its
/// `fleet_revision`: the form that is correct on MongoDB and on nx-27017, whose `$push` of
/// subdocuments, `$addToSet` and positional `$set` are broken (README, "Deviations").
public enum MongoJobTransaction {
    /// The field each read-modify-replace document carries, one more on every write.
    public static let revisionField = "fleet_revision"

    /// Runs `body` in a transaction, and again (with a short random pause) when it hits a write
    /// conflict or a transient transaction error, up to `attempts` times; then a transient
    /// ``JobError`` sends the job to its retry schedule.
    public static func run<T: Sendable>(
        _ client: MongoClient,
        attempts: Int = 10,
        _ body: @escaping @Sendable (MongoConnection, MongoSession) throws -> T
    ) async throws -> T {
        var attempt = 1
        while true {
            do {
                return try await client.withTransaction(body)
            } catch {
                guard isConflict(error) else { throw error }
                guard attempt < attempts else {
                    throw JobError.transient("write_conflict", "\(attempts) attempts conflicted; last: \(error)")
                }
                attempt += 1
                try await Task.sleep(for: .milliseconds(Int.random(in: 1...(5 * attempt))))
            }
        }
    }

    static func isConflict(_ error: Error) -> Bool {
        switch error {
        case is MongoWriteConflict: return true
        // WriteConflict (112) and other errors labelled TransientTransactionError.
        case let error as MongoError: return error.kind == .server && error.isTransient
        default: return false
        }
    }

    /// Replaces `document` (which has an `_id`) if its stored revision is still `revision`, or
    /// inserts it when `revision` is nil; the written copy carries the next revision.
    /// - Throws: ``MongoWriteConflict`` when another writer got there first.
    public static func write(
        _ document: BSONDocument,
        expectedRevision revision: Int64?,
        to collection: MongoCollection,
        session: MongoSession
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
        let result = try collection.replaceOne(
            filter: ["_id": id, revisionField: .int64(revision)],
            replacement: document,
            session: session
        )
        guard result.matchedCount == 1 else {
            throw MongoWriteConflict(detail: "\(collection.name) document changed concurrently")
        }
    }

    /// The revision of a document read for ``write(_:expectedRevision:to:session:)``.
    public static func revision(of document: BSONDocument) -> Int64 {
        Int64(document[revisionField]?.intValue ?? 0)
    }
}
