import BlockingIO
import Dispatch
import Synchronization
import Testing

@testable import FleetCore

#if canImport(Glibc)
import Glibc
#endif

@Suite("Job deadlines")
struct DeadlineTests {
    @Test func aJobWithinItsDeadlineReturnsItsResult() async throws {
        let value = try await withDeadline(.seconds(5)) { 42 }
        #expect(value == 42)
    }

    @Test func aJobPastItsDeadlineIsAbandonedWithDeadlineExceeded() async throws {
        let started = ContinuousClock.now
        await #expect(throws: DeadlineExceeded.self) {
            try await withDeadline(.milliseconds(100)) {
                try await Task.sleep(for: .seconds(30))
                return 1
            }
        }
        #expect(ContinuousClock.now - started < .seconds(5))
    }

    @Test func aJobThatIgnoresCancellationStillReleasesItsCallerOnTime() async throws {
        let started = ContinuousClock.now
        await #expect(throws: DeadlineExceeded.self) {
            try await withDeadline(.milliseconds(100)) {
                // Stands for a blocking store call on another thread, which cancellation cannot stop.
                await withCheckedContinuation { continuation in
                    DispatchQueue.global().asyncAfter(deadline: .now() + 60) { continuation.resume() }
                }
                return 1
            }
        }
        // Far below the job's 60 s, with room for a loaded 2-core machine running every suite at once.
        #expect(ContinuousClock.now - started < .seconds(30))
    }

    @Test func errorsOfTheJobPassThrough() async {
        struct Boom: Error {}
        await #expect(throws: Boom.self) {
            try await withDeadline(.seconds(5)) { () async throws -> Int in throw Boom() }
        }
    }

    @Test func cancellingTheCallerCancelsTheWait() async {
        let task = Task {
            try await withDeadline(.seconds(30)) {
                try await Task.sleep(for: .seconds(30))
                return 1
            }
        }
        task.cancel()
        await #expect(throws: CancellationError.self) { try await task.value }
    }

    // MARK: - On threads that may block

    @Test func aBodyWithExecutorsRunsItsStoreCallsOnItsOwnThreadWithoutAHandOff() async throws {
        let executors = BlockingExecutors(limit: 1)
        let pool = BlockingConnectionPool(maxConnections: 2) { FakeConnection() }
        let (bodyThread, callThread, callMayBlock) = try await withDeadline(.seconds(5), on: executors) {
            let bodyThread = pthread_self()
            let (callThread, callMayBlock) = try await pool.withConnection { _ in
                (pthread_self(), BlockingExecutor.isCurrentThread)
            }
            return (bodyThread, callThread, callMayBlock)
        }
        #expect(pthread_equal(bodyThread, callThread) != 0)
        #expect(callMayBlock)
        // Elsewhere, the call still goes to a pool thread.
        #expect(!BlockingExecutor.isCurrentThread)
        let offExecutor = try await pool.withConnection { _ in BlockingExecutor.isCurrentThread }
        #expect(!offExecutor)
        await pool.shutdown()
        await executors.shutdown()
    }

    @Test func aStuckBodyKeepsItsThreadAndLaterJobsRunElsewhere() async throws {
        let executors = BlockingExecutors(limit: 1)
        let release = Parked()
        let started = ContinuousClock.now
        await #expect(throws: DeadlineExceeded.self) {
            try await withDeadline(.milliseconds(100), on: executors) {
                await withCheckedContinuation { continuation in release.waiter.withLock { $0 = continuation } }
                return 1
            }
        }
        #expect(ContinuousClock.now - started < .seconds(30))
        // The first body still holds the only executor: the next job runs without one, and runs.
        #expect(executors.lease() == nil)
        let value = try await withDeadline(.seconds(5), on: executors) { BlockingExecutor.isCurrentThread }
        #expect(value == false)
        // Once the stuck body returns, its executor is free again.
        var waiter: CheckedContinuation<Void, Never>?
        while waiter == nil {
            waiter = release.waiter.withLock { $0 }
            if waiter == nil { try await Task.sleep(for: .milliseconds(5)) }
        }
        waiter?.resume()
        var leased: BlockingExecutor?
        for _ in 0..<1000 where leased == nil {
            leased = executors.lease()
            if leased == nil { try await Task.sleep(for: .milliseconds(5)) }
        }
        #expect(leased != nil)
        await executors.shutdown()
    }

    // MARK: - A caller that holds its executor (a consumer at concurrency 1)

    @Test func aBodyOnTheCallersHeldExecutorRunsItsStoreCallsOnTheCallersThread() async throws {
        let executors = BlockingExecutors(limit: 1)
        let executor = try #require(executors.lease())
        let pool = BlockingConnectionPool(maxConnections: 1) { FakeConnection() }
        let (callerThread, callThread, callMayBlock) = try await withTaskExecutorPreference(executor) {
            let callerThread = pthread_self()
            let (callThread, callMayBlock) = try await withDeadline(.seconds(5), held: executor) {
                try await pool.withConnection { _ in (pthread_self(), BlockingExecutor.isCurrentThread) }
            }
            return (callerThread, callThread, callMayBlock)
        }
        // No hand-off at all: the caller, the body and the store call share one thread.
        #expect(pthread_equal(callerThread, callThread) != 0)
        #expect(callMayBlock)
        await pool.shutdown()
        executors.giveBack(executor)
        await executors.shutdown()
    }

    @Test(.timeLimit(.minutes(1)))
    func aCallerOnTheExecutorOfAHungStoreCallStillGetsItsDeadlineOnTime() async throws {
        // The call ignores the cancel and the grace is long: it hangs until the test ends it.
        let server = FakeServer(answersCancel: false)
        let pool = BlockingConnectionPool(maxConnections: 1, interruptGrace: .seconds(120)) {
            InterruptibleConnection(server)
        }
        let executors = BlockingExecutors(limit: 1)
        let executor = try #require(executors.lease())
        let started = ContinuousClock.now
        let settledOn = await withTaskExecutorPreference(executor) {
            await #expect(throws: DeadlineExceeded.self) {
                try await withDeadline(.milliseconds(100), held: executor) {
                    try await pool.withConnection { try $0.hang() }
                }
            }
            // The caller went on while the executor's thread still hangs in the call: elsewhere.
            return BlockingExecutor.isCurrentThread
        }
        #expect(!settledOn)
        #expect(ContinuousClock.now - started < .seconds(30))
        #expect(server.outcome.withLock { $0 } == nil, "the call was still hanging")
        // A later job's body waits for nobody either: it runs elsewhere while the thread is stuck.
        let laterRanElsewhere = try await withTaskExecutorPreference(executor) {
            try await withDeadline(.seconds(5), held: executor) { !BlockingExecutor.isCurrentThread }
        }
        #expect(laterRanElsewhere)
        server.outcome.withLock { $0 = FakeServer.Cut() }
        // Once the call returned, the executor's thread runs its tasks again.
        var back = false
        for _ in 0..<1000 where !back {
            back = await Task(executorPreference: executor) { BlockingExecutor.isCurrentThread }.value
            if !back { try await Task.sleep(for: .milliseconds(5)) }
        }
        #expect(back)
        await pool.shutdown()
        executors.giveBack(executor)
        await executors.shutdown()
    }

    @Test func tasksWaitingForAThreadInABlockingCallRunElsewhere() async throws {
        let executor = BlockingExecutor()
        let entered = DispatchSemaphore(value: 0)
        let release = DispatchSemaphore(value: 0)
        let blocker = Task(executorPreference: executor) {
            BlockingExecutor.blockingCall {
                entered.signal()
                release.wait()
            }
            return BlockingExecutor.isCurrentThread
        }
        await withCheckedContinuation { continuation in
            DispatchQueue.global().async {
                entered.wait()
                continuation.resume()
            }
        }
        let meanwhile = await Task(executorPreference: executor) { BlockingExecutor.isCurrentThread }.value
        #expect(!meanwhile)
        release.signal()
        #expect(await blocker.value)
        #expect(await Task(executorPreference: executor) { BlockingExecutor.isCurrentThread }.value)
        await executor.shutdown()
    }

    // MARK: - Interrupting the store call

    @Test func theJobsDeadlineReachesStoreCallsOnPoolThreads() async throws {
        let pool = BlockingConnectionPool(maxConnections: 1) { FakeConnection() }
        let remaining = try await withDeadline(.seconds(5)) {
            try await pool.withConnection { _ in BlockingCallDeadline.remaining }
        }
        let seen = try #require(remaining)
        #expect(seen > .seconds(3) && seen <= .seconds(5), "\(seen)")
        // Outside a job, none.
        #expect(try await pool.withConnection { _ in BlockingCallDeadline.current } == nil)
        await pool.shutdown()
    }

    @Test func aDeadlineAsksTheServerToStopTheCallAndRetiresItsConnection() async throws {
        let server = FakeServer(answersCancel: true)
        let pool = BlockingConnectionPool(maxConnections: 1, interruptGrace: .seconds(30)) {
            InterruptibleConnection(server)
        }
        let started = ContinuousClock.now
        await #expect(throws: DeadlineExceeded.self) {
            try await withDeadline(.milliseconds(100)) { try await pool.withConnection { try $0.hang() } }
        }
        #expect(ContinuousClock.now - started < .seconds(10))
        // The only connection comes back at once, since the server answered the cancel; it is
        // replaced, not reused: a late cancel must not hit the next caller's statement.
        let next = try await pool.withConnection { $0.number }
        #expect(next == 2)
        #expect(ContinuousClock.now - started < .seconds(10))
        #expect(server.cancels.withLock { $0 } == 1)
        #expect(server.forced.withLock { $0 } == 0)
        #expect(server.closed.withLock { $0 } == [1])
        await pool.shutdown()
    }

    @Test func aHungServerIsCutOffAfterTheGracePeriod() async throws {
        // A server that ignores the cancel (SIGSTOP): after the grace period the socket is shut down.
        let server = FakeServer(answersCancel: false)
        let pool = BlockingConnectionPool(maxConnections: 1, interruptGrace: .milliseconds(300)) {
            InterruptibleConnection(server)
        }
        let started = ContinuousClock.now
        let call = Task { try await pool.withConnection { try $0.hang() } }
        // Cancelled once the call hangs: a cancel before the pool starts it only stops it from
        // starting (a fixed 100 ms sleep lost that race on a loaded machine).
        while server.hanging.withLock({ $0 }) == 0 {
            try #require(ContinuousClock.now - started < .seconds(30), "the call never started")
            try await Task.sleep(for: .milliseconds(5))
        }
        call.cancel()
        await #expect(throws: FakeServer.Cut.self) { try await call.value }
        #expect(ContinuousClock.now - started < .seconds(10))
        #expect(server.forced.withLock { $0 } == 1)
        #expect(try await pool.withConnection { $0.number } == 2)
        await pool.shutdown()
    }
}

