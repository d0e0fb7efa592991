import KernelRandom

/// A lease-based mutual-exclusion lock on one Redis key (single-instance Redis, not Redlock).
///
/// The key holds the holder's random token and expires after `lease`, so a crashed holder blocks
/// others for at most one lease. A holder must finish (or ``extend(_:)``) before ``LockLease/expiresAt``;
/// stores it writes to should also check ``LockLease/fence``, since no lease can stop a paused process.
///
/// **Waiting without polling.** ``acquire(timeout:)`` and ``withLock(timeout:_:)`` queue the tasks of
/// one process (one ``RedisClient``) that want the same key in memory, first come first served; only
/// the first of them talks to Redis. A release hands the lease to the next local task, which takes it
/// over with a new token and a new fence in one script. Processes waiting in Redis join the key's
/// list of waiting processes (`"<key>:waiters"`, oldest first) and block on their own wake list
/// (`"<key>:wake:<instance>"`, `BLPOP`); a release, or a holder that has handed over locally
/// ``handoversBeforeYield`` times in a row, reserves the key for the first waiting process and
/// pushes its wake. Each wait is capped (``wakeWaitCap``) and the acquisition tried again, so a
/// holder that crashed (its lease expires) or a wake that never comes costs at most one cap. A
/// waiting process blocks one pooled connection per waited key, at most ``wakeWaitCap`` at a time.
/// A reserved key holds `"r:<instance>"`, which no token matches, and expires after ``reservation``
/// if that process is gone. The scripts name `<key>:waiters:<instance>` and `<key>:wake:<instance>`
/// themselves: fine on one Redis server, not on Redis Cluster.
///
/// The fence counter lives in ``fenceKey`` (`"<key>:fence"`). By default it never expires. Redis may
/// still lose it (no persistence, a restart, FLUSHALL), after which fences start again from 1 and fall
/// below what stores recorded: a store that refuses a fence should report the fence it holds to
/// ``raiseFence(toAtLeast:)`` and try again with a new lease. A caller that does so may also give the
/// counter a `fenceRetention`, after which an idle counter expires (refreshed on every acquisition).
public struct RedisLock: Sendable {
    /// The client whose server holds the lock and whose tasks queue for it in memory.
    public let client: RedisClient
    /// The Redis key of the lock; `<key>:fence`, `<key>:waiters` and `<key>:wake:*` are used next to it.
    public let key: String
    /// How long an acquisition holds the lock unless extended or released first.
    public let lease: Duration
    /// How long the fence counter outlives its last acquisition; nil: forever.
    public let fenceRetention: Duration?
    /// What the lock guards (`event`, `activity`), the label of `fleet_lock_wait_seconds`.
    public let kind: String

    /// Local hand-overs in a row after which a holder lets a waiting process have the key.
    static let handoversBeforeYield = 8
    /// The longest a head waits for a wake before trying Redis again.
    static let wakeWaitCap = Duration.milliseconds(100)
    /// How long a key stays reserved for the waiting process it was handed to.
    static let defaultReservation = Duration.milliseconds(500)
    /// This lock's reservation (``defaultReservation``; tests that check a reserved key from a
    /// loaded machine use a longer one, so the check cannot come after it lapsed).
    var reservation = RedisLock.defaultReservation
    /// How long a waiting process counts as waiting after its last attempt (it tries at least
    /// every ``wakeWaitCap``), and how long an unread wake stays.
    static let defaultWaiterLiveness = Duration.seconds(1)
    /// This lock's waiter liveness (``defaultWaiterLiveness``; tests that hand a key over between
    /// processes on a loaded machine use a longer one, so a waiter paused for over a second between
    /// its attempts still counts as waiting).
    var waiterLiveness = RedisLock.defaultWaiterLiveness

    /// A lock on `key`; talks to Redis only when acquired.
    ///
    /// - Parameter kind: what the lock guards, for metrics: a fixed word, never the key.
    /// - Precondition: `lease` is at least 1 ms, `fenceRetention` (when given) at least 1 s.
    public init(
        client: RedisClient,
        key: String,
        lease: Duration,
        fenceRetention: Duration? = nil,
        kind: String = "other"
    ) {
        precondition(lease >= .milliseconds(1), "a lock lease must be at least 1 ms")
        precondition(fenceRetention.map { $0 >= .seconds(1) } ?? true, "a fence retention must be at least 1 s")
        self.client = client
        self.key = key
        self.lease = lease
        self.fenceRetention = fenceRetention
        self.kind = kind
    }

