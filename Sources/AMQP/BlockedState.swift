/// Whether the broker blocked a connection (`connection.blocked`: a memory or disk alarm), and
/// since when: each change is reported once, however many frames repeat it.
public struct BlockedState: Sendable, Equatable {
    /// The broker's reason while blocked (`low on disk`), nil while not blocked.
    public private(set) var reason: String?
    /// When the current block began.
    public private(set) var since: ContinuousClock.Instant?

    /// Not blocked.
    public init() {}

    /// Whether the broker blocks the connection now.
    public var isBlocked: Bool { reason != nil }

    /// `connection.blocked` arrived: true when this is a change (log it, tell the listeners).
    public mutating func blocked(reason: String, now: ContinuousClock.Instant) -> Bool {
        guard self.reason == nil else { return false }
        self.reason = reason
        since = now
        return true
    }

    /// `connection.unblocked` arrived, or the connection is gone (a new one starts unblocked):
    /// how long the block lasted when this is a change, nil otherwise.
    public mutating func unblocked(now: ContinuousClock.Instant) -> Duration? {
        guard reason != nil, let since else { return nil }
        reason = nil
        self.since = nil
        return now - since
    }
}
