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
