import Logging

/// What a handler knows about the job it runs.
public struct JobContext: Sendable {
    public let envelope: JobEnvelope
    /// 1 for the first delivery, then one more per retry.
    public let attempt: Int
    /// W3C trace context of the job, to carry into follow-up jobs.
    public let traceparent: String?
    /// Carries `job.id`, `job.type` and `job.attempt` metadata.
    public let logger: Logger

    public init(envelope: JobEnvelope, attempt: Int, traceparent: String?, logger: Logger) {
        self.envelope = envelope
        self.attempt = attempt
        self.traceparent = traceparent
        self.logger = logger
    }
}
