import Foundation
import Testing

@testable import Redis

/// How ``RedisLock`` waiters wait: in line in memory within a process (one ``RedisClient``), woken
/// by the release across processes (two clients stand for two processes), and never longer than a
/// lease when the holder is gone. Each test works under its own random key and deletes its keys.
@Suite("Redis lock waiting")
struct LockQueueTests {
    /// Longer than any stall of the parallel pass: CI saw a test process start its tasks ~30 s late,
    /// after a 30 s lease had expired under a held lock. The tests release what they take.
    static let longLease = Duration.seconds(600)

    static let url = ProcessInfo.processInfo.environment["FLEET_REDIS_URL"] ?? "redis://127.0.0.1:56379/0"

    /// Runs `body` with `count` clients and a fresh key, then deletes the key's companions and
    /// shuts the clients down.
    func withClients(_ count: Int, _ body: ([RedisClient], String) async throws -> Void) async throws {
        let configuration = try RedisConfiguration(url: Self.url)
        let clients = (0..<count).map { _ in RedisClient(configuration: configuration, maxConnections: 8) }
        let key = "test:lockqueue:" + String(UInt64.random(in: 0...UInt64.max), radix: 16)
        var failure: Error?
        do {
            try await body(clients, key)
        } catch {
            failure = error
        }
        var keys = [key, key + ":fence", key + ":waiters"]
        for client in clients {
            keys += [key + ":waiters:" + client.lockQueue.instance, key + ":wake:" + client.lockQueue.instance]
        }
        _ = try? await clients[0].command(["DEL"] + keys)
        for client in clients { await client.shutdown() }
        if let failure { throw failure }
    }

    /// Polls `condition` every 2 ms for up to 20 s (a loaded machine can be slow to start tasks).
    func eventually(_ condition: () async throws -> Bool) async throws -> Bool {
        let deadline = ContinuousClock.now + .seconds(20)
        while ContinuousClock.now < deadline {
            if try await condition() { return true }
            try await Task.sleep(for: .milliseconds(2))
        }
        return false
    }

    @Test func localWaitersAreServedInArrivalOrder() async throws {
        try await withClients(1) { clients, key in
            let client = clients[0]
            let lock = RedisLock(client: client, key: key, lease: Self.longLease)
            let held = try await lock.acquire(timeout: .seconds(5))
            let order = Recorder()
            var tasks: [Task<Void, Error>] = []
            for index in 0..<5 {
                tasks.append(
                    Task {
                        try await lock.withLock(timeout: .seconds(60)) { lease in await order.append(index, lease.fence)
                        }
                    }
                )
                #expect(try await eventually { client.lockQueue.waiting(key) == index + 1 })
            }
            #expect(try await lock.release(held))
            for task in tasks { try await task.value }
            let (indices, fences) = await (order.indices, order.fences)
            #expect(indices == [0, 1, 2, 3, 4], "first come, first served")
            #expect(zip([held.fence] + fences, fences).allSatisfy { $0 < $1 }, "each holder a new fence: \(fences)")
            #expect(try await client.command(["EXISTS", key]) == .integer(0), "the last holder released the key")
        }
    }

