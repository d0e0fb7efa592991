import FleetContract
import FleetCore
import FleetJobs
import FleetStoreKit
import Testing

/// The networking payload rules: only UUIDs reach the graph (FalkorDB splices string parameters
/// into its query text unescaped, so anything else could be executed).
@Suite("Networking payloads")
struct NetworkingPayloadTests {
    static let user = "6f1c2a4e-8b1d-4c3e-9f2a-1b2c3d4e5f60"
    static let other = "0a9b8c7d-6e5f-4a3b-2c1d-0e9f8a7b6c5d"

    @Test func eventPayloadsNeedTwoUUIDs() throws {
        let parsed = try EventRegister(
            payload: FieldReader(payload: ["user_id": .string(Self.user.uppercased()), "event_id": .string(Self.other)]
            ),
            version: 1
        )
        #expect(parsed == EventRegister(userId: Self.user, eventId: Self.other))
    }

    @Test(arguments: [
        JSONValue.string("x' WITH 1 AS y MATCH (n) DETACH DELETE n //"), .string("$where"),
        .object(["$gt": .string("")]), .string(String(repeating: "a", count: 100_000)), .integer(42), .null,
        .array([.string(user)]), .string(user + " "), .string(""),
    ])
    func hostileEventIdsAreRejected(value: JSONValue) {
        let error = #expect(throws: EnvelopeRejection.self) {
            try EventCancel(
                payload: FieldReader(payload: ["user_id": .string(Self.user), "event_id": value]),
                version: 1
            )
        }
        #expect(error?.detail.hasPrefix("payload.event_id") == true)
        #expect((error?.detail.count ?? 0) < 200, "the reason does not repeat the value")
    }

    @Test func mentorshipPayloadsNeedTwoDifferentUsers() throws {
        let parsed = try MentorshipStart(
            payload: FieldReader(payload: ["user_id": .string(Self.user), "mentor_user_id": .string(Self.other)]),
            version: 1
        )
        #expect(parsed == MentorshipStart(userId: Self.user, mentorUserId: Self.other))
        let same = #expect(throws: EnvelopeRejection.self) {
            try MentorshipSessionLogged(
                payload: FieldReader(payload: [
                    "user_id": .string(Self.user), "mentor_user_id": .string(Self.user.uppercased()),
                ]),
                version: 1
            )
        }
        #expect(same?.detail.contains("mentor_user_id") == true)
        #expect(throws: EnvelopeRejection.self) {
            try MentorshipSessionLogged(payload: FieldReader(payload: ["user_id": .string(Self.user)]), version: 1)
        }
        #expect(throws: EnvelopeRejection.self) {
            try MentorshipSessionLogged(
                payload: FieldReader(payload: [
                    "user_id": .object(["$gt": .string("")]), "mentor_user_id": .string(Self.other),
                ]),
                version: 1
            )
        }
    }
}

/// FalkorDB splices string parameters into the query text, so the applied-job key must never carry
/// producer text as it is.
@Suite("Graph job keys")
struct GraphJobKeyTests {
    func envelope(key: String?) -> JobEnvelope {
        JobEnvelope(
            id: "0b8f6c0e-6a52-4d8c-9a57-2f1c3c7c9e10",
            type: "event.register",
            createdAt: .now,
            idempotencyKey: key,
            payload: [:]
        )
    }

    @Test func aUUIDKeyStaysReadable() {
        #expect(GraphJobClaim.jobKey(envelope(key: nil)) == "event.register 0b8f6c0e-6a52-4d8c-9a57-2f1c3c7c9e10")
    }

    @Test(arguments: ["x' WITH 1 AS y MATCH (n) DETACH DELETE n //", "order 42", "ümlaut\"}", "ABC"])
    func anyOtherKeyIsHexEncoded(_ key: String) {
        let graphKey = GraphJobClaim.jobKey(envelope(key: key))
        let encoded = graphKey.dropFirst("event.register hex:".count)
        #expect(graphKey.hasPrefix("event.register hex:"))
        #expect(encoded.allSatisfy { $0.isHexDigit && !$0.isUppercase })
        #expect(encoded.count == key.utf8.count * 2)
    }

    /// Keys past 100 UTF-8 bytes are hashed: the largest key the envelope allows (200 code points,
    /// 800 bytes) becomes 71 characters, far below FalkorDB's parameter limit.
    @Test func longKeysAreHashed() {
        let longest = String(repeating: "\u{1F600}", count: 200)
        #expect(longest.unicodeScalars.count == 200 && longest.utf8.count == 800)
        let graphKey = GraphJobClaim.jobKey(envelope(key: longest))
        #expect(graphKey.hasPrefix("event.register sha256:"))
        #expect(graphKey.count == "event.register sha256:".count + 64)
        #expect(graphKey == GraphJobClaim.jobKey(envelope(key: longest)), "stable")
        #expect(graphKey != GraphJobClaim.jobKey(envelope(key: longest.dropLast() + "\u{1F601}")))
        // 101 bytes of hex digits (no longer a UUID-like key that stays as it is).
        let hexLike = String(repeating: "a", count: 101)
        #expect(GraphJobClaim.jobKey(envelope(key: hexLike)).hasPrefix("event.register sha256:"))
        #expect(
            GraphJobClaim.jobKey(envelope(key: String(repeating: "a", count: 100))).hasSuffix(
                " " + String(repeating: "a", count: 100)
            )
        )
    }

    /// Digests computed by Python's hashlib for the same UTF-8 bytes (one, three and 13 SHA-256 blocks).
    @Test(arguments: [
        (String(repeating: "abc", count: 34) + "d", "a3997fcd9980a725fb02918e22b8e26124d487baf8b8401f4920cdc720b045db"),
        (
            String(repeating: "The quick brown fox jumps over the lazy dog. ", count: 3),
            "dc985401a68faff03051c78bbf32bb2fd27ba216b0dba19b050b936d534b8ba9"
        ),
        (
            String(repeating: "\u{1F600}", count: 200),
            "be0dd5625e999de4a629c08e0d2f7d8005c8fce643c7e469066c249d0bd51978"
        ),
    ])
    func hashesMatchAReference(_ key: String, _ digest: String) {
        #expect(GraphJobClaim.jobKey(envelope(key: key)) == "event.register sha256:\(digest)")
    }
}
