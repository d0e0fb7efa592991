import AMQP
import Foundation
import Testing

@testable import FleetCore

@Suite("Retry schedule")
struct RetryScheduleTests {
    let schedule = RetrySchedule.standard

    @Test func eachAttemptWaitsItsDelayThenTheJobIsDeadLettered() {
        #expect(schedule.maximumAttempts == 6)
        let expected: [Int64] = [1000, 5000, 30_000, 120_000, 600_000]
        for (index, milliseconds) in expected.enumerated() {
            #expect(
                schedule.afterFailure(ofAttempt: index + 1, random: 0)
                    == .retry(tier: index, delay: .milliseconds(milliseconds))
            )
        }
        #expect(schedule.afterFailure(ofAttempt: 6, random: 0) == .deadLetter)
        #expect(schedule.afterFailure(ofAttempt: 60, random: 0.5) == .deadLetter)
    }

    @Test func jitterOnlyShortensAndStaysWithinItsFraction() {
        for random in stride(from: 0.0, to: 1.0, by: 0.01) {
            guard case .retry(let tier, let delay) = schedule.afterFailure(ofAttempt: 3, random: random) else {
                Issue.record("expected a retry")
                return
            }
            #expect(tier == 2)
            #expect(delay <= .seconds(30))
            #expect(delay >= .seconds(27))
        }
        #expect(schedule.afterFailure(ofAttempt: 1, random: 0.5) == .retry(tier: 0, delay: .milliseconds(950)))
    }

    @Test func delayedJobsHopThroughTheLongestTierThatFits() {
        #expect(schedule.delayHop(remaining: .seconds(3600)) == (4, .seconds(600)))
        #expect(schedule.delayHop(remaining: .seconds(180)) == (3, .seconds(120)))
        #expect(schedule.delayHop(remaining: .seconds(5)) == (1, .seconds(5)))
        #expect(schedule.delayHop(remaining: .milliseconds(4999)) == (0, .seconds(1)))
        #expect(schedule.delayHop(remaining: .milliseconds(300)) == (0, .milliseconds(300)))
        #expect(schedule.delayHop(remaining: .zero) == (0, .milliseconds(1)))
    }

    @Test func durationsRoundTripThroughTheirText() {
        for text in ["1s", "5s", "30s", "2m", "10m", "1h", "7d", "1500ms"] {
            #expect(DurationText.parse(text).map(DurationText.format) == text)
        }
        #expect(DurationText.parse("120s").map(DurationText.format) == "2m")
        for bad in ["", "s", "10", "-1s", "1.5s", "1w", "d", "ms", "0s"] {
            #expect(DurationText.parse(bad) == nil, "\(bad)")
        }
    }

    @Test func headersCarryTheHistoryOfAttempts() {
        let now = Date(timeIntervalSince1970: 1_764_064_800)
        var headers: AMQPTable = ["traceparent": .string("00-abc-def-01")]
        #expect(FleetHeaders.attempt(of: headers) == 1)
        headers = FleetHeaders.forRetry(headers, failedAttempt: 1, error: "postgres down", now: now)
        #expect(FleetHeaders.attempt(of: headers) == 2)
        #expect(headers[FleetHeaders.firstFailureAt] == .string("2025-11-25T10:00:00.000Z"))
        headers = FleetHeaders.forRetry(
            headers,
            failedAttempt: 2,
            error: String(repeating: "e", count: 5000),
            now: now.addingTimeInterval(5)
        )
        #expect(FleetHeaders.attempt(of: headers) == 3)
        #expect(headers[FleetHeaders.firstFailureAt] == .string("2025-11-25T10:00:00.000Z"), "first failure is kept")
        #expect(headers[FleetHeaders.lastError]?.string?.count == 1001)
        headers["x-death"] = .array([.table(["queue": .string("q.retry.1s"), "reason": .string("expired")])])
        headers["x-first-death-reason"] = .string("expired")
        headers = FleetHeaders.forDeadLetter(headers, reason: "max_attempts", error: "gave up", queue: "q", now: now)
        #expect(headers[FleetHeaders.reason] == .string("max_attempts"))
        // A dead-letter copy drops the broker's death records: in a DLQ they mean the broker's own move.
        #expect(headers["x-death"] == nil && headers["x-first-death-reason"] == nil)
        #expect(headers[FleetHeaders.lastError]?.string?.count == 1001, "the failure history stays")
        headers["x-death"] = .array([])
        let replayed = FleetHeaders.forReplay(headers)
        #expect(replayed == ["traceparent": .string("00-abc-def-01")])
    }
}
