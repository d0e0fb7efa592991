import FleetContract
import Foundation
import Testing

/// The envelope's precise limits: `idempotency_key` is 1 to 200 Unicode code points (not grapheme
/// clusters) and at most 800 UTF-8 bytes, and `created_at` at most 24 hours in the future. The
/// worker's decoder and the producer's validation must agree on each case.
@Suite("Envelope limits")
struct EnvelopeLimitsTests {
    static let now = Date(timeIntervalSince1970: 1_795_600_800)  // 2026-11-25T10:00:00Z
    let decoder = EnvelopeDecoder(knownVersions: ["enrollment.update": [1]], now: { EnvelopeLimitsTests.now })
    let id = "3f1c2a9e-8b7d-4c6e-9f01-23456789abcd"

    /// The decoder's verdict on the envelope's bytes, and the producer's on the envelope as built.
    func verdicts(
        key: String? = nil,
        createdAt: Date = now
    ) -> (decoded: EnvelopeRejection?, validated: EnvelopeRejection?) {
        let envelope = JobEnvelope(
            id: id,
            type: "enrollment.update",
            version: 1,
            createdAt: createdAt,
            idempotencyKey: key,
            payload: ["a": .integer(1)]
        )
        let body = envelope.encoded()
        var decoded: EnvelopeRejection?
        do {
            let roundTrip = try decoder.decode(body)
            // Compared scalar by scalar: String's == would also accept a canonically equivalent key.
            #expect(roundTrip.idempotencyKey.map { Array($0.unicodeScalars) } == key.map { Array($0.unicodeScalars) })
        } catch {
            decoded = error
        }
        var validated: EnvelopeRejection?
        do { try decoder.validate(envelope, encodedSize: body.count) } catch { validated = error }
        return (decoded, validated)
    }

    func expectAccepted(key: String? = nil, createdAt: Date = now, _ comment: Comment) {
        let (decoded, validated) = verdicts(key: key, createdAt: createdAt)
        #expect(decoded == nil, comment)
        #expect(validated == nil, comment)
    }

    func expectInvalid(key: String? = nil, createdAt: Date = now, field: String, _ comment: Comment) {
        let (decoded, validated) = verdicts(key: key, createdAt: createdAt)
        #expect(decoded?.reason == .invalidField, comment)
        #expect(validated?.reason == .invalidField, comment)
        #expect(decoded?.detail.hasPrefix(field) == true, comment)
        #expect(validated?.detail.hasPrefix(field) == true, comment)
    }

    static let fourByte = "\u{1F680}"  // 🚀: one code point, four UTF-8 bytes

    @Test func theLimitsArePublic() {
        #expect(EnvelopeDecoder.maximumIdempotencyKeyCodePoints == 200)
        #expect(EnvelopeDecoder.maximumIdempotencyKeyBytes == 800)
        #expect(EnvelopeDecoder.maximumCreatedAtLead == 24 * 60 * 60)
    }

    @Test func aCombiningAccentKeyIsCountedInCodePoints() {
        // One grapheme cluster (Character) in Swift, 251 code points: too long for VARCHAR(200).
        let key = "e" + String(repeating: "\u{0301}", count: 250)
        #expect(key.count == 1)
        #expect(key.unicodeScalars.count == 251)
        #expect(!EnvelopeDecoder.isValidIdempotencyKey(key))
        expectInvalid(key: key, field: "idempotency_key", "combining accents")
    }

    @Test func twoHundredFourByteCodePointsAreAccepted() {
        let key = String(repeating: Self.fourByte, count: 200)
        #expect(key.unicodeScalars.count == 200)
        #expect(key.utf8.count == 800)
        expectAccepted(key: key, "200 code points, 800 bytes")
    }

    @Test func twoHundredAndOneCodePointsAreRejected() {
        expectInvalid(key: String(repeating: "k", count: 201), field: "idempotency_key", "201 ASCII")
        expectInvalid(key: String(repeating: "é", count: 201), field: "idempotency_key", "201 two-byte")
        expectAccepted(key: String(repeating: "k", count: 200), "200 ASCII")
    }

    @Test func moreThanEightHundredBytesAreRejected() {
        // UTF-8 spends at most 4 bytes on a code point, so 200 code points never exceed 800 bytes:
        // a key over 800 bytes is also over 200 code points. Both limits are stated (and checked)
        // so that neither depends on the other.
        let overBytes = String(repeating: Self.fourByte, count: 200) + "k"
        #expect(overBytes.utf8.count == 801)
        expectInvalid(key: overBytes, field: "idempotency_key", "801 bytes")
        let (decoded, _) = verdicts(key: overBytes)
        #expect(decoded?.detail.contains("has 201 and 801") == true)
    }

    @Test func anEmptyKeyIsRejected() {
        expectInvalid(key: "", field: "idempotency_key", "empty")
    }

    @Test func aKeyWithANulIsRejected() {
        // PostgreSQL text cannot hold U+0000: the ledger would refuse it after the job reached the store.
        expectInvalid(key: "a\u{0}b", field: "idempotency_key", "NUL")
        expectAccepted(key: "a\u{1}b", "other control characters are code points like any other")
    }

    @Test func createdAtUpToTwentyFourHoursAheadIsAccepted() {
        expectAccepted(createdAt: Self.now.addingTimeInterval(23 * 3600), "23 h ahead")
        expectAccepted(createdAt: Self.now.addingTimeInterval(24 * 3600), "exactly 24 h ahead")
        expectAccepted(createdAt: Self.now.addingTimeInterval(-30 * 24 * 3600), "a month ago")
    }

    @Test func createdAtMoreThanTwentyFourHoursAheadIsRejected() {
        expectInvalid(createdAt: Self.now.addingTimeInterval(25 * 3600), field: "created_at", "25 h ahead")
        expectInvalid(createdAt: Self.now.addingTimeInterval(24 * 3600 + 1), field: "created_at", "24 h 1 s ahead")
    }

    @Test func theClockIsTheDecodersOwn() {
        // The same envelope, judged by a decoder whose clock is a day later, is fine.
        let later = EnvelopeDecoder(
            knownVersions: ["enrollment.update": [1]],
            now: { Self.now.addingTimeInterval(86_400) }
        )
        let envelope = JobEnvelope(
            id: id,
            type: "enrollment.update",
            version: 1,
            createdAt: Self.now.addingTimeInterval(25 * 3600),
            payload: ["a": .integer(1)]
        )
        #expect(throws: Never.self) { try later.decode(envelope.encoded()) }
        #expect(throws: EnvelopeRejection.self) { try decoder.decode(envelope.encoded()) }
    }
}
