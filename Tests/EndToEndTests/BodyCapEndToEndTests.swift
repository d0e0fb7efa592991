import AMQP
import FleetContract
import FleetCore
import Foundation
import Testing

/// The worker applies the contract's 1 MiB cap from the content header: a body one byte over is
/// dropped unread and the broker dead-letters the whole message, reported as `oversize`; a body at
/// the cap is read and judged like any other.
@Suite("Body cap end to end")
struct BodyCapEndToEndTests {
    @Test("A body of 1 MiB + 1 byte is dead-lettered whole as oversize; one of exactly 1 MiB is read")
    func theCapIsAppliedFromTheHeader() async throws {
        let environment = try await FleetTestEnvironment.make("bodycap", workers: ["learning"])
        let worker = try environment.startWorker("learning")
        let queue = "fleet.learning"
        let cap = EnvelopeDecoder.maximumBytes
        let atCap = paddedEnvelope(type: "no.such.job", size: cap)
        let overCap = paddedEnvelope(type: "no.such.job", size: cap + 1)
        try await environment.publishRaw(atCap, to: queue)
        try await environment.publishRaw(overCap, to: queue)
        try await environment.waitUntil("two dead letters") {
            try await environment.queueDepth("\(queue).dlq") == 2
        }
        let entries = try await environment.deadLetters(queue)
        let bySize = Dictionary(entries.map { ($0.body.count, $0) }) { first, _ in first }
        // At the cap the worker read the body: a JSON envelope of an unknown type.
        #expect(bySize[cap]?.reason == "unknown_type")
        #expect(bySize[cap]?.body == atCap)
        // One byte more: rejected from the header; the broker kept the body, byte for byte.
        #expect(bySize[cap + 1]?.reason == "oversize")
        #expect(bySize[cap + 1]?.body == overCap)
        #expect(bySize[cap + 1]?.headers["x-fleet-reason"] == nil, "the broker dead-lettered it, not the worker")
        #expect(worker.isRunning)
        #expect(try await environment.queueDepth(queue) == 0)
        await worker.stop()
        await environment.tearDown()
    }
}

/// A JSON envelope of `type`, padded with spaces inside its object to exactly `size` bytes.
func paddedEnvelope(type: String, size: Int) -> [UInt8] {
    let head = Array(
        #"{"id":"\#(UUID().uuidString.lowercased())","type":"\#(type)","created_at":"\#(RFC3339.format(Date()))","payload":{}"#
            .utf8
    )
    return head + Array(repeating: UInt8(ascii: " "), count: size - head.count - 1) + [UInt8(ascii: "}")]
}