/// The watchdog on its own (not the shared one, which every suite's jobs use): a settled race
/// leaves it at its next tick, a due one is expired and leaves, one not yet due stays.
@Suite("Deadline watchdog")
struct DeadlineWatchdogTests {
    @Test func dropsSettledRacesExpiresDueOnesAndKeepsTheRest() async throws {
        let watchdog = DeadlineWatchdog()
        let settled = WatchedRace(ends: .now + .seconds(3600), settled: true)
        let due = WatchedRace(ends: .now, settled: false)
        let later = WatchedRace(ends: .now + .seconds(3600), settled: false)
        for race in [settled, due, later] { watchdog.watch(race) }
        // A tick is 20 ms; a loaded machine may starve the watchdog's task for much longer. The
        // expiry runs just after the race leaves the list, outside the lock: wait for both.
        let patience = ContinuousClock.now + .seconds(60)
        while watchdog.watchedCount > 1 || due.expiries.withLock({ $0 }) == 0, ContinuousClock.now < patience {
            try await Task.sleep(for: .milliseconds(20))
        }
        #expect(watchdog.watchedCount == 1, "only the race not yet due stays")
        #expect(due.expiries.withLock { $0 } == 1)
        #expect(settled.expiries.withLock { $0 } == 0 && later.expiries.withLock { $0 } == 0)
        // Settled, the last one leaves too, and the watchdog's task ends.
        later.settle()
        let stop = ContinuousClock.now + .seconds(60)
        while watchdog.watchedCount > 0, ContinuousClock.now < stop {
            try await Task.sleep(for: .milliseconds(20))
        }
        #expect(watchdog.watchedCount == 0)
    }
}

