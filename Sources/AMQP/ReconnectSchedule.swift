/// Which broker node ``AMQPClient`` connects to next, and after what pause.
///
/// Every attempt goes to the next node in turn, so a cluster client leaves a dead node at once
/// rather than retrying it alone. Pauses grow only once every node failed in a row: 0 for the first
/// round, then 100 ms doubling up to `maxDelay`. A connection that came up resets the rounds.
public struct ReconnectSchedule: Sendable, Equatable {
    /// How many broker nodes there are to rotate through.
    public let addressCount: Int
    /// The longest pause between two attempts.
    public let maxDelay: Duration
    /// The node to try next (an index into the configuration's addresses).
    public private(set) var next = 0
    /// Attempts that failed in a row since the last connection that came up.
    public private(set) var failuresInARow = 0

    /// A schedule starting at the first node.
    public init(addressCount: Int, maxDelay: Duration) {
        precondition(addressCount > 0, "at least one broker address")
        self.addressCount = addressCount
        self.maxDelay = maxDelay
    }

    /// A connection to ``next`` came up: the next loss starts a new round from the node after it.
    public mutating func connected() {
        failuresInARow = 0
    }

    /// The connection to the current node failed or was lost: moves on to the next node, and
    /// returns how long to wait before trying it.
    public mutating func failed() -> Duration {
        failuresInARow += 1
        next = (next + 1) % addressCount
        let fullRounds = (failuresInARow - 1) / addressCount
        guard fullRounds > 0 else { return .zero }
        let delay = Duration.milliseconds(100) * (1 << min(fullRounds - 1, 16))
        return min(delay, maxDelay)
    }
}
