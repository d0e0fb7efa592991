import AMQP
import Synchronization
import Testing

@testable import FleetProducer

/// `PublishRetry` without a broker: its delays, which failures it retries, and how often.
@Suite("PublishRetry")
struct PublishRetryTests {
    static func amqpError(_ code: AMQPError.Code, replyCode: Int? = nil) -> AMQPError {
        AMQPError(code: code, message: "test", address: "127.0.0.1:1/test", replyCode: replyCode)
    }

    @Test func delaysDoubleFromTheFirstUpToTheMaximum() {
        let retry = PublishRetry(attempts: 8, firstDelay: .milliseconds(100), maximumDelay: .seconds(5))
        let delays = (1...8).map { retry.delay(afterAttempt: $0) }
        #expect(
            delays == [
                .milliseconds(100), .milliseconds(200), .milliseconds(400), .milliseconds(800),
                .milliseconds(1600), .milliseconds(3200), .seconds(5), .seconds(5),
            ]
        )
    }

    @Test func theDefaultsWaitAbout11SecondsInAllBeforeGivingUp() {
        let retry = PublishRetry()
        #expect(retry.attempts == 8)
        // 7 pauses between 8 attempts: 0.1 + 0.2 + 0.4 + 0.8 + 1.6 + 3.2 + 5 s.
        let total = (1..<retry.attempts).map { retry.delay(afterAttempt: $0) }.reduce(.zero, +)
        #expect(total == .milliseconds(11_300))
    }

    @Test func aFirstDelayAboveTheMaximumIsCapped() {
        let retry = PublishRetry(firstDelay: .seconds(10), maximumDelay: .seconds(2))
        #expect(retry.delay(afterAttempt: 1) == .seconds(2))
        #expect(retry.delay(afterAttempt: 3) == .seconds(2))
    }

    @Test func attemptNumbersBelowOneMeanTheFirstPause() {
        let retry = PublishRetry(firstDelay: .milliseconds(100))
        #expect(retry.delay(afterAttempt: 0) == .milliseconds(100))
        #expect(retry.delay(afterAttempt: -5) == .milliseconds(100))
    }

    @Test func manyAttemptsStayAtTheMaximumWithoutOverflow() {
        let retry = PublishRetry(attempts: 10_000, firstDelay: .nanoseconds(1), maximumDelay: .seconds(30))
        #expect(retry.delay(afterAttempt: 200) == .seconds(30))
        #expect(retry.delay(afterAttempt: 10_000) == .seconds(30))
        // 2^34 ns is about 17.2 s, 2^35 ns about 34.4 s: the 36th attempt is the first one capped.
        #expect(retry.delay(afterAttempt: 35) == .nanoseconds(1 << 34))
        #expect(retry.delay(afterAttempt: 36) == .seconds(30))
    }

    @Test func atLeastOneAttempt() {
        #expect(PublishRetry(attempts: 0).attempts == 1)
        #expect(PublishRetry(attempts: -3).attempts == 1)
    }

    @Test(
        "retries a lost or refused connection, a forced close and a nack",
        arguments: [
            amqpError(.connection),
            amqpError(.nacked),
            // What a broker sends its clients as it shuts down, and the management API's "close".
            amqpError(.server, replyCode: 320),
            // A quorum queue whose leader just went away (`noproc`): a new connection finds the new leader.
            amqpError(.server, replyCode: 541),
        ]
    )
    func retryable(_ error: AMQPError) {
        #expect(PublishRetry.isRetryable(error))
    }

    @Test(
        "does not retry an unroutable message, a refusal, a closed producer or a bad configuration",
        arguments: [
            amqpError(.unroutable),
            amqpError(.closed),
            amqpError(.configuration),
            // 404: the exchange does not exist; 403: no write permission on it.
            amqpError(.server, replyCode: 404),
            amqpError(.server, replyCode: 403),
        ]
    )
    func notRetryable(_ error: AMQPError) {
        #expect(!PublishRetry.isRetryable(error))
    }

    @Test func aRejectedJobIsNotRetryable() {
        #expect(!PublishRetry.isRetryable(EnvelopeRejection(.invalidPayload, "payload.score: out of range")))
    }

    @Test func runRetriesUntilThePublishSucceeds() async throws {
        let retry = PublishRetry(attempts: 5, firstDelay: .milliseconds(1), maximumDelay: .milliseconds(2))
        let calls = Mutex(0)
        try await retry.run {
            let call = calls.withLock { count in
                count += 1
                return count
            }
            if call < 3 { throw Self.amqpError(.connection) }
        }
        #expect(calls.withLock { $0 } == 3)
    }

    @Test func runGivesUpAfterTheLastAttemptWithItsError() async {
        let retry = PublishRetry(attempts: 4, firstDelay: .milliseconds(1), maximumDelay: .milliseconds(2))
        let calls = Mutex(0)
        do {
            try await retry.run {
                calls.withLock { $0 += 1 }
                throw Self.amqpError(.connection)
            }
            Issue.record("no error")
        } catch let error as AMQPError {
            #expect(error.code == .connection)
        } catch {
            Issue.record("unexpected \(error)")
        }
        #expect(calls.withLock { $0 } == 4)
    }

    @Test func runStopsAtOnceOnAnErrorItDoesNotRetry() async {
        // A retry would pause 10 minutes: the bound below proves none happened, and leaves room for
        // a parallel pass that keeps this task off the cooperative threads for half a minute.
        let retry = PublishRetry(attempts: 5, firstDelay: .seconds(600), maximumDelay: .seconds(600))
        let calls = Mutex(0)
        let start = ContinuousClock.now
        do {
            try await retry.run {
                calls.withLock { $0 += 1 }
                throw Self.amqpError(.unroutable)
            }
            Issue.record("no error")
        } catch let error as AMQPError {
            #expect(error.code == .unroutable)
        } catch {
            Issue.record("unexpected \(error)")
        }
        #expect(calls.withLock { $0 } == 1)
        #expect(ContinuousClock.now - start < .seconds(120))
    }
}
