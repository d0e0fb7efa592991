import FleetContract
import Foundation
import Testing

@Suite("Envelope validation (CONTRACT.md)")
struct EnvelopeDecoderTests {
    let decoder = EnvelopeDecoder(knownVersions: ["enrollment.update": [1], "multi.version": [1, 2]])
    let id = "3f1c2a9e-8b7d-4c6e-9f01-23456789abcd"

    func body(_ fields: [String: Any]) -> [UInt8] {
        Array(try! JSONSerialization.data(withJSONObject: fields))
    }

    var valid: [String: Any] {
        ["id": id, "type": "enrollment.update", "created_at": "2026-11-25T10:00:00Z", "payload": ["a": 1]]
    }

    func rejection(_ bytes: [UInt8]) -> EnvelopeRejection? {
        do {
            _ = try decoder.decode(bytes)
            return nil
        } catch {
            return error
        }
    }

    func rejection(_ fields: [String: Any]) -> EnvelopeRejection? { rejection(body(fields)) }

    /// A producer validates the envelope it built instead of decoding its bytes again; both must
    /// reach the same verdict.
    @Test func validatingABuiltEnvelopeAgreesWithDecodingIt() {
        func envelope(
            id: String = "3f1c2a9e-8b7d-4c6e-9f01-23456789abcd",
            type: String = "enrollment.update",
            version: Int = 1,
            key: String? = nil,
            payload: [String: JSONValue] = ["a": .integer(1)]
        ) -> JobEnvelope {
            JobEnvelope(id: id, type: type, version: version, createdAt: Date(), idempotencyKey: key, payload: payload)
        }
        let cases: [(JobEnvelope, EnvelopeRejection.Reason?)] = [
            (envelope(), nil),
            (envelope(type: "multi.version", version: 2), nil),
            (envelope(type: "no.such.job"), .unknownType),
            (envelope(version: 2), .unknownVersion),
            (envelope(key: ""), .invalidField),
            (envelope(key: String(repeating: "k", count: 201)), .invalidField),
            (envelope(key: String(repeating: "k", count: 200)), nil),
            (envelope(id: "not-a-uuid"), .invalidField),
            (
                envelope(payload: ["big": .string(String(repeating: "x", count: EnvelopeDecoder.maximumBytes))]),
                .oversize
            ),
        ]
        for (envelope, expected) in cases {
            let body = envelope.encoded()
            var validated: EnvelopeRejection.Reason?
            do { try decoder.validate(envelope, encodedSize: body.count) } catch { validated = error.reason }
            #expect(validated == expected, "\(envelope.type) \(envelope.idempotencyKey?.count ?? 0)")
            #expect(rejection(body)?.reason == expected)
        }
        let nan = envelope(payload: ["x": .number(.nan)])
        #expect(throws: EnvelopeRejection.self) { try decoder.validate(nan, encodedSize: nan.encoded().count) }
    }

    @Test func acceptsAValidEnvelopeWithDefaults() throws {
        let envelope = try decoder.decode(body(valid))
        #expect(envelope.id == id)
        #expect(envelope.version == 1)
        #expect(envelope.idempotencyKey == nil)
        #expect(envelope.deduplicationKey == id)
        #expect(envelope.payload == ["a": .integer(1)])
        #expect(envelope.createdAt == Date(timeIntervalSince1970: 1_795_600_800))
    }

    @Test func readsOptionalFields() throws {
        var fields = valid
        fields["id"] = id.uppercased()
        fields["version"] = 2
        fields["type"] = "multi.version"
        fields["idempotency_key"] = "enroll-42"
        fields["not_before"] = "2026-11-25T11:00:00.5+01:00"
        let envelope = try decoder.decode(body(fields))
        #expect(envelope.id == id, "ids are normalised to lowercase")
        #expect(envelope.version == 2)
        #expect(envelope.deduplicationKey == "enroll-42")
        #expect(envelope.notBefore == Date(timeIntervalSince1970: 1_795_600_800.5))
    }

    @Test func rejectsOversizeBodiesBeforeParsing() {
        let padding = String(repeating: "x", count: EnvelopeDecoder.maximumBytes)
        var fields = valid
        fields["payload"] = ["pad": padding]
        #expect(rejection(fields)?.reason == .oversize)
    }

    @Test func acceptsABodyOfExactlyTheLimit() throws {
        var fields = valid
        fields["payload"] = ["pad": ""]
        let base = body(fields).count
        fields["payload"] = ["pad": String(repeating: "x", count: EnvelopeDecoder.maximumBytes - base)]
        #expect(body(fields).count == EnvelopeDecoder.maximumBytes)
        _ = try decoder.decode(body(fields))
    }