    /// The key of the fence counter.
    public var fenceKey: String { key + ":fence" }
    /// The sorted set of waiting processes (score: when each began waiting).
    var waitersKey: String { key + ":waiters" }
    /// Where releases push the wake of this process.
    var wakeKey: String { key + ":wake:" + client.lockQueue.instance }

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

    // The first live waiting process other than ARGV-given `except`, dropping those gone quiet.
    // Each waiting process keeps "<waiters>:<instance>" alive while it waits.
    private static let nextWaiter = """
        local function nextWaiter(waiters, except)
          for _, w in ipairs(redis.call('ZRANGE', waiters, 0, -1)) do
            if redis.call('EXISTS', waiters .. ':' .. w) == 1 then
              if w ~= except then return w end
            else
              redis.call('ZREM', waiters, w)
            end
          end
          return nil
        end
        local function reserve(lock, w, reservation, liveness)
          redis.call('SET', lock, 'r:' .. w, 'PX', reservation)
          local wake = lock .. ':wake:' .. w
          redis.call('RPUSH', wake, '1')
          redis.call('PEXPIRE', wake, liveness)
        end
        """

    // The head of a process's queue: take the key when free or reserved for this process; else
    // join the waiting processes (keeping the place of an earlier join) and report alive.
    // KEYS: lock, fence, waiters. ARGV: token, lease ms, instance, liveness ms, retention ms or '',
    // '1' when this process may have joined (not its first attempt).
    private static let acquireOrWaitScript = RedisScript(
        """
        local current = redis.call('GET', KEYS[1])
        if current == false or current == 'r:' .. ARGV[3] then
          redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
          local fence = redis.call('INCR', KEYS[2])
          if ARGV[5] ~= '' then redis.call('PEXPIRE', KEYS[2], ARGV[5]) end
          if ARGV[6] == '1' or current ~= false then
            redis.call('ZREM', KEYS[3], ARGV[3])
            redis.call('DEL', KEYS[3] .. ':' .. ARGV[3])
          end
          return fence
        end
        local now = redis.call('TIME')
        redis.call('ZADD', KEYS[3], 'NX', now[1] * 1000 + math.floor(now[2] / 1000), ARGV[3])
        redis.call('PEXPIRE', KEYS[3], ARGV[4])
        redis.call('SET', KEYS[3] .. ':' .. ARGV[3], '1', 'PX', ARGV[4])
        return false
        """
    )

