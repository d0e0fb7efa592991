import Dispatch
import Testing

@testable import FleetCore

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
}
