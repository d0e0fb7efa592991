import AMQP
import FleetContract
import Testing

@testable import FleetCore

@Suite("Delivery screen")
struct DeliveryScreenTests {
    let screen = DeliveryScreen(
        queue: Topology.Queue(
            name: "fleet.learning",
            jobTypes: ["enrollment.update"],
            prefetch: 1,
            concurrency: 1,
            deliveryLimit: 5
        )
    )

    @Test func contentTypeIsJSONWithAtMostAUTF8Charset() {
        for accepted in [
            nil, "", "application/json", "Application/JSON", "application/json; charset=utf-8",
            "application/json;charset=UTF-8", "application/json ; charset = \"utf-8\"", " application/json",
        ] {
            #expect(DeliveryScreen.acceptsContentType(accepted), "\(accepted ?? "nil")")
        }
        for refused in [
            "text/plain", "application/jsonx", "application/json; charset=latin1", "application/json; x=1",
            "application/json; charset=utf-8; boundary=x", "application/xml", "json",
        ] {
            #expect(!DeliveryScreen.acceptsContentType(refused), "\(refused)")
        }
    }

    @Test func aWrongContentTypeIsRejectedWithItsReason() {
        #expect(throws: EnvelopeRejection.self) {
            try screen.checkProperties(AMQPProperties(contentType: "text/plain"))
        }
        do {
            try screen.checkProperties(AMQPProperties(contentType: "text/plain\u{1B}[31m"))
            Issue.record("accepted")
        } catch {
            #expect(error.reason == .invalidContentType)
            // A publisher's control characters do not reach the detail raw.
            #expect(!error.detail.contains("\u{1B}"))
        }
    }

    @Test func aTypePropertyMustMatchTheBody() throws {
        try screen.checkRouting(bodyType: "enrollment.update", properties: AMQPProperties(type: "enrollment.update"))
        try screen.checkRouting(bodyType: "enrollment.update", properties: AMQPProperties(type: nil))
        try screen.checkRouting(bodyType: "enrollment.update", properties: AMQPProperties(type: ""))
        do {
            try screen.checkRouting(bodyType: "enrollment.update", properties: AMQPProperties(type: "event.register"))
            Issue.record("accepted")
        } catch {
            #expect(error.reason == .typeMismatch)
        }
    }

    @Test func aJobTypeOfAnotherQueueIsWrongQueue() {
        do {
            try screen.checkRouting(bodyType: "event.register", properties: AMQPProperties(type: "event.register"))
            Issue.record("accepted")
        } catch {
            #expect(error.reason == .wrongQueue)
            #expect(error.detail == "event.register is not a job type of queue fleet.learning")
        }
    }

    @Test func aMismatchedTypePropertyIsReportedBeforeTheQueue() {
        // Check order: type_mismatch, then wrong_queue.
        do {
            try screen.checkRouting(bodyType: "event.register", properties: AMQPProperties(type: "enrollment.update"))
            Issue.record("accepted")
        } catch {
            #expect(error.reason == .typeMismatch)
        }
    }
}
