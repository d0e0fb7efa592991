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

    /// The trace id of a W3C `traceparent` (``wellFormedTraceparent(_:)``), or nil when it is not
    /// one: the header is the producer's, so it is logged only when it has the right shape.
    public static func traceID(of traceparent: String) -> String? {
        guard let wellFormed = wellFormedTraceparent(traceparent) else { return nil }
        return String(wellFormed.dropFirst(3).prefix(32))
    }

    /// `traceparent` when it is exactly `<version>-<trace id>-<parent id>-<flags>` in lowercase hex
    /// (2, 32, 16 and 2 digits; version not `ff`, ids not all zeros), else nil. Every part is checked:
    /// the value reaches logs and follow-up jobs, and a producer's header may carry line breaks or
    /// terminal escapes in any of them. A later version's longer form is refused, not truncated.
    public static func wellFormedTraceparent(_ traceparent: String) -> String? {
        var text = traceparent
        let wellFormed = text.withUTF8 { bytes -> Bool in
            guard bytes.count == 55, bytes[2] == UInt8(ascii: "-"), bytes[35] == UInt8(ascii: "-"),
                bytes[52] == UInt8(ascii: "-")
            else { return false }
            func isHex(_ range: Range<Int>) -> Bool {
                bytes[range].allSatisfy {
                    (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0)
                        || (UInt8(ascii: "a")...UInt8(ascii: "f")).contains($0)
                }
            }
            func isZero(_ range: Range<Int>) -> Bool { bytes[range].allSatisfy { $0 == UInt8(ascii: "0") } }
            return isHex(0..<2) && isHex(3..<35) && isHex(36..<52) && isHex(53..<55)
                && !(bytes[0] == UInt8(ascii: "f") && bytes[1] == UInt8(ascii: "f"))
                && !isZero(3..<35) && !isZero(36..<52)
        }
        return wellFormed ? traceparent : nil
    }
}