    // A local hand-over: the new holder replaces the previous holder's token with its own and takes
    // a new fence, unless another process holds the key (false). After enough hand-overs in a row
    // (ARGV[5] = '1'), a waiting process gets the key instead (-1).
    // KEYS: lock, fence, waiters. ARGV: old token, new token, lease ms, instance, may yield,
    // reservation ms, liveness ms, retention ms or ''.
    private static let takeOverScript = RedisScript(
        nextWaiter + "\n" + """
            local current = redis.call('GET', KEYS[1])
            if current ~= false and current ~= ARGV[1] and current ~= 'r:' .. ARGV[4] then return false end
            if ARGV[5] == '1' then
              local w = nextWaiter(KEYS[3], ARGV[4])
              if w then
                reserve(KEYS[1], w, ARGV[6], ARGV[7])
                return -1
              end
            end
            redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
            local fence = redis.call('INCR', KEYS[2])
            if ARGV[8] ~= '' then redis.call('PEXPIRE', KEYS[2], ARGV[8]) end
            return fence
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

    // Token-checked; the key goes to the first waiting process, if any, rather than to whoever
    // polls first. KEYS: lock, waiters. ARGV: token, reservation ms, liveness ms.
    private static let releaseScript = RedisScript(
        nextWaiter + "\n" + """
            if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
            local w = nextWaiter(KEYS[2], nil)
            if w then
              reserve(KEYS[1], w, ARGV[2], ARGV[3])
            else
              redis.call('DEL', KEYS[1])
            end
            return 1
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

    /// One attempt. Returns nil when someone else holds the lock. It does not queue: a lease taken
    /// here is released in Redis (``release(_:)``), never handed over locally.
    nonisolated(nonsending) public func tryAcquire() async throws -> LockLease? {
        let token = Self.randomToken()
        let start = ContinuousClock.now
        var arguments = [token, String(lease.wholeMillisecondsRoundedUp)]
        if let fenceRetention { arguments.append(String(fenceRetention.wholeMillisecondsRoundedUp)) }
        let reply = try await client.eval(Self.acquireScript, keys: [key, fenceKey], arguments: arguments)
        return try lease(from: reply, token: token, start: start)
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

    /// Waits for the lock until `timeout` passes: in line behind this process's other tasks for the
    /// key, then in Redis until a release wakes it (see the type's notes). Waiting suspends the
    /// task; it blocks no thread. Honours task cancellation. Release the lease with ``release(_:)``.
    ///
    /// - Throws: ``RedisLockError/timeout(_:)`` when the lock stays held for `timeout`.
    nonisolated(nonsending) public func acquire(timeout: Duration) async throws -> LockLease {
        let start = ContinuousClock.now
        defer { LockWaitMetrics.record(kind: kind, since: start) }
        let deadline = start + timeout
        let queue = client.lockQueue
        let (id, grant) = await queue.enter(key, deadline: deadline)
        var handed: LockLease?
        var streak = 0
        switch grant {
        case .timedOut: throw RedisLockError.timeout(key)
        case .cancelled: throw CancellationError()
        case .acquire: break
        case .handover(let previous, let handovers):
            handed = previous
            streak = handovers
        }
        do {
            if let previous = handed {
                let taken = try await takeOver(previous, yield: streak >= Self.handoversBeforeYield)
                handed = nil
                if let taken {
                    queue.holding(key, id: id, lease: taken, streak: streak)
                    return taken
                }
                queue.acquiring(key, id: id, deadline: deadline)
            }
            let lease = try await acquireInRedis(deadline: deadline)
            queue.holding(key, id: id, lease: lease, streak: 0)
            return lease
        } catch {
            if let previous = handed {
                // The hand-over failed midway: pass the previous lease on as if releasing it.
                _ = try? await release(previous)
            } else {
                queue.released(key, owner: id)
            }
            throw error
        }
    }

    /// Takes over a lease handed over locally. Nil when another process holds the key, or when it
    /// was handed to a waiting process.
    nonisolated(nonsending) private func takeOver(_ previous: LockLease, yield: Bool) async throws -> LockLease? {
        let token = Self.randomToken()
        let start = ContinuousClock.now
        let arguments = [
            previous.token, token, String(lease.wholeMillisecondsRoundedUp), client.lockQueue.instance,
            yield ? "1" : "0", String(reservation.wholeMillisecondsRoundedUp),
            String(waiterLiveness.wholeMillisecondsRoundedUp),
            fenceRetention.map { String($0.wholeMillisecondsRoundedUp) } ?? "",
        ]
        let reply = try await client.eval(Self.takeOverScript, keys: [key, fenceKey, waitersKey], arguments: arguments)
        if reply.int == -1 { return nil }
        return try lease(from: reply, token: token, start: start)
    }

    /// The head of this process's line: tries Redis, and between tries blocks on its wake list for
    /// at most ``wakeWaitCap``.
    nonisolated(nonsending) private func acquireInRedis(deadline: ContinuousClock.Instant) async throws -> LockLease {
        let liveness = String(waiterLiveness.wholeMillisecondsRoundedUp)
        let retention = fenceRetention.map { String($0.wholeMillisecondsRoundedUp) } ?? ""
        let keys = [key, fenceKey, waitersKey]
        let wakeKey = self.wakeKey
        var joined = false
        while true {
            let token = Self.randomToken()
            let start = ContinuousClock.now
            let arguments = [
                token, String(lease.wholeMillisecondsRoundedUp), client.lockQueue.instance, liveness, retention,
                joined ? "1" : "0",
            ]
            let reply = try await client.eval(Self.acquireOrWaitScript, keys: keys, arguments: arguments)
            if let lease = try lease(from: reply, token: token, start: start) { return lease }
            joined = true
            let remaining = deadline - ContinuousClock.now
            guard remaining > .zero else {
                // Leave the waiting processes, or a release would reserve the key for no one.
                let instance = client.lockQueue.instance
                _ = try? await client.pipeline([["ZREM", waitersKey, instance], ["DEL", waitersKey + ":" + instance]])
                throw RedisLockError.timeout(key)
            }
            let wait = min(remaining, Self.wakeWaitCap).wholeMillisecondsRoundedUp
            try await client.command(["BLPOP", wakeKey, Self.seconds(milliseconds: wait)])
        }
    }

    /// Returns the lease to the next task of this process waiting for the key, if any (no Redis
    /// round trip), else deletes the key in Redis if it still holds this lease's token, or hands it
    /// to the first waiting process. Also works from a cancelled task.
    ///
    /// - Returns: false if the lease had expired or another holder had taken over (nothing is
    ///   deleted). After a local hand-over: whether the lease had not yet expired.
    @discardableResult
    nonisolated(nonsending) public func release(_ lease: LockLease) async throws -> Bool {
        let queue = client.lockQueue
        switch queue.release(lease) {
        case .handedOver:
            return ContinuousClock.now < lease.expiresAt
        case .notLocal:
            return try await releaseInRedis(lease)
        case .inRedis(let owner):
            defer { queue.released(lease.key, owner: owner) }
            return try await releaseInRedis(lease)
        }
    }

    /// A cancelled task cannot run pool work, so a plain release would leave the lock blocking others
    /// for the rest of the lease: then a new task, which does not inherit the cancellation, releases
    /// it. Only then: a task per release was a visible cost on the per-job path.
    nonisolated(nonsending) private func releaseInRedis(_ lease: LockLease) async throws -> Bool {
        let keys = [lease.key, lease.key + ":waiters"]
        let arguments = [
            lease.token, String(reservation.wholeMillisecondsRoundedUp),
            String(waiterLiveness.wholeMillisecondsRoundedUp),
        ]
        let client = self.client
        if !Task.isCancelled {
            do {
                return try await client.eval(Self.releaseScript, keys: keys, arguments: arguments).int == 1
            } catch is CancellationError {
                // Cancelled while releasing: the pool refused the work; fall through.
            }
        }
        return try await Task {
            try await client.eval(Self.releaseScript, keys: keys, arguments: arguments).int == 1
        }.value
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
        let extended = LockLease(key: lease.key, token: lease.token, fence: lease.fence, expiresAt: start + self.lease)
        client.lockQueue.extended(extended)
        return extended
    }

    /// Acquires the lock, runs `body`, and releases the lock, also when `body` throws or the task
    /// is cancelled.
    ///
    /// `body` should finish within the lease; a release that finds the lease gone is not an error here.
    nonisolated(nonsending) public func withLock<T: Sendable>(
        timeout: Duration,
        _ body: @Sendable (LockLease) async throws -> T
    ) async throws -> T {
        let lease = try await acquire(timeout: timeout)
        let result: T
        do {
            result = try await body(lease)
        } catch {
            // The body's error matters more than a failed release; the lease expires anyway.
            _ = try? await release(lease)
            throw error
        }
        try await release(lease)
        return result
    }

    private func lease(from reply: RedisValue, token: String, start: ContinuousClock.Instant) throws -> LockLease? {
        if reply == .null { return nil }
        guard let fence = reply.int, fence > 0 else {
            throw RedisError(
                code: .unexpectedReply,
                message: "lock script returned \(reply)",
                address: client.configuration.redactedAddress
            )
        }
        return LockLease(key: key, token: token, fence: fence, expiresAt: start + lease)
    }

    /// `BLPOP`'s timeout: seconds with a decimal fraction.
    private static func seconds(milliseconds: Int64) -> String {
        let fraction = String(milliseconds % 1000)
        return "\(milliseconds / 1000)." + String(repeating: "0", count: 3 - fraction.count) + fraction
    }

    /// 32 lowercase hex digits from 16 random bytes of the process's pool (``RandomBytes``: one
    /// `getrandom` call per 256 tokens, where drawing them one by one cost a call each acquisition).
    static func randomToken() -> String {
        var raw = RandomBytes.shared.take16()
        return withUnsafeBytes(of: &raw) { bytes in
            String(unsafeUninitializedCapacity: 32) { out in
                let digits: StaticString = "0123456789abcdef"
                for (index, byte) in bytes.enumerated() {
                    out[2 * index] = digits.utf8Start[Int(byte >> 4)]
                    out[2 * index + 1] = digits.utf8Start[Int(byte & 15)]
                }
                return 32
            }
        }
    }
}