    @Test func rejectsInvalidUTF8AndJSON() {
        #expect(rejection([0x7B, 0xFF, 0xFE, 0x7D])?.reason == .invalidUTF8)
        #expect(rejection(Array("{\"id\": ".utf8))?.reason == .invalidJSON)
        #expect(
            rejection(Array("{\"id\": ".utf8))?.detail == "body is not valid JSON: unexpected end of input at byte 7"
        )
        #expect(rejection([0x7B, 0x22, 0xFF, 0x22, 0x3A, 0x31, 0x7D])?.reason == .invalidUTF8, "in a string")
        // RFC 8259 forbids a byte order mark; JSONDecoder skipped one.
        #expect(rejection([0xEF, 0xBB, 0xBF] + body(valid))?.reason == .invalidJSON)
        #expect(rejection(Array("".utf8))?.reason == .invalidJSON)
        #expect(rejection(Array("[1,2]".utf8))?.reason == .notAnObject)
        #expect(rejection(Array("\"text\"".utf8))?.reason == .notAnObject)
    }

    @Test(arguments: ["id", "type", "created_at", "payload"])
    func rejectsAMissingRequiredField(field: String) {
        var fields = valid
        fields[field] = nil
        let rejection = rejection(fields)
        #expect(rejection?.reason == .missingField)
        #expect(rejection?.detail.hasPrefix(field) == true)
    }

    @Test func rejectsIllTypedFields() {
        let cases: [(String, Any)] = [
            ("id", "not-a-uuid"), ("id", 12), ("type", 5), ("version", "1"), ("version", 1.5),
            ("created_at", "yesterday"), ("created_at", "2026-02-30T00:00:00Z"), ("created_at", "2026-11-25T10:00:00"),
            ("idempotency_key", ""), ("idempotency_key", String(repeating: "k", count: 201)), ("idempotency_key", 7),
            ("not_before", "soon"), ("payload", [1, 2]), ("payload", "x"),
        ]
        for (field, value) in cases {
            var fields = valid
            fields[field] = value
            let rejection = rejection(fields)
            #expect(rejection?.reason == .invalidField, "\(field) = \(value)")
            #expect(rejection?.detail.hasPrefix(field) == true)
        }
    }

    @Test func acceptsAnIdempotencyKeyOfTwoHundredCharacters() throws {
        var fields = valid
        fields["idempotency_key"] = String(repeating: "é", count: 200)
        #expect(try decoder.decode(body(fields)).idempotencyKey?.count == 200)
    }

    @Test func rejectsUnknownTypesAndVersions() {
        var fields = valid
        fields["type"] = "no.such.job"
        #expect(rejection(fields)?.reason == .unknownType)
        fields = valid
        fields["version"] = 2
        #expect(rejection(fields)?.reason == .unknownVersion)
    }

    @Test func encodedEnvelopesDecodeToThemselves() throws {
        let envelope = JobEnvelope(
            id: id,
            type: "enrollment.update",
            createdAt: Date(timeIntervalSince1970: 1_764_064_800.25),
            idempotencyKey: "k",
            notBefore: Date(timeIntervalSince1970: 1_764_068_400),
            payload: ["user_id": .string("u"), "n": .integer(3), "nested": .object(["x": .null])]
        )
        #expect(try decoder.decode(envelope.encoded()) == envelope)
    }
}

@Suite("Payload fields")
struct FieldReaderTests {
    @Test func namesTheFieldInEveryError() {
        let reader = FieldReader(payload: ["n": .string("x"), "p": .integer(101), "u": .string("nope")])
        #expect(throws: EnvelopeRejection(.invalidPayload, "payload.n: expected an integer, got a string")) {
            try reader.optionalInt("n")
        }
        #expect(throws: EnvelopeRejection(.invalidPayload, "payload.p: out of range 0...100")) {
            try reader.optionalInt("p", in: 0...100)
        }
        #expect(throws: EnvelopeRejection(.invalidPayload, "payload.u: not a UUID")) { try reader.uuid("u") }
        #expect(throws: EnvelopeRejection(.invalidPayload, "payload.missing: required")) {
            try reader.string("missing")
        }
        #expect(throws: EnvelopeRejection(.invalidPayload, "payload.n: must be one of a, b")) {
            try reader.string("n", oneOf: ["a", "b"])
        }
    }
}
