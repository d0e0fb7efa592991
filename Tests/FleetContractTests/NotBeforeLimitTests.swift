import FleetContract
import Foundation
import Testing

/// A delayed job may ask to run at most 366 days ahead: an envelope `not_before` beyond it is
/// `invalid_field`, a payload time (`content.publish`'s `publish_at`) beyond it `invalid_payload`,
/// for the worker's decoder and the producer's validator alike.
@Suite("not_before limit")
struct NotBeforeLimitTests {
    static let now = Date(timeIntervalSince1970: 1_795_600_800)  // 2026-11-25T10:00:00Z
    static let limit = EnvelopeDecoder.maximumNotBeforeLead
    let decoder = EnvelopeDecoder(knownVersions: JobContract.knownVersions, now: { NotBeforeLimitTests.now })
    let validator = JobValidator(now: { NotBeforeLimitTests.now })

    func envelope(notBefore: Date? = nil, publishAt: Date? = nil) -> JobEnvelope {
        JobEnvelope(
            id: UUIDText.random(),
            type: ContentPublish.jobType,
            createdAt: Self.now,
            notBefore: notBefore,
            payload: ContentPublish(contentId: "65a1f0c2e4b0a1b2c3d4e5f7", publishAt: publishAt).payload
        )
    }

    /// The worker's verdict (decode the bytes, then the payload) and the producer's (validate).
    func verdicts(_ envelope: JobEnvelope) -> (worker: EnvelopeRejection?, producer: EnvelopeRejection?) {
        var worker: EnvelopeRejection?
        do { try validator.validatePayload(of: try decoder.decode(envelope.encoded())) } catch { worker = error }
        var producer: EnvelopeRejection?
        do { _ = try validator.validated(envelope) } catch { producer = error }
        return (worker, producer)
    }

    @Test func theLimitIs366Days() {
        #expect(Self.limit == 366 * 24 * 60 * 60)
    }

    @Test func notBeforeUpTo366DaysAheadIsADelayedJob() {
        for lead in [-3600.0, 0, 3600, Self.limit - 1, Self.limit] {
            let (worker, producer) = verdicts(envelope(notBefore: Self.now + lead))
            #expect(worker == nil, "lead \(lead)")
            #expect(producer == nil, "lead \(lead)")
        }
    }

    @Test func notBeforeFurtherAheadIsAnInvalidField() {
        for lead in [Self.limit + 1, 10 * Self.limit] {
            let (worker, producer) = verdicts(envelope(notBefore: Self.now + lead))
            #expect(worker?.reason == .invalidField && worker?.detail.hasPrefix("not_before") == true)
            #expect(producer?.reason == .invalidField && producer?.detail.hasPrefix("not_before") == true)
        }
        // The farthest RFC 3339 time, too.
        let farthest = RFC3339.parse("9999-12-31T23:59:59Z")!
        #expect(verdicts(envelope(notBefore: farthest)).worker?.reason == .invalidField)
    }

    @Test func publishAtHasTheSameLimitAsAnInvalidPayload() {
        let (atLimit, atLimitProducer) = verdicts(envelope(publishAt: Self.now + Self.limit))
        #expect(atLimit == nil && atLimitProducer == nil)
        let (worker, producer) = verdicts(envelope(publishAt: Self.now + Self.limit + 1))
        #expect(worker?.reason == .invalidPayload)
        #expect(producer?.reason == .invalidPayload)
        #expect(worker?.detail.contains("366 days") == true)
    }
}
