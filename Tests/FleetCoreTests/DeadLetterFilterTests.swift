import FleetContract
import Foundation
import Testing

@testable import AMQP
@testable import FleetCore

/// The DLQ filter the dashboard's browser and `fleet dlq` share: type, reason, a set of ids, a time range.
@Suite("Dead-letter filter")
struct DeadLetterFilterTests {
    func entry(id: String, type: String = "enrollment.update", reason: String, at: String?) -> DeadLetterEntry {
        var headers: AMQPTable = [FleetHeaders.reason: .string(reason)]
        if let at { headers[FleetHeaders.deadLetteredAt] = .string(at) }
        let delivery = AMQPDelivery(
            body: [],
            properties: AMQPProperties(messageId: id, type: type, headers: headers),
            deliveryTag: 1,
            redelivered: false,
            exchange: "",
            routingKey: "fleet.learning.dlq",
            queue: "fleet.learning.dlq",
            generation: 0
        )
        return DeadLetterEntry(queue: "fleet.learning.dlq", delivery: delivery)
    }

    @Test("reason and a set of ids narrow the match")
    func reasonAndIds() {
        let unknown = entry(id: "a", reason: "unknown_course", at: "2026-11-30T10:00:00Z")
        let exhausted = entry(id: "b", reason: "max_attempts", at: "2026-11-30T10:00:00Z")
        let byReason = DeadLetterAdmin.Filter(reason: "unknown_course")
        #expect(byReason.matches(unknown) && !byReason.matches(exhausted))
        let byIds = DeadLetterAdmin.Filter(messageIds: ["b", "c"])
        #expect(!byIds.matches(unknown) && byIds.matches(exhausted))
        #expect(!DeadLetterAdmin.Filter(messageIds: []).matches(unknown), "an empty selection matches nothing")
        #expect(DeadLetterAdmin.Filter().matches(unknown))
    }

    @Test("the time range is [since, until) on x-fleet-dead-lettered-at; an entry without it never matches a bound")
    func timeRange() {
        let at = entry(id: "a", reason: "r", at: "2026-11-30T10:00:00Z")
        let undated = entry(id: "b", reason: "r", at: nil)
        let ten = RFC3339.parse("2026-11-30T10:00:00Z")!
        #expect(DeadLetterAdmin.Filter(since: ten).matches(at))
        #expect(!DeadLetterAdmin.Filter(until: ten).matches(at))
        #expect(DeadLetterAdmin.Filter(until: ten.addingTimeInterval(1)).matches(at))
        #expect(!DeadLetterAdmin.Filter(since: ten.addingTimeInterval(1)).matches(at))
        #expect(!DeadLetterAdmin.Filter(since: ten.addingTimeInterval(-60)).matches(undated))
        #expect(DeadLetterAdmin.Filter().matches(undated))
    }

    func delivery(_ headers: AMQPTable) -> AMQPDelivery {
        AMQPDelivery(
            body: Array(#"{"id":"x"}"#.utf8),
            properties: AMQPProperties(messageId: "m", type: "enrollment.update", headers: headers),
            deliveryTag: 1,
            redelivered: false,
            exchange: "jobs.dead",
            routingKey: "fleet.learning",
            queue: "fleet.learning.dlq",
            generation: 0
        )
    }

    func death(_ queue: String, _ reason: String) -> AMQPFieldValue {
        .table(["queue": .string(queue), "reason": .string(reason), "count": .int(1)])
    }

    @Test("a broker dead letter's reason is the broker's, whatever x-fleet-reason the producer wrote")
    func aForgedReasonDoesNotWinOverTheBroker() {
        let forged: AMQPTable = [
            FleetHeaders.reason: .string("max_attempts"),
            FleetHeaders.error: .string("\u{1b}[2Jforged"),
            FleetHeaders.lastError: .string("forged too"),
        ]
        var limit = forged
        limit["x-death"] = .array([death("fleet.learning", "delivery_limit")])
        let entry = DeadLetterEntry(queue: "fleet.learning.dlq", delivery: delivery(limit))
        #expect(entry.reason == "delivery_limit")
        #expect(entry.error == nil)

        // Came back from a retry queue (a worker wrote its last error), then hit the delivery limit.
        var retried = forged
        retried["x-death"] = .array([
            death("fleet.learning", "delivery_limit"), death("fleet.learning.retry.1s", "expired"),
        ])
        let afterRetries = DeadLetterEntry(queue: "fleet.learning.dlq", delivery: delivery(retried))
        #expect(afterRetries.reason == "delivery_limit")
        #expect(afterRetries.error == "forged too")
    }

    @Test("a worker's copy of a retried job keeps the worker's reason: its latest x-death is a retry expiry")
    func aWorkerCopyOfARetriedJobKeepsItsReason() {
        let headers: AMQPTable = [
            FleetHeaders.reason: .string("max_attempts"),
            FleetHeaders.error: .string("store refused"),
            "x-death": .array([death("fleet.learning.retry.1s", "expired")]),
        ]
        let entry = DeadLetterEntry(queue: "fleet.learning.dlq", delivery: delivery(headers))
        #expect(entry.reason == "max_attempts")
        #expect(entry.error == "store refused")
        let fresh = DeadLetterEntry(
            queue: "fleet.learning.dlq",
            delivery: delivery([FleetHeaders.reason: .string("unknown_course")])
        )
        #expect(fresh.reason == "unknown_course")
    }
}
