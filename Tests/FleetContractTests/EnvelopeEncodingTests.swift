import FleetContract
import Foundation
import Testing

/// `JobEnvelope.encoded()` writes its members by hand; these pin it to the serializer's bytes for
/// the envelope as one object, whatever optional fields and payload it carries.
@Suite("Envelope encoding")
struct EnvelopeEncodingTests {
    static let created = Date(timeIntervalSince1970: 1_795_000_000.123)

    static let envelopes: [JobEnvelope] = [
        JobEnvelope(
            id: "3f1c2a9e-8b7d-4c6e-9f01-23456789abcd",
            type: "noop",
            createdAt: created,
            payload: [:]
        ),
        JobEnvelope(
            id: "3f1c2a9e-8b7d-4c6e-9f01-23456789abcd",
            type: "enrollment.update",
            version: 12,
            createdAt: created,
            idempotencyKey: "key \"quoted\" \\ and\nnewline",
            notBefore: created.addingTimeInterval(90),
            payload: [
                "user_id": .string("u-1"), "progress": .number(0.25), "count": .integer(-7),
                "nested": .object(["z": .null, "a": .array([.bool(true), .string("é\u{1}")])]),
            ]
        ),
        JobEnvelope(id: "x", type: "t", createdAt: created, idempotencyKey: "only-key", payload: ["b": .bool(false)]),
        JobEnvelope(id: "x", type: "t", createdAt: created, notBefore: created, payload: ["": .string("")]),
        // A year past 9999 takes the padded way of writing a date.
        JobEnvelope(
            id: "x",
            type: "t",
            createdAt: Date(timeIntervalSince1970: 253_402_300_800.5),  // 10000-01-01
            notBefore: Date(timeIntervalSince1970: 253_402_300_799),  // 9999-12-31T23:59:59
            payload: [:]
        ),
    ]

    @Test("created_at and not_before are written as RFC 3339 text, whatever the year's width")
    func writesDatesAsText() {
        let text = String(decoding: Self.envelopes.last!.encoded(), as: UTF8.self)
        #expect(text.hasPrefix(#"{"created_at":"10000-01-01T00:00:00.500Z","id":"x","#))
        #expect(text.contains(#""not_before":"9999-12-31T23:59:59.000Z""#))
    }

    @Test("encoded() is the serializer's bytes for the same object", arguments: envelopes)
    func matchesSerializer(_ envelope: JobEnvelope) {
        var object: [String: JSONValue] = [
            "id": .string(envelope.id), "type": .string(envelope.type),
            "version": .integer(Int64(envelope.version)),
            "created_at": .string(RFC3339.format(envelope.createdAt)), "payload": .object(envelope.payload),
        ]
        if let key = envelope.idempotencyKey { object["idempotency_key"] = .string(key) }
        if let notBefore = envelope.notBefore { object["not_before"] = .string(RFC3339.format(notBefore)) }
        let expected = JSONValue.object(object).serialized()
        #expect(String(decoding: envelope.encoded(), as: UTF8.self) == String(decoding: expected, as: UTF8.self))
    }

    @Test("encoded() decodes back to the same envelope", arguments: envelopes.prefix(2))
    func roundTrips(_ envelope: JobEnvelope) throws {
        let decoder = EnvelopeDecoder(knownVersions: ["noop": [1], "enrollment.update": [12]])
        let decoded = try decoder.decode(envelope.encoded())
        #expect(decoded.id == envelope.id)
        #expect(decoded.payload == envelope.payload)
        #expect(decoded.idempotencyKey == envelope.idempotencyKey)
    }
}
