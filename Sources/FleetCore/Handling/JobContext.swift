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

    /// Carries `job.id`, `job.type`, `job.attempt`, and `traceparent` with its `trace_id` when it is a
    /// W3C one, as metadata (the consumer's logger adds `queue`). Built when asked for, since most jobs log nothing and metadata
    /// costs a copy per key.
    public var logger: Logger {
        var logger = baseLogger
        logger[metadataKey: "job.id"] = "\(envelope.id)"
        logger[metadataKey: "job.type"] = "\(envelope.type)"
        logger[metadataKey: "job.attempt"] = "\(attempt)"
        if let traceparent, let traceID = Self.traceID(of: traceparent) {
            logger[metadataKey: "traceparent"] = "\(traceparent)"
            logger[metadataKey: "trace_id"] = "\(traceID)"
        }
        return logger
    }

    /// The trace id of a W3C `traceparent` (`00-<32 hex>-<16 hex>-<2 hex>`), or nil when it is not
    /// one: the header is the producer's, so it is logged only when its trace id has the right shape.
    public static func traceID(of traceparent: String) -> String? {
        let parts = traceparent.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count >= 4, parts[1].count == 32,
            parts[1].utf8.allSatisfy({
                (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0)
                    || (UInt8(ascii: "a")...UInt8(ascii: "f")).contains($0)
            }),
            parts[1].contains(where: { $0 != "0" })
        else { return nil }
        return String(parts[1])
    }
}
