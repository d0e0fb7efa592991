import AMQP
import FleetContract
import FleetCore
import Foundation
import Synchronization
import Testing

/// A worker's memory stays flat whatever it is sent. These tests push hundreds of megabytes
/// through the shared broker, so they run only in the serial pass (FLEET_OUTAGE_TESTS=1, `Serial`
/// in the suite's name), each in a vhost of its own that it deletes.
@Suite(
    "Memory bounds Serial",
    .serialized,
    .enabled(if: ProcessInfo.processInfo.environment["FLEET_OUTAGE_TESTS"] == "1")
)
struct MemoryBoundsSerialTests {
    static let limit = 128 << 20

    @Test("8 messages of 64 MB: all dead-lettered whole as oversize, worker RSS under 128 MiB throughout")
    func eightMessagesOf64MB() async throws {
        let environment = try await FleetTestEnvironment.make("bigbodies", workers: ["learning"])
        let worker = try environment.startWorker("learning")
        let sampler = RSSSampler(pid: worker.process.processIdentifier)
        let queue = "fleet.learning"
        let size = 64 << 20
        let started = ContinuousClock.now
        for index in 0..<8 {
            // Each body a different byte, so the DLQ's copies can be told apart and checked whole.
            try await environment.publishRaw(Array(repeating: UInt8(index + 1), count: size), to: queue)
        }
        try await environment.waitUntil("8 dead letters", timeout: .seconds(300)) {
            try await environment.queueDepth("\(queue).dlq") == 8
        }
        let elapsed = ContinuousClock.now - started
        let (peakRSS, highWaterMark) = sampler.finish()
        let entries = try await environment.deadLetters(queue)
        #expect(entries.count == 8)
        #expect(entries.allSatisfy { $0.reason == "oversize" })
        let fills = Set(
            entries.compactMap { entry -> UInt8? in
                guard entry.body.count == size, let first = entry.body.first, entry.body.allSatisfy({ $0 == first })
                else { return nil }
                return first
            }
        )
        #expect(fills == Set((1...8).map(UInt8.init)), "every body intact in the DLQ")
        #expect(try await environment.queueDepth(queue) == 0)
        print(
            "memory bounds: 8 x 64 MB in \(elapsed): peak VmRSS \(peakRSS >> 10) KiB, VmHWM \(highWaterMark >> 10) KiB"
        )
        #expect(peakRSS > 0 && peakRSS < Self.limit, "peak VmRSS \(peakRSS) bytes")
        #expect(highWaterMark > 0 && highWaterMark < Self.limit, "VmHWM \(highWaterMark) bytes")
        #expect(worker.isRunning)
        await worker.stop()
        await environment.tearDown()
    }

    @Test("Hostile bodies and 1 MiB bodies at volume: worker RSS under 128 MiB throughout")
    func hostileAndLargeBodiesAtVolume() async throws {
        let environment = try await FleetTestEnvironment.make("manybodies", workers: ["learning"])
        let worker = try environment.startWorker("learning")
        let sampler = RSSSampler(pid: worker.process.processIdentifier)
        let queue = "fleet.learning"
        let cap = EnvelopeDecoder.maximumBytes
        let hostile: [[UInt8]] = [
            Array("{not json".utf8), [0xC3, 0x28], Array("[]".utf8),
            Array(repeating: UInt8(ascii: "["), count: 100_000),
            Array(repeating: UInt8(ascii: " "), count: cap + 1), Array(repeating: 0xFF, count: cap),
            Array(("{\"id\":\"" + String(repeating: "\\u0000", count: cap / 6 - 2) + "\"}").utf8),
            Array(#"{"id":"3f1c2a9e-8b7d-4c6e-9f01-23456789abce","type":"enrollment.update","payload":{}}"#.utf8),
        ]
        // A valid enrollment for a user that does not exist (a permanent error after a store read),
        // padded to just under the cap: the largest body a worker reads and republishes.
        let enrollment = enrollmentJob(user: 999_999, course: 0, action: "enroll").encoded()
        let largeValid =
            Array(enrollment.dropLast()) + Array(repeating: UInt8(ascii: " "), count: cap - enrollment.count)
            + [UInt8(ascii: "}")]
        let rounds = 20
        var published = 0
        for _ in 0..<rounds {
            for body in hostile + [largeValid, paddedEnvelope(type: "no.such.job", size: cap)] {
                try await environment.publishRaw(body, to: queue)
                published += 1
            }
        }
        try await environment.waitUntil("\(published) dead letters", timeout: .seconds(600)) {
            try await environment.queueDepth("\(queue).dlq") == UInt32(published)
        }
        let (peakRSS, highWaterMark) = sampler.finish()
        print(
            "memory bounds: \(published) hostile and ~1 MiB bodies: peak VmRSS \(peakRSS >> 10) KiB, "
                + "VmHWM \(highWaterMark >> 10) KiB"
        )
        #expect(peakRSS > 0 && peakRSS < Self.limit, "peak VmRSS \(peakRSS) bytes")
        #expect(highWaterMark > 0 && highWaterMark < Self.limit, "VmHWM \(highWaterMark) bytes")
        #expect(worker.isRunning)
        await worker.stop()
        await environment.tearDown()
    }
}

/// Samples a process's `VmRSS` every 50 ms on a thread of its own until ``finish()``, which also
/// reads its `VmHWM` (the kernel's own peak, which catches a spike between two samples).
final class RSSSampler: Sendable {
    private let pid: Int32
    private let state = Mutex((peak: 0, stop: false))
    private let done = DispatchSemaphore(value: 0)

    init(pid: Int32) {
        self.pid = pid
        let thread = Thread { [self] in
            while !state.withLock({ $0.stop }) {
                if let rss = Self.field("VmRSS", of: pid) { state.withLock { $0.peak = max($0.peak, rss) } }
                usleep(50_000)
            }
            done.signal()
        }
        thread.start()
    }

    /// Stops sampling: the largest VmRSS seen and the process's VmHWM, in bytes.
    func finish() -> (peakRSS: Int, highWaterMark: Int) {
        state.withLock { $0.stop = true }
        done.wait()
        return (state.withLock { $0.peak }, Self.field("VmHWM", of: pid) ?? 0)
    }

    /// A `kB` field of /proc/<pid>/status, in bytes.
    static func field(_ name: String, of pid: Int32) -> Int? {
        guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8) else { return nil }
        for line in status.split(separator: "\n") where line.hasPrefix("\(name):") {
            let kilobytes = line.split(separator: " ").dropFirst().first.flatMap { Int($0) }
            return kilobytes.map { $0 * 1024 }
        }
        return nil
    }
}
