/// A lease-based mutual-exclusion lock on one Redis key (single-instance Redis, not Redlock).
///
/// The key holds the holder's random token and expires after `lease`, so a crashed holder blocks
/// others for at most one lease. A holder must finish (or ``extend(_:)``) before ``LockLease/expiresAt``;
/// stores it writes to should also check ``LockLease/fence``, since no lease can stop a paused process.
///
/// The fence counter lives in ``fenceKey`` (`"<key>:fence"`). By default it never expires. Redis may
/// still lose it (no persistence, a restart, FLUSHALL), after which fences start again from 1 and fall
/// below what stores recorded: a store that refuses a fence should report the fence it holds to
/// ``raiseFence(toAtLeast:)`` and try again with a new lease. A caller that does so may also give the
/// counter a `fenceRetention`, after which an idle counter expires (refreshed on every acquisition).
public struct RedisLock: Sendable {
    public let client: RedisClient
    public let key: String
    public let lease: Duration
    /// How long the fence counter outlives its last acquisition; nil: forever.
    public let fenceRetention: Duration?

    public init(client: RedisClient, key: String, lease: Duration, fenceRetention: Duration? = nil) {
        precondition(lease >= .milliseconds(1), "a lock lease must be at least 1 ms")
        precondition(fenceRetention.map { $0 >= .seconds(1) } ?? true, "a fence retention must be at least 1 s")
        self.client = client
        self.key = key
        self.lease = lease
        self.fenceRetention = fenceRetention
    }

    /// The key of the fence counter.
    public var fenceKey: String { key + ":fence" }

    // SET NX and INCR in one script, so a fence is taken exactly when the lock is. ARGV[3], when
    // present, is the counter's retention in milliseconds.
    private static let acquireScript = RedisScript(
        """
        if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then
          local fence = redis.call('INCR', KEYS[2])
          if ARGV[3] then redis.call('PEXPIRE', KEYS[2], ARGV[3]) end
          return fence
        end
        return false
        """
    )
    // Only ever raises: a counter already at or above the value is left alone (returns 0).
    private static let raiseFenceScript = RedisScript(
        """
        local current = tonumber(redis.call('GET', KEYS[1]) or '0')
        local wanted = tonumber(ARGV[1])
        if current < wanted then
          redis.call('SET', KEYS[1], ARGV[1])
          if ARGV[2] then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
          return 1
        end
        return 0
        """
    )
    private static let releaseScript = RedisScript(
        """
        if redis.call('GET', KEYS[1]) == ARGV[1] then
          return redis.call('DEL', KEYS[1])
        end
        return 0
        """
    )
    private static let extendScript = RedisScript(
        """
        if redis.call('GET', KEYS[1]) == ARGV[1] then
          return redis.call('PEXPIRE', KEYS[1], ARGV[2])
        end
        return 0
        """
    )

    /// One attempt. Returns nil when someone else holds the lock.
    public func tryAcquire() async throws -> LockLease? {
        let token = Self.randomToken()
        let start = ContinuousClock.now
        var arguments = [token, String(lease.wholeMillisecondsRoundedUp)]
        if let fenceRetention { arguments.append(String(fenceRetention.wholeMillisecondsRoundedUp)) }
        let reply = try await client.eval(Self.acquireScript, keys: [key, fenceKey], arguments: arguments)
        if reply == .null { return nil }
        guard let fence = reply.int else {
            throw RedisError(
                code: .unexpectedReply,
                message: "lock script returned \(reply)",
                address: client.configuration.redactedAddress
            )
        }
        return LockLease(key: key, token: token, fence: fence, expiresAt: start + lease)
    }

