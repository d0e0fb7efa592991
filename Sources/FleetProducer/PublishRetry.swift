import AMQP

/// How a producer keeps publishing through a broker loss: the connection dropped before the
/// confirm, the broker could not be reached, closed the connection, or nacked the message. Each
/// pause is twice the previous one, up to ``maximumDelay``; an unroutable message, a refused one and a
/// closed producer are not retried (see ``isRetryable(_:)``).
///
/// The defaults, 8 attempts with pauses of 0.1, 0.2, 0.4, 0.8, 1.6, 3.2 and 5 s, keep trying for
/// about 11 s. A caller that must answer sooner, such as an HTTP handler, passes fewer attempts:
///
/// ```swift
/// let retry = PublishRetry(attempts: 3, firstDelay: .milliseconds(100), maximumDelay: .milliseconds(500))
/// ```
///
/// A retried publish may store the message twice (the first may have reached the queue before the
/// connection dropped); workers apply it once, by its envelope id or idempotency key.
public struct PublishRetry: Sendable {
    /// Attempts in all, the first included; at least 1.
    public var attempts: Int
    /// The pause after the first failed attempt.
    public var firstDelay: Duration
    /// The longest pause between two attempts.
    public var maximumDelay: Duration

    /// - Parameters:
    ///   - attempts: attempts in all, the first included; a value below 1 means 1 (no retry).
    ///   - firstDelay: the pause after the first failed attempt; each later pause doubles it.
    ///   - maximumDelay: the cap on each pause.
    public init(attempts: Int = 8, firstDelay: Duration = .milliseconds(100), maximumDelay: Duration = .seconds(5)) {
        self.attempts = max(1, attempts)
        self.firstDelay = firstDelay
        self.maximumDelay = maximumDelay
    }

    /// The pause before attempt `attempt + 1`, after `attempt` failed (1-based): ``firstDelay`` doubled
    /// `attempt - 1` times, at most ``maximumDelay``.
    public func delay(afterAttempt attempt: Int) -> Duration {
        var delay = firstDelay
        for _ in 1..<max(1, attempt) {
            delay = min(delay * 2, maximumDelay)
        }
        return min(delay, maximumDelay)
    }

    /// Whether a publish that failed with `error` is worth another attempt: the connection was lost
    /// or could not be opened, the broker nacked the message, or the broker closed the connection
    /// with 320 CONNECTION_FORCED (it is shutting down, or an operator closed it) or 541
    /// INTERNAL_ERROR (e.g. a quorum queue's leader just went away). Not an `EnvelopeRejection`,
    /// an unroutable message, another refusal by the broker (404 no such exchange, 403 no
    /// permission) nor a closed producer.
    public static func isRetryable(_ error: any Error) -> Bool {
        guard let error = error as? AMQPError else { return false }
        switch error.code {
        case .connection, .nacked: return true
        case .server: return error.replyCode == 320 || error.replyCode == 541
        default: return false
        }
    }

    nonisolated(nonsending) func run(_ publish: nonisolated(nonsending) () async throws -> Void) async throws {
        var attempt = 1
        while true {
            do {
                return try await publish()
            } catch  where attempt < attempts && Self.isRetryable(error) {
                try await Task.sleep(for: delay(afterAttempt: attempt))
                attempt += 1
            }
        }
    }
}
