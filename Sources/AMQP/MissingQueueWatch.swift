/// Bookkeeping for a subscribed queue the broker does not have (not declared yet, or deleted while
/// consumed): when to look for it again, and when to say so in the log.
///
/// Looks grow from 250 ms doubling up to `maxProbeInterval` (2 s by default, so consumption starts
/// within a few seconds of the queue appearing, without a reconnect); the log gets one line when the
/// queue goes missing and then at most one per `logInterval`, not one per look.
public struct MissingQueueWatch: Sendable {
    /// The longest pause between two looks.
    public let maxProbeInterval: Duration
    /// The shortest time between two log lines about the same missing queue.
    public let logInterval: Duration
    /// When the queue was found missing.
    public let since: ContinuousClock.Instant
    /// When to look again.
    public private(set) var nextProbe: ContinuousClock.Instant
    private var interval = Duration.milliseconds(250)
    private var lastLogged: ContinuousClock.Instant

    /// The queue was found missing at `now`; the caller logs that once.
    public init(
        now: ContinuousClock.Instant,
        maxProbeInterval: Duration = .seconds(2),
        logInterval: Duration = .seconds(60)
    ) {
        self.since = now
        self.maxProbeInterval = maxProbeInterval
        self.logInterval = logInterval
        self.lastLogged = now
        self.nextProbe = now + min(interval, maxProbeInterval)
    }

    /// Whether a look is due.
    public func isDue(now: ContinuousClock.Instant) -> Bool { now >= nextProbe }

    /// Another look found the queue still missing: schedules the next one and returns whether to
    /// log it (once per ``logInterval``).
    public mutating func stillMissing(now: ContinuousClock.Instant) -> Bool {
        interval = min(interval * 2, maxProbeInterval)
        nextProbe = now + interval
        guard now - lastLogged >= logInterval else { return false }
        lastLogged = now
        return true
    }
}
