import Testing

@testable import FleetOutbox

/// A relay's publish that gets no confirm must not hold its batch's transaction and locks forever.
@Suite("Outbox publish timeout")
struct OutboxPublishTimeoutTests {
    struct Refused: Error {}

    @Test func aPublishThatNeverConfirmsIsGivenUpAfterTheLimit() async {
        let started = ContinuousClock.now
        let outcome = await OutboxRelay.within(.milliseconds(200)) {
            try await Task.sleep(for: .seconds(3600))
        }
        #expect(outcome == nil)
        #expect(ContinuousClock.now - started < .seconds(30), "waits the limit, not the publish")
    }

    @Test func aConfirmOrAnErrorWithinTheLimitIsReturned() async {
        let confirmed = await OutboxRelay.within(.seconds(60)) {}
        #expect(confirmed.map { (try? $0.get()) != nil } == true)
        let refused = await OutboxRelay.within(.seconds(60)) { throw Refused() }
        guard case .failure(let error)? = refused else {
            Issue.record("expected the publish's error, got \(String(describing: refused))")
            return
        }
        #expect(error is Refused)
    }
}
