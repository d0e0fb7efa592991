import Foundation

/// The code that applies one job type to its store.
///
/// A handler must be exactly-once in effect: the job may be delivered twice, retried after a crash,
/// or published twice with one idempotency key. For PostgreSQL, write ``PostgresJobLedger/claim`` in
/// the same transaction as the effect.
public protocol JobHandler: Sendable {
    associatedtype Payload: Sendable

    /// The envelope `type` this handler serves, e.g. `enrollment.update`.
    static var jobType: String { get }
    /// Payload versions it accepts; others are dead-lettered as `unknown_version`.
    static var versions: Set<Int> { get }

    /// Reads and validates the payload. A throw sends the job to the DLQ at once, before any store
    /// is touched, so check every range and format here.
    func parse(_ payload: FieldReader, version: Int) throws(EnvelopeRejection) -> Payload

    /// Applies the job. Throw ``JobError`` to choose between retry and dead-letter; store errors are
    /// classified by ``FailureClassifier``.
    func handle(_ payload: Payload, context: JobContext) async throws -> JobOutcome

    /// A time the payload itself asks the job not to run before (e.g. `content.publish`'s
    /// `publish_at`). Until then the job waits in the retry queues like an envelope `not_before`,
    /// without holding a worker slot.
    func notBefore(_ payload: Payload) -> Date?
}

extension JobHandler {
    public static var versions: Set<Int> { [1] }

    public func notBefore(_ payload: Payload) -> Date? { nil }
}

/// What a successful run did.
public enum JobOutcome: String, Sendable {
    case applied
    /// An earlier delivery (or a job with the same idempotency key) already took effect.
    case alreadyApplied = "already_applied"
}
