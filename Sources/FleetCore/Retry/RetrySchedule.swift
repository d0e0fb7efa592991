/// When to try a failed job again: one delay per retry, each served by its own retry queue.
///
/// Attempt 1 is the first delivery. After attempt `n` fails transiently the job waits `delays[n-1]`
/// (shortened by up to `jitter` of it, so a burst of failures does not come back in lockstep), and
/// after attempt `delays.count + 1` fails it is dead-lettered.
public struct RetrySchedule: Sendable, Equatable {
    public let delays: [Duration]
    /// Fraction (0 ..< 1) by which a delay may be shortened at random. Only shortened: the retry
    /// queue's own TTL is the full delay and caps it.
    public let jitter: Double

    public init(delays: [Duration], jitter: Double) {
        precondition(!delays.isEmpty && delays == delays.sorted(), "retry delays must be ascending")
        precondition((0..<1).contains(jitter), "jitter is a fraction below 1")
        self.delays = delays
        self.jitter = jitter
    }

    public static let standard = RetrySchedule(
        delays: [.seconds(1), .seconds(5), .seconds(30), .seconds(120), .seconds(600)],
        jitter: 0.1
    )

    public var maximumAttempts: Int { delays.count + 1 }

    public enum Decision: Sendable, Equatable {
        /// Publish to the retry queue of `tier` (an index into `delays`) with this per-message TTL.
        case retry(tier: Int, delay: Duration)
        case deadLetter
    }

    /// - Parameter random: uniform in 0 ..< 1; injected so the maths is testable.
    public func afterFailure(ofAttempt attempt: Int, random: Double) -> Decision {
        guard attempt >= 1, attempt <= delays.count else { return .deadLetter }
        let full = delays[attempt - 1].milliseconds
        let shortened = Int64((Double(full) * (1 - jitter * random)).rounded(.down))
        return .retry(tier: attempt - 1, delay: .milliseconds(max(1, shortened)))
    }

    /// The next hop of a job whose `not_before` is `remaining` away: the longest tier that does not
    /// overshoot, or the shortest tier with the exact remainder. The job is checked again on return,
    /// so it never runs early and waits in the broker rather than in a worker.
    public func delayHop(remaining: Duration) -> (tier: Int, delay: Duration) {
        if let tier = delays.lastIndex(where: { $0 <= remaining }) {
            return (tier, delays[tier])
        }
        return (0, .milliseconds(max(1, remaining.milliseconds)))
    }
}

/// The pauses between publishes of a retry or dead-letter copy the broker refused: doubling from
/// 100 ms to 30 s, each shortened by up to a quarter at random so refused copies spread out.
public struct RepublishBackoff: Sendable, Equatable {
    public static let first = Duration.milliseconds(100)
    public static let maximum = Duration.seconds(30)

    public private(set) var failures = 0

    public init() {}

    /// The pause after one more refusal. - Parameter random: uniform in 0 ..< 1.
    public mutating func next(random: Double) -> Duration {
        failures += 1
        let doublings = min(failures - 1, 20)
        let full = min(Self.first.milliseconds << doublings, Self.maximum.milliseconds)
        return .milliseconds(max(1, Int64((Double(full) * (1 - 0.25 * random)).rounded(.down))))
    }
}
