import NIOConcurrencyHelpers

/// What a task waiting in a ``LockQueue`` is given.
enum LockGrant: Sendable {
    /// The previous local holder's lease, still held in Redis: take it over with a new token and
    /// fence (one script, no polling). `streak` counts the local hand-overs in a row.
    case handover(LockLease, streak: Int)
    /// Head of the local queue: acquire from Redis (and wait there for a wake).
    case acquire
    case timedOut
    case cancelled
}

/// The in-memory FIFO of the tasks of one process waiting for the same lock key, one per
/// ``RedisClient``.
///
/// Only one task per key and process (the *owner*) talks to Redis: it holds the lease, or it is
/// the head acquiring it. The others wait here in arrival order, without any Redis traffic, and
/// the holder's release hands its lease to the first of them. A holder that never releases blocks
/// them only until its lease expires, as it would in Redis: a waiter then takes the owner's place.
final class LockQueue: Sendable {
    /// Names this queue (this process) in Redis' per-key list of waiting processes.
    let instance: String

    private struct Waiter {
        let id: UInt64
        let deadline: ContinuousClock.Instant
        let continuation: CheckedContinuation<LockGrant, Never>
        /// Times the wait out; cancelled when the waiter leaves the line otherwise.
        var timer: Task<Void, Never>?

        func resume(_ grant: LockGrant) {
            timer?.cancel()
            continuation.resume(returning: grant)
        }
    }

    private struct Entry {
        var owner: UInt64
        /// The token of the lease the owner holds or was handed; nil while it acquires.
        var token: String?
        /// Past this instant the owner is presumed gone: its lease expired, or its acquisition
        /// outlived its deadline.
        var expires: ContinuousClock.Instant
        var streak = 0
        var waiters: [Waiter] = []
    }

    private struct State {
        var nextId: UInt64 = 0
        var entries: [String: Entry] = [:]
    }

    /// A plain pthread mutex, not `Synchronization.Mutex`: on Linux (Swift 6.3) that one is a
    /// priority-inheritance futex, which hands a contended lock to a waiter that is not running yet;
    /// with 16 job threads on 2 cores, a fifth of a worker's CPU went to spinning on it
    /// (swiftlang/swift#88440).
    private let state = NIOLockedValueBox(State())

    init(instance: String) {
        self.instance = instance
    }

