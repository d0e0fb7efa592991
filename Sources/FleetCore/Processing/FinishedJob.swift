/// What became of one delivery, for an observer outside the runtime (the performance_metrics writer):
/// reported once per delivery that finished here, and never for one left for redelivery (shutdown)
/// or sent to wait (`not_before`).
public struct FinishedJob: Sendable, Equatable {
    public enum Outcome: String, Sendable {
        case applied
        case alreadyApplied = "already_applied"
        /// Refused before running (malformed envelope, unknown type or version, invalid payload).
        case rejected
        /// Failed transiently; a retry copy is queued.
        case retried
        /// Failed permanently, or ran out of attempts: in the dead-letter queue.
        case deadLettered = "dead_lettered"
    }

    /// The job type (`unknown` for a message whose type this worker does not run).
    public let type: String
    public let queue: String
    public let outcome: Outcome
    /// From the delivery's arrival in this process to its settling.
    public let duration: Duration
    /// The failure or rejection reason (`deadline_exceeded`, `postgres_unavailable`, `invalid_payload`,
    /// `max_attempts`...); nil on success. A reason names a kind of failure and never holds payload data.
    public let reason: String?

    public init(type: String, queue: String, outcome: Outcome, duration: Duration, reason: String?) {
        self.type = type
        self.queue = queue
        self.outcome = outcome
        self.duration = duration
        self.reason = reason
    }
}

/// Called on the job's task as each job finishes: it must return at once (hand the row to a buffer),
/// never wait on a store.
public typealias JobFinishedObserver = @Sendable (FinishedJob) -> Void