private final class WatchedRace: DeadlineWatched {
    let ends: ContinuousClock.Instant
    let settled: Mutex<Bool>
    let expiries = Mutex(0)

    init(ends: ContinuousClock.Instant, settled: Bool) {
        self.ends = ends
        self.settled = Mutex(settled)
    }

    var isSettled: Bool { settled.withLock { $0 } }
    func settle() { settled.withLock { $0 = true } }
    func expire() { expiries.withLock { $0 += 1 } }
}

/// Stands for a server behind blocking connections: a call hangs until a cancel or a cut ends it.
private final class FakeServer: Sendable {
    struct Cancelled: Error {}
    struct Cut: Error {}

    let answersCancel: Bool
    let cancels = Mutex(0)
    let forced = Mutex(0)
    let closed = Mutex<[Int]>([])
    let opened = Mutex(0)
    /// Calls that have started to hang.
    let hanging = Mutex(0)
    /// How the hanging call ends; nil while it hangs.
    let outcome = Mutex<(any Error)?>(nil)

    init(answersCancel: Bool) { self.answersCancel = answersCancel }
}

private final class InterruptibleConnection: BlockingConnection, @unchecked Sendable {
    let server: FakeServer
    let number: Int

    init(_ server: FakeServer) {
        self.server = server
        number = server.opened.withLock { opened in
            opened += 1
            return opened
        }
    }

    var isUsable: Bool { true }
    func close() { server.closed.withLock { $0.append(number) } }
    func makeInterrupter() -> (any BlockingCallInterrupter)? { Interrupter(server: server) }

    /// Blocks its thread until the server's outcome is set.
    func hang() throws {
        server.hanging.withLock { $0 += 1 }
        while true {
            if let outcome = server.outcome.withLock({ $0 }) { throw outcome }
            usleep(2_000)
        }
    }

    struct Interrupter: BlockingCallInterrupter {
        let server: FakeServer
        func requestCancel() {
            server.cancels.withLock { $0 += 1 }
            if server.answersCancel { server.outcome.withLock { $0 = FakeServer.Cancelled() } }
        }
        func forceReturn() {
            server.forced.withLock { $0 += 1 }
            server.outcome.withLock { $0 = FakeServer.Cut() }
        }
    }
}

/// Where a stuck body parks, so the test can let it go.
private final class Parked: Sendable {
    let waiter = Mutex<CheckedContinuation<Void, Never>?>(nil)
}

/// A connection that holds nothing, for pool tests without a server.
private final class FakeConnection: BlockingConnection, @unchecked Sendable {
    var isUsable: Bool { true }
    func close() {}
}
