import FleetContract
import Foundation

/// The code that applies one job type to its store.
///
/// A handler must be exactly-once in effect: the job may be delivered twice, retried after a crash,
/// or published twice with one idempotency key. For PostgreSQL, claim the job in the store's ledger
/// (`PostgresJobLedger.claim`, in FleetStoreKit) in the same transaction as the effect.
public protocol JobHandler: Sendable {
    /// The job type this handler serves; its payload rules are checked before ``handle(_:context:)``.
    associatedtype Job: JobDefinition

    /// Applies the job. Throw ``JobError`` to choose between retry and dead-letter; store errors are
    /// classified by the consumer's ``FailureClassifier``.
    func handle(_ job: Job, context: JobContext) async throws -> JobOutcome
}

extension JobHandler {
    /// The envelope `type` this handler serves.
    public static var jobType: String { Job.jobType }

    /// Reads a payload as this handler's consumer does (for tests and tools).
    public func parse(_ payload: FieldReader, version: Int) throws(EnvelopeRejection) -> Job {
        try Job(payload: payload, version: version)
    }
}

/// What a successful run did.
public enum JobOutcome: String, Sendable {
    case applied
    /// An earlier delivery (or a job with the same idempotency key) already took effect.
    case alreadyApplied = "already_applied"
}
