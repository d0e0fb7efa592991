import FleetJobs
import Logging
import Synchronization
import Testing

@Suite("Batch buffer: shared batches, acks after the write, bounded offers")
struct BatchBufferTests {
    final class Sink: Sendable {
        let batches = Mutex<[[Int]]>([])
        let fail = Mutex(false)
        func write(_ rows: [Int]) async throws {
            if fail.withLock({ $0 }) { throw Failure() }
            batches.withLock { $0.append(rows) }
        }
    }

    struct Failure: Error {}

    let logger = Logger(label: "test")

    @Test("rows of many callers share one batch at the row count, and each caller returns after it")
    func rowCount() async throws {
        let sink = Sink()
        let buffer = BatchBuffer<Int>(policy: FlushPolicy(maxRows: 10, maxAge: .seconds(60)), logger: logger) {
            try await sink.write($0)
        }
        try await withThrowingTaskGroup(of: Void.self) { group in
            for caller in 0..<5 { group.addTask { try await buffer.submit([caller * 2, caller * 2 + 1]) } }
            try await group.waitForAll()
        }
        let batches = sink.batches.withLock { $0 }
        #expect(batches.count == 1)
        #expect(batches.first?.sorted() == Array(0..<10))
    }

    @Test("a few rows are written once the oldest reaches the age")
    func age() async throws {
        let sink = Sink()
        let buffer = BatchBuffer<Int>(policy: FlushPolicy(maxRows: 1000, maxAge: .milliseconds(100)), logger: logger) {
            try await sink.write($0)
        }
        let started = ContinuousClock.now
        try await buffer.submit([1])
        #expect(ContinuousClock.now - started >= .milliseconds(100))
        #expect(sink.batches.withLock { $0 } == [[1]])
    }

    @Test("a failed write fails every caller of its batch")
    func failure() async throws {
        let sink = Sink()
        sink.fail.withLock { $0 = true }
        let buffer = BatchBuffer<Int>(policy: FlushPolicy(maxRows: 4, maxAge: .seconds(60)), logger: logger) {
            try await sink.write($0)
        }
        let failures = await withTaskGroup(of: Bool.self) { group in
            for caller in 0..<2 {
                group.addTask {
                    do {
                        try await buffer.submit([caller, caller])
                        return false
                    } catch {
                        return error is Failure
                    }
                }
            }
            return await group.reduce(0) { $0 + ($1 ? 1 : 0) }
        }
        #expect(failures == 2)
    }

    @Test("offers never wait; past the capacity they are dropped and counted")
    func boundedOffers() async throws {
        let sink = Sink()
        let buffer = BatchBuffer<Int>(
            policy: FlushPolicy(maxRows: 1000, maxAge: .seconds(60)),
            capacity: 3,
            logger: logger
        ) { try await sink.write($0) }
        #expect(buffer.offer(1))
        #expect(buffer.offer(2))
        #expect(buffer.offer(3))
        #expect(!buffer.offer(4))
        #expect(buffer.dropped == 1)
        await buffer.drain()
        #expect(sink.batches.withLock { $0 } == [[1, 2, 3]])
    }

    /// A buffer writing to `sink` whose policy holds due rows for a pause between offers.
    func pausingBuffer(_ sink: Sink, maxRows: Int, pause: Duration, maxHold: Duration) -> BatchBuffer<Int> {
        var policy = FlushPolicy(maxRows: maxRows, maxAge: .seconds(60))
        policy.pause = pause
        policy.maxHold = maxHold
        return BatchBuffer<Int>(policy: policy, logger: logger) { try await sink.write($0) }
    }

    @Test("offered rows at the row count wait for a pause in the offers before they are written")
    func offersWaitForAPause() async throws {
        let sink = Sink()
        let pause = Duration.milliseconds(200)
        let buffer = pausingBuffer(sink, maxRows: 10, pause: pause, maxHold: .seconds(30))
        for row in 0..<9 { buffer.offer(row) }
        // Read before the last offer: the pause counts from inside it.
        let lastOffer = ContinuousClock.now
        buffer.offer(9)
        let deadline = lastOffer + .seconds(20)
        while sink.batches.withLock({ $0.isEmpty }) && ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(5))
        }
        #expect(ContinuousClock.now - lastOffer >= pause)
        #expect(sink.batches.withLock { $0 } == [Array(0..<10)])
    }

    @Test("offers that never pause: a due batch is written within maxHold, and does not grow meanwhile")
    func offersWithoutAPauseAreHeldAtMostMaxHold() async throws {
        let sink = Sink()
        let buffer = pausingBuffer(sink, maxRows: 10, pause: .seconds(3600), maxHold: .milliseconds(200))
        // Offers every 5 ms (much slower when a loaded machine starves Swift's pool) until the
        // first batch is written: never a pause of an hour, so only maxHold can write it. Without
        // maxHold it would wait for that pause, and the loop would end at its deadline with nothing.
        let deadline = ContinuousClock.now + .seconds(120)
        var row = 0
        while sink.batches.withLock({ $0.isEmpty }) && ContinuousClock.now < deadline {
            buffer.offer(row)
            row += 1
            try await Task.sleep(for: .milliseconds(5))
        }
        let written = sink.batches.withLock { $0 }
        #expect(!written.isEmpty, "nothing written during 120 s of offers")
        // Taken at its tenth row: the rows offered while it waited went to the next batches.
        #expect(written.first == Array(0..<10))
        await buffer.drain()
        #expect(sink.batches.withLock { $0.joined().count } == row)
    }

    @Test("rows a caller waits for are not held for a pause")
    func submittedRowsAreNotHeld() async throws {
        let sink = Sink()
        let buffer = pausingBuffer(sink, maxRows: 2, pause: .seconds(30), maxHold: .seconds(60))
        let started = ContinuousClock.now
        try await buffer.submit([1, 2])
        #expect(ContinuousClock.now - started < .seconds(20))
        #expect(sink.batches.withLock { $0 } == [[1, 2]])
    }
}
