/// A lease on a distributed lock, returned by ``RedisLock``.
public struct LockLease: Sendable, Equatable {
    /// The Redis key of the lock.
    public let key: String
    /// Random 128-bit hex, unique per acquisition: only its holder can release or extend the lease.
    public let token: String
    /// Strictly increasing per key across all holders. Pass it to stores as a fencing token so that
    /// a holder whose lease silently expired cannot overwrite the work of the next one.
    public let fence: Int64
    /// When the lease ends at the latest, measured from just before the request was sent, so the
    /// local view never outlives the server's.
    public let expiresAt: ContinuousClock.Instant
}