    /// The waiting process is woken by the release, which reserves the key for it: the releasing
    /// process cannot take it back, and the waiter needs no poll to find it free.
    @Test func aReleaseHandsTheKeyToTheWaitingProcess() async throws {
        try await withClients(2) { clients, key in
            // A reservation longer than any pause of a loaded machine between the release and the
            // check below (500 ms by default): the waiter still claims the key as soon as it wakes.
            var first = RedisLock(client: clients[0], key: key, lease: Self.longLease)
            first.reservation = .seconds(30)
            // Likewise the waiter counts as waiting through any pause between its attempts (CI once
            // saw the release find it gone after 1 s, and the key go back to the first process).
            var second = RedisLock(client: clients[1], key: key, lease: Self.longLease)
            second.waiterLiveness = .seconds(30)
            first.waiterLiveness = .seconds(30)
            let held = try await first.acquire(timeout: .seconds(5))
            let waiter = Task { [second] in try await second.acquire(timeout: .seconds(60)) }
            let instance = clients[1].lockQueue.instance
            #expect(
                try await eventually {
                    try await clients[0].command(["ZSCORE", key + ":waiters", instance]) != .null
                },
                "the second process joined the key's waiting processes"
            )
            #expect(try await first.release(held))
            #expect(try await first.tryAcquire() == nil, "reserved for (or taken by) the waiting process")
            let lease = try await waiter.value
            #expect(lease.fence > held.fence)
            #expect(try await clients[0].command(["GET", key]) == .string(lease.token))
            #expect(try await clients[0].command(["ZSCORE", key + ":waiters", instance]) == .null)
            #expect(try await second.release(lease))
        }
    }

    /// A waiting process that gives up leaves the key's waiting processes, so no release reserves
    /// the key for a process that no longer wants it.
    @Test func aProcessThatTimesOutStopsWaitingInRedis() async throws {
        try await withClients(2) { clients, key in
            let first = RedisLock(client: clients[0], key: key, lease: Self.longLease)
            let second = RedisLock(client: clients[1], key: key, lease: Self.longLease)
            let held = try await first.acquire(timeout: .seconds(5))
            await #expect(throws: RedisLockError.timeout(key)) { try await second.acquire(timeout: .milliseconds(300)) }
            let instance = clients[1].lockQueue.instance
            #expect(try await clients[0].command(["ZSCORE", key + ":waiters", instance]) == .null)
            #expect(try await first.release(held))
            #expect(try await clients[0].command(["EXISTS", key]) == .integer(0), "released, not reserved")
        }
    }

    /// No release ever comes: a crashed process's key, or a local holder that never releases. The
    /// waiters retry on their capped waits and get the key once the lease has expired.
    @Test func aHolderThatNeverReleasesBlocksOnlyUntilItsLeaseExpires() async throws {
        try await withClients(1) { clients, key in
            let client = clients[0]
            let lock = RedisLock(client: client, key: key, lease: .milliseconds(400))
            // The clock starts before the SET: the key cannot expire earlier than 400 ms after it.
            let start = ContinuousClock.now
            try await client.command(["SET", key, "a crashed process", "PX", "400"])
            let lease = try await lock.acquire(timeout: .seconds(20))
            #expect(ContinuousClock.now - start >= .milliseconds(350))

            // `lease` is never released: the next task of the same process waits in line only
            // until it expires, then takes the owner's place and acquires in Redis.
            // (With a long lease of its own, so a loaded machine cannot expire it before the checks.)
            let patient = RedisLock(client: client, key: key, lease: Self.longLease)
            let next = try await patient.acquire(timeout: .seconds(20))
            #expect(next.fence > lease.fence)
            #expect(ContinuousClock.now >= lease.expiresAt)
            #expect(try await lock.release(lease) == false, "the abandoned lease no longer holds the key")
            #expect(try await client.command(["GET", key]) == .string(next.token))
            _ = try await patient.release(next)
        }
    }

    @Test func aTimedOutOrCancelledWaiterLeavesTheLine() async throws {
        try await withClients(1) { clients, key in
            let client = clients[0]
            let lock = RedisLock(client: client, key: key, lease: Self.longLease)
            let held = try await lock.acquire(timeout: .seconds(5))
            let timeout = await #expect(throws: RedisLockError.self) {
                try await lock.acquire(timeout: .milliseconds(200))
            }
            #expect(timeout == .timeout(key))
            #expect(client.lockQueue.waiting(key) == 0)

            let cancelled = Task { try await lock.acquire(timeout: .seconds(60)) }
            #expect(try await eventually { client.lockQueue.waiting(key) == 1 })
            let last = Task { try await lock.acquire(timeout: .seconds(60)) }
            #expect(try await eventually { client.lockQueue.waiting(key) == 2 })
            cancelled.cancel()
            await #expect(throws: CancellationError.self) { try await cancelled.value }
            #expect(client.lockQueue.waiting(key) == 1)

            #expect(try await lock.release(held))
            let lease = try await last.value
            #expect(lease.fence > held.fence)
            #expect(try await lock.release(lease))
            #expect(try await client.command(["EXISTS", key]) == .integer(0))
        }
    }

    /// Two processes with eight tasks each: one holder at a time, fences increase, and both
    /// processes get turns (a process hands over locally at most 8 times while another waits).
    @Test func twoProcessesTakeTurns() async throws {
        try await withClients(2) { clients, key in
            let probe = Probe()
            try await withThrowingTaskGroup(of: Void.self) { group in
                for (process, client) in clients.enumerated() {
                    let lock = RedisLock(client: client, key: key, lease: Self.longLease)
                    for _ in 0..<8 {
                        group.addTask {
                            for _ in 0..<10 {
                                try await lock.withLock(timeout: .seconds(60)) { lease in
                                    await probe.enter(process: process, fence: lease.fence)
                                    try await Task.sleep(for: .milliseconds(1))
                                    await probe.leave()
                                }
                            }
                        }
                    }
                }
                try await group.waitForAll()
            }
            let (maxInside, fences, switches) = await (probe.maxInside, probe.fences, probe.switches)
            #expect(maxInside == 1)
            #expect(fences.count == 160)
            #expect(zip(fences, fences.dropFirst()).allSatisfy { $0 < $1 }, "fences not increasing: \(fences)")
            #expect(switches >= 2, "the processes took turns (\(switches) switches)")
            #expect(try await clients[0].command(["EXISTS", key]) == .integer(0))
        }
    }
}

