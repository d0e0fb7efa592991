import AMQP
import FleetStoreKit
import Foundation
import Redis
import Testing

@testable import FleetCore

@Suite("Settlement rules")
struct SettlementRulesTests {
    @Test func refusedCopiesBackOffDoublingUpToThirtySeconds() {
        var backoff = RepublishBackoff()
        let pauses = (0..<12).map { _ in backoff.next(random: 0).milliseconds }
        #expect(pauses.prefix(5) == [100, 200, 400, 800, 1600])
        #expect(pauses.last == 30_000)
        #expect(backoff.failures == 12)
        var jittered = RepublishBackoff()
        let pause = jittered.next(random: 0.999).milliseconds
        #expect(pause >= 75 && pause < 100)
    }

    @Test func aStepFailureAfterTheEffectMarksEveryLaterCopyApplied() {
        let now = Date()
        let first = FleetHeaders.forRetry([:], failedAttempt: 1, error: "x", failedStep: "follow_up_publish", now: now)
        #expect(first[FleetHeaders.applied] == .bool(true))
        #expect(first[FleetHeaders.failedStep] == .string("follow_up_publish"))
        // A later attempt failing for another reason keeps the mark: the effect is still committed.
        let second = FleetHeaders.forRetry(first, failedAttempt: 2, error: "timeout", now: now)
        let dead = FleetHeaders.forDeadLetter(second, reason: "max_attempts", error: "y", queue: "q", now: now)
        #expect(dead[FleetHeaders.applied] == .bool(true))
        #expect(dead[FleetHeaders.failedStep] == .string("follow_up_publish"))
        // A replay starts afresh: the dedup record, not a header, keeps the effect from applying twice.
        #expect(FleetHeaders.forReplay(dead)[FleetHeaders.applied] == nil)
    }

    @Test func onlyStepFailuresCarryTheStep() {
        let step = JobError.stepFailedAfterEffect("cache_refresh", reason: "redis_unavailable", "down")
        #expect(step.failedStepAfterEffect == "cache_refresh")
        #expect(step.kind == .transient)
        #expect(JobError.transient("lock_unavailable", "busy").failedStepAfterEffect == nil)
    }

    /// The "any" rows of the README's classification table.
    @Test func handlerErrorsDeadlinesAndLockTimeouts() {
        #expect(FailureClassifier.stores.classify(JobError.permanent("unknown_user", "x")).permanent)
        #expect(!FailureClassifier.stores.classify(JobError.transient("idempotency_key_busy", "x")).permanent)
        let deadline = FailureClassifier.stores.classify(DeadlineExceeded(deadline: .seconds(30)))
        #expect(!deadline.permanent && deadline.reason == "deadline_exceeded")
        let lock = FailureClassifier.stores.classify(RedisLockError.timeout("lock:event:x"))
        #expect(!lock.permanent && lock.reason == "lock_unavailable")
    }
}