    /// Raises the fence counter to `fence` unless it is already there or above, atomically, so the
    /// next lease gets a greater fence. Call it with the fence a store holds after the store refused
    /// a lease's fence.
    ///
    /// - Returns: true if the counter was below `fence` (Redis lost it, or it expired: the refusal
    ///   was not caused by a newer holder); false if it already was at or above, meaning a newer
    ///   holder has taken a fence at least that high (the lease was really lost).
    @discardableResult
    public func raiseFence(toAtLeast fence: Int64) async throws -> Bool {
        var arguments = [String(fence)]
        if let fenceRetention { arguments.append(String(fenceRetention.wholeMillisecondsRoundedUp)) }
        let reply = try await client.eval(Self.raiseFenceScript, keys: [fenceKey], arguments: arguments)
        return reply.int == 1
    }

    /// Retries ``tryAcquire()`` with short jittered sleeps until it succeeds or `timeout` passes.
    /// Waiting suspends the task; it blocks no thread. Honours task cancellation.
    ///
    /// - Throws: ``RedisLockError/timeout(_:)`` when the lock stays held for `timeout`.
    public func acquire(timeout: Duration) async throws -> LockLease {
        let deadline = ContinuousClock.now + timeout
        var pause = Duration.milliseconds(2)
        while true {
            if let lease = try await tryAcquire() { return lease }
            let remaining = deadline - ContinuousClock.now
            guard remaining > .zero else { throw RedisLockError.timeout(key) }
            // Jitter spreads contenders so they do not retry in lockstep; the cap keeps waits short.
            let jittered = pause * Double.random(in: 0.5...1.5)
            try await Task.sleep(for: min(jittered, remaining))
            pause = min(pause * 2, .milliseconds(50))
        }
    }

    /// Deletes the key only if it still holds this lease's token.
    ///
    /// - Returns: false if the lease had expired or another holder had taken over (nothing is deleted).
    @discardableResult
    public func release(_ lease: LockLease) async throws -> Bool {
        let reply = try await client.eval(Self.releaseScript, keys: [lease.key], arguments: [lease.token])
        return reply.int == 1
    }

    /// Resets the lease's time to live to the full `lease` duration, if it is still held.
    ///
    /// - Throws: ``RedisLockError/lost(_:)`` when the lease expired or another holder took over.
    public func extend(_ lease: LockLease) async throws -> LockLease {
        let start = ContinuousClock.now
        let reply = try await client.eval(
            Self.extendScript,
            keys: [lease.key],
            arguments: [lease.token, String(self.lease.wholeMillisecondsRoundedUp)]
        )
        guard reply.int == 1 else { throw RedisLockError.lost(lease.key) }
        return LockLease(key: lease.key, token: lease.token, fence: lease.fence, expiresAt: start + self.lease)
    }

    /// Acquires the lock, runs `body`, and releases the lock, also when `body` throws or the task
    /// is cancelled.
    ///
    /// `body` should finish within the lease; a release that finds the lease gone is not an error here.
    public func withLock<T: Sendable>(
        timeout: Duration,
        _ body: @Sendable (LockLease) async throws -> T
    ) async throws -> T {
        let lease = try await acquire(timeout: timeout)
        let result: T
        do {
            result = try await body(lease)
        } catch {
            // The body's error matters more than a failed release; the lease expires anyway.
            _ = try? await releaseEvenIfCancelled(lease)
            throw error
        }
        try await releaseEvenIfCancelled(lease)
        return result
    }

    /// A cancelled task cannot run pool work, so a plain release would leave the lock blocking others
    /// for the rest of the lease: then a new task, which does not inherit the cancellation, releases
    /// it. Only then: a task per release was a visible cost on the per-job path.
    private func releaseEvenIfCancelled(_ lease: LockLease) async throws {
        if !Task.isCancelled {
            do {
                try await release(lease)
                return
            } catch is CancellationError {
                // Cancelled while releasing: the pool refused the work; fall through.
            }
        }
        _ = try await Task { try await release(lease) }.value
    }

    private static func randomToken() -> String {
        var generator = SystemRandomNumberGenerator()
        let high = generator.next() as UInt64
        let low = generator.next() as UInt64
        return hex(high) + hex(low)
    }

    private static func hex(_ value: UInt64) -> String {
        let digits = String(value, radix: 16)
        return String(repeating: "0", count: 16 - digits.count) + digits
    }
}
