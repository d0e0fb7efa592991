import AMQP
import Testing

@testable import FleetCore

@Suite("Fleet header trust")
struct FleetHeaderTrustTests {
    let retryQueues: Set<String> = ["fleet.learning.retry.1s", "fleet.learning.retry.5s"]
    let forged: AMQPTable = [
        "x-fleet-attempt": .int(6), "x-fleet-first-failure-at": .string("2020-01-01T00:00:00Z"),
        "x-fleet-last-error": .string("x"), "x-fleet-applied": .bool(true),
        "x-fleet-failed-step": .string("cache_refresh"), "traceparent": .string("00-a-b-01"),
    ]

    func death(_ queue: String, _ reason: String, count: Int64) -> AMQPFieldValue {
        .table(["queue": .string(queue), "reason": .string(reason), "count": .int(count)])
    }

    @Test func publishedFleetHeadersAreDroppedAndTheJobStartsAtAttemptOne() {
        let screened = FleetHeaderTrust.screen(forged, signatureVerified: false, retryQueues: retryQueues)
        #expect(screened.attempt == 1)
        #expect(screened.source == .untrusted)
        #expect(screened.headers == ["traceparent": .string("00-a-b-01")])
    }

    @Test func oneRetryCapsAForgedAttemptAtTwo() {
        var headers = forged
        headers["x-death"] = .array([death("fleet.learning.retry.1s", "expired", count: 1)])
        let screened = FleetHeaderTrust.screen(headers, signatureVerified: false, retryQueues: retryQueues)
        #expect(screened.attempt == 2)
        #expect(screened.source == .retryQueues(expirations: 1))
        #expect(screened.headers["x-fleet-attempt"] == .int(2))
        #expect(screened.headers["x-fleet-last-error"] == .string("x"))
    }

    @Test func onlyThisQueuesRetryQueuesExpiriesCount() {
        var headers = forged
        headers["x-death"] = .array([
            death("fleet.networking.retry.1s", "expired", count: 9),
            death("fleet.learning", "rejected", count: 9),
            death("fleet.learning.retry.5s", "maxlen", count: 9),
        ])
        #expect(FleetHeaderTrust.screen(headers, signatureVerified: false, retryQueues: retryQueues).attempt == 1)
        headers["x-death"] = .array([
            death("fleet.learning.retry.1s", "expired", count: 2),
            death("fleet.learning.retry.5s", "expired", count: 1),
        ])
        let screened = FleetHeaderTrust.screen(headers, signatureVerified: false, retryQueues: retryQueues)
        #expect(screened.attempt == 4)
        // A lower attempt than the cap (delays also pass through the retry queues) is kept.
        headers["x-fleet-attempt"] = .int(2)
        #expect(FleetHeaderTrust.screen(headers, signatureVerified: false, retryQueues: retryQueues).attempt == 2)
    }

    @Test func aVerifiedSignatureTrustsTheHeadersAsTheyAre() {
        let screened = FleetHeaderTrust.screen(forged, signatureVerified: true, retryQueues: retryQueues)
        #expect(screened.attempt == 6)
        #expect(screened.headers == forged)
        #expect(screened.source == .signature)
    }
}