private actor Recorder {
    private(set) var indices: [Int] = []
    private(set) var fences: [Int64] = []

    func append(_ index: Int, _ fence: Int64) {
        indices.append(index)
        fences.append(fence)
    }
}

private actor Probe {
    private var inside = 0
    private var lastProcess: Int?
    private(set) var maxInside = 0
    private(set) var fences: [Int64] = []
    private(set) var switches = 0

    func enter(process: Int, fence: Int64) {
        inside += 1
        maxInside = max(maxInside, inside)
        fences.append(fence)
        if let lastProcess, lastProcess != process { switches += 1 }
        lastProcess = process
    }

    func leave() { inside -= 1 }
}

/// The in-memory line alone, without Redis: who is handed what, and when.
@Suite("Lock queue rules")
struct LockQueueRuleTests {
    /// An hour: the hand-over test is about order, not expiry, and a CI pass that starved it for
    /// 48 s let a 30 s lease expire, so a waiter's timer took the key before the hand-over.
    static func lease(_ token: String, for duration: Duration = .seconds(3600)) -> LockLease {
        LockLease(key: "k", token: token, fence: 1, expiresAt: .now + duration)
    }

    @Test func theFirstOwnsTheNextAreHandedTheLeaseInOrder() async throws {
        let queue = LockQueue(instance: "test")
        let deadline = ContinuousClock.now + .seconds(3600)
        let (owner, grant) = await queue.enter("k", deadline: deadline)
        guard case .acquire = grant else {
            Issue.record("the first task owns the key: \(grant)")
            return
        }
        let first = Self.lease("a")
        queue.holding("k", id: owner, lease: first, streak: 0)
        let second = Task { await queue.enter("k", deadline: deadline) }
        while queue.waiting("k") < 1 { await Task.yield() }
        let third = Task { await queue.enter("k", deadline: deadline) }
        while queue.waiting("k") < 2 { await Task.yield() }

        guard case .handedOver = queue.release(first) else {
            Issue.record("not handed over")
            return
        }
        let (secondId, secondGrant) = await second.value
        guard case .handover(let handed, let streak) = secondGrant else {
            Issue.record("the second task is handed the lease: \(secondGrant)")
            return
        }
        #expect(handed == first && streak == 1)
        let next = Self.lease("b")
        queue.holding("k", id: secondId, lease: next, streak: streak)
        guard case .notLocal = queue.release(first) else {
            Issue.record("a stale lease is not local")
            return
        }
        guard case .handedOver = queue.release(next) else {
            Issue.record("not handed over")
            return
        }
        let (thirdId, thirdGrant) = await third.value
        guard case .handover(_, 2) = thirdGrant else {
            Issue.record("streak 2: \(thirdGrant)")
            return
        }
        let last = Self.lease("c")
        queue.holding("k", id: thirdId, lease: last, streak: 2)
        guard case .inRedis(let releasing) = queue.release(last) else {
            Issue.record("nobody waits")
            return
        }
        #expect(releasing == thirdId)
        // Until Redis has the key back, a newcomer queues behind the releasing owner.
        let fourth = Task { await queue.enter("k", deadline: deadline) }
        while queue.waiting("k") < 1 { await Task.yield() }
        queue.released("k", owner: thirdId)
        guard case .acquire = await fourth.value.grant else {
            Issue.record("the newcomer becomes head")
            return
        }
    }

    @Test func anOwnerPastItsLeaseIsReplaced() async throws {
        let queue = LockQueue(instance: "test")
        let (owner, _) = await queue.enter("k", deadline: .now + .seconds(60))
        let short = Self.lease("a", for: .milliseconds(50))
        queue.holding("k", id: owner, lease: short, streak: 0)
        let (next, grant) = await queue.enter("k", deadline: .now + .seconds(60))
        guard case .acquire = grant else {
            Issue.record("the waiter takes the owner's place: \(grant)")
            return
        }
        #expect(ContinuousClock.now >= short.expiresAt)
        guard case .notLocal = queue.release(short) else {
            Issue.record("the old owner no longer owns")
            return
        }
        queue.released("k", owner: owner)  // ignored: not the owner any more
        queue.released("k", owner: next)
        #expect(queue.waiting("k") == 0)
        let (_, again) = await queue.enter("k", deadline: .now + .seconds(60))
        guard case .acquire = again else {
            Issue.record("the key is free: \(again)")
            return
        }
    }
}
