/// A failure a handler reports on purpose, deciding between retry and dead-letter.
public struct JobError: Error, Sendable, CustomStringConvertible {
    public struct Kind: Sendable, Hashable {
        let raw: String
        /// May succeed later: retried on the schedule, then dead-lettered.
        public static let transient = Kind(raw: "transient")
        /// Will never succeed: dead-lettered at once.
        public static let permanent = Kind(raw: "permanent")
    }

    public let kind: Kind
    /// Machine-readable, e.g. `unknown_user`; becomes `x-fleet-reason` when dead-lettered.
    public let reason: String
    public let message: String
    /// Set when the job's effect is already committed and only this later step failed (a follow-up
    /// publish, a cache refresh or invalidation). Such a failure is retried like a transient one;
    /// when the retries run out the job is dead-lettered marked `applied`, naming the step, and a
    /// replay finds the effect recorded and redoes only the step.
    public var failedStepAfterEffect: String? = nil

    public static func permanent(_ reason: String, _ message: String) -> JobError {
        JobError(kind: .permanent, reason: reason, message: message)
    }

    public static func transient(_ reason: String, _ message: String) -> JobError {
        JobError(kind: .transient, reason: reason, message: message)
    }

    /// The effect committed, then `step` failed: retried; dead-lettered as applied when retries run out.
    public static func stepFailedAfterEffect(_ step: String, reason: String, _ message: String) -> JobError {
        JobError(kind: .transient, reason: reason, message: message, failedStepAfterEffect: step)
    }

    public var description: String { "\(reason): \(message)" }
}

/// The job ran past its type's deadline and was abandoned (counted as a transient failure).
public struct DeadlineExceeded: Error, CustomStringConvertible {
    public let deadline: Duration
    public var description: String { "deadline of \(DurationText.format(deadline)) exceeded" }
}
