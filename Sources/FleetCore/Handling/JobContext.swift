import FleetContract
import Logging

/// What a handler knows about the job it runs.
public struct JobContext: Sendable {
    public let envelope: JobEnvelope
    /// 1 for the first delivery, then one more per retry.
    public let attempt: Int
    /// W3C trace context of the job, to carry into follow-up jobs.
    public let traceparent: String?
    /// The consumer's failure rules, for a handler that reports a later step's failure itself.
    public let classifier: FailureClassifier
    private let baseLogger: Logger

    /// - Parameter logger: the consumer's logger; ``logger`` adds the job's metadata to it.
    public init(
        envelope: JobEnvelope,
        attempt: Int,
        traceparent: String?,
        classifier: FailureClassifier = FailureClassifier(),
        logger: Logger
    ) {
        self.envelope = envelope
        self.attempt = attempt
        self.traceparent = traceparent
        self.classifier = classifier
        self.baseLogger = logger
    }

    /// Carries `job.id`, `job.type`, `job.attempt` and `traceparent` metadata. Built when asked
    /// for, since most jobs log nothing and metadata costs a copy per key.
    public var logger: Logger {
        var logger = baseLogger
        logger[metadataKey: "job.id"] = "\(envelope.id)"
        logger[metadataKey: "job.type"] = "\(envelope.type)"
        logger[metadataKey: "job.attempt"] = "\(attempt)"
        if let traceparent { logger[metadataKey: "traceparent"] = "\(traceparent)" }
        return logger
    }
}
