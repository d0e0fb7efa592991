import AMQP
import FleetContract
import Foundation

/// The message headers through which a job carries its history between attempts and into the
/// dead-letter queue. All values are strings or integers, readable by any AMQP client.
public enum FleetHeaders {
    /// Attempt number of the delivery that carries it; absent on the first.
    public static let attempt = "x-fleet-attempt"
    public static let firstFailureAt = "x-fleet-first-failure-at"
    public static let lastError = "x-fleet-last-error"
    /// Machine-readable reason a job was dead-lettered (`invalid_json`, `max_attempts`, ...).
    public static let reason = "x-fleet-reason"
    /// Human-readable detail of that reason.
    public static let error = "x-fleet-error"
    /// The work queue the job came from, where `fleet dlq replay` sends it back.
    public static let queue = "x-fleet-queue"
    public static let deadLetteredAt = "x-fleet-dead-lettered-at"
    /// `true` when the job's effect committed and only a later step kept failing (see ``failedStep``).
    public static let applied = "x-fleet-applied"
    /// The step that kept failing after the effect committed: `follow_up_publish`, `cache_refresh`...
    public static let failedStep = "x-fleet-failed-step"
    /// The id of the key that signed the message (``FleetSigning/SignatureInput``).
    public static let keyId = "x-fleet-key-id"
    /// `v1=<hex HMAC-SHA256>` over the body and the trusted headers (``FleetSigning/SignatureInput``).
    public static let signature = "x-fleet-signature"
    /// W3C trace context, carried into logs and follow-up jobs.
    public static let traceparent = JobMessage.traceparentHeader

    /// Errors are cut to this length so a huge message cannot bloat every retry.
    static let maximumErrorLength = 1000

    public static func attempt(of headers: AMQPTable) -> Int {
        headers[attempt]?.int.map { max(1, Int($0)) } ?? 1
    }

    /// The headers for the next attempt after a failure.
    /// `failedStep`: the step that failed after the job's effect committed; once set, the job is
    /// marked applied on every later copy, whatever its later attempts fail with.
    static func forRetry(
        _ headers: AMQPTable,
        failedAttempt: Int,
        error: String,
        failedStep: String? = nil,
        now: Date
    ) -> AMQPTable {
        var next = headers
        if let failedStep {
            next[applied] = .bool(true)
            next[self.failedStep] = .string(failedStep)
        }
        next[attempt] = .int(Int64(failedAttempt + 1))
        if next[firstFailureAt] == nil { next[firstFailureAt] = .string(RFC3339.format(now)) }
        next[lastError] = .string(truncate(error))
        return next
    }

    static func forDeadLetter(
        _ headers: AMQPTable,
        reason: String,
        error: String,
        queue: String,
        failedStep: String? = nil,
        now: Date
    ) -> AMQPTable {
        // No broker death record on a worker's copy: in a DLQ, `x-death` then means the broker moved the
        // message there itself, and `fleet dlq` reports its reason (a producer's forged one included).
        var next = headers.filter { !isDeathRecord($0.key) }
        if let failedStep {
            next[applied] = .bool(true)
            next[self.failedStep] = .string(failedStep)
        }
        next[self.reason] = .string(reason)
        next[self.error] = .string(truncate(error))
        next[self.queue] = .string(queue)
        next[deadLetteredAt] = .string(RFC3339.format(now))
        return next
    }

    /// A replayed job starts afresh: no attempt count, no failure history, no broker death records.
    static func forReplay(_ headers: AMQPTable) -> AMQPTable {
        headers.filter { !$0.key.hasPrefix("x-fleet-") && !isDeathRecord($0.key) && $0.key != "x-delivery-count" }
    }

    /// The broker's dead-lettering headers: `x-death`, `x-first-death-*`, `x-last-death-*`.
    static func isDeathRecord(_ key: String) -> Bool {
        key == "x-death" || key.hasPrefix("x-first-death") || key.hasPrefix("x-last-death")
    }

    static func truncate(_ text: String) -> String {
        text.count <= maximumErrorLength ? text : String(text.prefix(maximumErrorLength)) + "…"
    }
}
