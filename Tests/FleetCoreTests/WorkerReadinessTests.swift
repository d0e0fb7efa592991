import AMQP
import Testing

@testable import FleetCore

/// What the worker reports to a readiness probe as its broker connections change.
@Suite("Worker readiness")
struct WorkerReadinessTests {
    @Test func brokerChangesMakeTheWorkerUnreadyAndReadyAgain() {
        let readiness = WorkerReadiness()
        #expect(readiness.isReady)
        readiness.apply(.disconnected(address: "a:1/"), connection: "q publisher")
        #expect(readiness.currentReasons == [.disconnected(connection: "q publisher")])
        readiness.apply(.connected(address: "b:2/"), connection: "q publisher")
        #expect(readiness.isReady)

        readiness.apply(.blocked(reason: "low on disk"), connection: "q publisher")
        readiness.apply(.queueMissing(queue: "q"), connection: "q consumer")
        #expect(!readiness.isReady)
        #expect(
            readiness.currentReasons.map(\.description) == [
                "broker blocked (q publisher): low on disk", "queue missing: q",
            ]
        )
        readiness.apply(.unblocked, connection: "q publisher")
        #expect(readiness.currentReasons == [.queueMissing(queue: "q")])
        readiness.apply(.queueConsumed(queue: "q"), connection: "q consumer")
        #expect(readiness.isReady)
    }

    @Test func aLostConnectionEndsItsBlockButNotAnotherOnes() {
        let readiness = WorkerReadiness()
        readiness.apply(.blocked(reason: "low on memory"), connection: "a publisher")
        readiness.apply(.blocked(reason: "low on memory"), connection: "b publisher")
        readiness.apply(.disconnected(address: "x:1/"), connection: "a publisher")
        #expect(
            Set(readiness.currentReasons) == [
                .disconnected(connection: "a publisher"),
                .brokerBlocked(connection: "b publisher", reason: "low on memory"),
            ]
        )
    }

    @Test func parkedCopiesWaitForTheGateAndEndOnCancellation() async throws {
        let gate = PublishGate()
        try await gate.waitUntilOpen()
        gate.setOpen(false)
        let waiting = Task { try await gate.waitUntilOpen() }
        try await Task.sleep(for: .milliseconds(50))
        gate.setOpen(true)
        try await waiting.value
        gate.setOpen(false)
        let cancelled = Task { try await gate.waitUntilOpen() }
        cancelled.cancel()
        await #expect(throws: CancellationError.self) { try await cancelled.value }
    }
}
