import FleetCore
import FleetJobs
import Testing

/// The networking payload rules: only UUIDs reach the graph (FalkorDB splices string parameters
/// into its query text unescaped, so anything else could be executed).
@Suite("Networking payloads")
struct NetworkingPayloadTests {
    static let user = "6f1c2a4e-8b1d-4c3e-9f2a-1b2c3d4e5f60"
    static let other = "0a9b8c7d-6e5f-4a3b-2c1d-0e9f8a7b6c5d"

    @Test func eventPayloadsNeedTwoUUIDs() throws {
        let parsed = try EventRegistrationPayload.parse(
            FieldReader(payload: ["user_id": .string(Self.user.uppercased()), "event_id": .string(Self.other)])
        )
        #expect(parsed == EventRegistrationPayload(userId: Self.user, eventId: Self.other))
    }

    @Test(arguments: [
        JSONValue.string("x' WITH 1 AS y MATCH (n) DETACH DELETE n //"), .string("$where"),
        .object(["$gt": .string("")]), .string(String(repeating: "a", count: 100_000)), .integer(42), .null,
        .array([.string(user)]), .string(user + " "), .string(""),
    ])
    func hostileEventIdsAreRejected(value: JSONValue) {
        let error = #expect(throws: EnvelopeRejection.self) {
            try EventRegistrationPayload.parse(
                FieldReader(payload: ["user_id": .string(Self.user), "event_id": value])
            )
        }
        #expect(error?.detail.hasPrefix("payload.event_id") == true)
        #expect((error?.detail.count ?? 0) < 200, "the reason does not repeat the value")
    }

    @Test func mentorshipPayloadsNeedTwoDifferentUsers() throws {
        let parsed = try MentorshipPayload.parse(
            FieldReader(payload: ["user_id": .string(Self.user), "mentor_user_id": .string(Self.other)])
        )
        #expect(parsed == MentorshipPayload(userId: Self.user, mentorUserId: Self.other))
        let same = #expect(throws: EnvelopeRejection.self) {
            try MentorshipPayload.parse(
                FieldReader(payload: ["user_id": .string(Self.user), "mentor_user_id": .string(Self.user.uppercased())])
            )
        }
        #expect(same?.detail.contains("mentor_user_id") == true)
        #expect(throws: EnvelopeRejection.self) {
            try MentorshipPayload.parse(FieldReader(payload: ["user_id": .string(Self.user)]))
        }
        #expect(throws: EnvelopeRejection.self) {
            try MentorshipPayload.parse(
                FieldReader(payload: ["user_id": .object(["$gt": .string("")]), "mentor_user_id": .string(Self.other)])
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
        #expect(NetworkingGraph.jobKey(envelope(key: nil)) == "event.register 0b8f6c0e-6a52-4d8c-9a57-2f1c3c7c9e10")
    }

    @Test(arguments: ["x' WITH 1 AS y MATCH (n) DETACH DELETE n //", "order 42", "ümlaut\"}", "ABC"])
    func anyOtherKeyIsHexEncoded(_ key: String) {
        let graphKey = NetworkingGraph.jobKey(envelope(key: key))
        let encoded = graphKey.dropFirst("event.register hex:".count)
        #expect(graphKey.hasPrefix("event.register hex:"))
        #expect(encoded.allSatisfy { $0.isHexDigit && !$0.isUppercase })
        #expect(encoded.count == key.utf8.count * 2)
    }
}
