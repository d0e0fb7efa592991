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
}