    /// Becomes the key's owner at once (``LockGrant/acquire``), or waits in line until handed the
    /// lease or made head, until `deadline` (``LockGrant/timedOut``), or until the task is cancelled.
    nonisolated(nonsending) func enter(
        _ key: String,
        deadline: ContinuousClock.Instant
    ) async -> (id: UInt64, grant: LockGrant) {
        let id = state.withLockedValue { state in
            state.nextId += 1
            return state.nextId
        }
        let grant = await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<LockGrant, Never>) in
                let queued = state.withLockedValue { state -> ContinuousClock.Instant? in
                    guard var entry = state.entries[key] else {
                        state.entries[key] = Entry(owner: id, token: nil, expires: deadline)
                        return nil
                    }
                    entry.waiters.append(Waiter(id: id, deadline: deadline, continuation: continuation))
                    let wake = min(deadline, entry.expires)
                    state.entries[key] = entry
                    return wake
                }
                guard let wake = queued else {
                    continuation.resume(returning: .acquire)
                    return
                }
                // Times the wait out, or replaces an owner presumed gone.
                let timer = Task { [self] in
                    var next: ContinuousClock.Instant? = wake
                    while let instant = next {
                        do {
                            try await Task.sleep(until: instant, clock: .continuous)
                        } catch {
                            return  // the waiter left the line
                        }
                        next = expire(key, id: id)
                    }
                }
                let attached = state.withLockedValue { state -> Bool in
                    guard let index = state.entries[key]?.waiters.firstIndex(where: { $0.id == id }) else {
                        return false
                    }
                    state.entries[key]?.waiters[index].timer = timer
                    return true
                }
                if !attached { timer.cancel() }
                if Task.isCancelled { cancel(key, id: id) }
            }
        } onCancel: {
            cancel(key, id: id)
        }
        return (id, grant)
    }

    /// The owner now holds `lease` (acquired, or taken over after `streak` local hand-overs).
    func holding(_ key: String, id: UInt64, lease: LockLease, streak: Int) {
        state.withLockedValue { state in
            guard var entry = state.entries[key], entry.owner == id else { return }
            entry.token = lease.token
            entry.expires = lease.expiresAt
            entry.streak = streak
            state.entries[key] = entry
        }
    }

    /// The owner lost the lease it was handed and acquires from Redis until `deadline`.
    func acquiring(_ key: String, id: UInt64, deadline: ContinuousClock.Instant) {
        state.withLockedValue { state in
            guard var entry = state.entries[key], entry.owner == id else { return }
            entry.token = nil
            entry.expires = deadline
            entry.streak = 0
            state.entries[key] = entry
        }
    }

    /// The lease was extended.
    func extended(_ lease: LockLease) {
        state.withLockedValue { state in
            guard var entry = state.entries[lease.key], entry.token == lease.token else { return }
            entry.expires = lease.expiresAt
            state.entries[lease.key] = entry
        }
    }

    enum Release {
        /// The next local waiter took the lease over: nothing to do in Redis.
        case handedOver
        /// Release it in Redis, then call ``released(_:owner:)``.
        case inRedis(owner: UInt64)
        /// Not this queue's lease (taken with `tryAcquire`, or its owner was replaced): release it
        /// in Redis only.
        case notLocal
    }

    func release(_ lease: LockLease) -> Release {
        let (release, waiter) = state.withLockedValue { state -> (Release, (Waiter, Int)?) in
            guard var entry = state.entries[lease.key], entry.token == lease.token else { return (.notLocal, nil) }
            guard !entry.waiters.isEmpty else {
                // Stays owned until Redis has the key back, so a newcomer queues instead of racing it.
                entry.token = nil
                state.entries[lease.key] = entry
                return (.inRedis(owner: entry.owner), nil)
            }
            let next = entry.waiters.removeFirst()
            entry.owner = next.id
            entry.streak += 1
            state.entries[lease.key] = entry
            return (.handedOver, (next, entry.streak))
        }
        if let (next, streak) = waiter { next.resume(.handover(lease, streak: streak)) }
        return release
    }

    /// The owner released the lease in Redis, or gives up acquiring: the next waiter becomes head.
    func released(_ key: String, owner: UInt64) {
        let next = state.withLockedValue { state -> Waiter? in
            guard var entry = state.entries[key], entry.owner == owner else { return nil }
            guard !entry.waiters.isEmpty else {
                state.entries[key] = nil
                return nil
            }
            let next = entry.waiters.removeFirst()
            entry.owner = next.id
            entry.token = nil
            entry.expires = next.deadline
            entry.streak = 0
            state.entries[key] = entry
            return next
        }
        next?.resume(.acquire)
    }

    /// The number of tasks of this process queued behind the owner of `key`; for tests.
    func waiting(_ key: String) -> Int {
        state.withLockedValue { $0.entries[key]?.waiters.count ?? 0 }
    }

    /// A waiter's timer fired. Returns when to look again, or nil once the waiter has left.
    private func expire(_ key: String, id: UInt64) -> ContinuousClock.Instant? {
        let now = ContinuousClock.now
        let (grant, waiter, next) = state.withLockedValue {
            state -> (LockGrant?, Waiter?, ContinuousClock.Instant?) in
            guard var entry = state.entries[key], let index = entry.waiters.firstIndex(where: { $0.id == id }) else {
                return (nil, nil, nil)
            }
            let waiter = entry.waiters[index]
            if now >= waiter.deadline {
                entry.waiters.remove(at: index)
                state.entries[key] = entry
                return (.timedOut, waiter, nil)
            }
            if now >= entry.expires {
                // The owner outlived its lease or its deadline without a word: as in Redis, the
                // lock is free for the taking. This waiter becomes head; the old owner's release
                // no longer matches and goes to Redis alone, where its token is checked.
                entry.waiters.remove(at: index)
                entry.owner = id
                entry.token = nil
                entry.expires = waiter.deadline
                entry.streak = 0
                state.entries[key] = entry
                return (.acquire, waiter, nil)
            }
            return (nil, nil, min(waiter.deadline, entry.expires))
        }
        if let grant, let waiter { waiter.continuation.resume(returning: grant) }  // from its own timer
        return next
    }

    private func cancel(_ key: String, id: UInt64) {
        let waiter = state.withLockedValue { state -> Waiter? in
            guard var entry = state.entries[key], let index = entry.waiters.firstIndex(where: { $0.id == id }) else {
                return nil
            }
            let waiter = entry.waiters.remove(at: index)
            state.entries[key] = entry
            return waiter
        }
        waiter?.resume(.cancelled)
    }
}
