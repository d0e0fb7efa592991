import FleetContract
import FleetCore
import FleetJobs
import Foundation
import MongoDB
import Postgres
import Testing

/// `assessment.score` and `career.progress.recalculate` payloads are checked before any store is
/// touched: a rejection here sends the job to the dead-letter queue at once.
@Suite("Assessment and career payloads")
struct AssessmentPayloadTests {
    static let user = "0f8fad5b-d9cb-469f-a165-70867728950e"
    static let skill = "507f1f77bcf86cd799439011"

    func parse(
        _ overrides: [String: JSONValue],
        removing: String? = nil
    ) throws(EnvelopeRejection)
        -> AssessmentScore
    {
        var payload: [String: JSONValue] = [
            "user_id": .string(Self.user), "skill_id": .string(Self.skill), "type": .string("technical_assessment"),
            "score": .integer(75),
        ]
        payload.merge(overrides) { $1 }
        if let removing { payload[removing] = nil }
        return try AssessmentScore(payload: FieldReader(payload: payload), version: 1)
    }

    @Test func aValidPayloadIsRead() throws {
        let payload = try parse([
            "user_id": .string(Self.user.uppercased()), "skill_id": .string(Self.skill.uppercased()),
        ])
        #expect(payload.userId == Self.user)
        #expect(payload.skillId == Self.skill)
        #expect(payload.kind == .technicalAssessment && payload.score == 75)
        #expect(try parse(["score": .number(100)]).score == 100, "a whole number written as 100.0")
        #expect(try parse(["type": .string("self_assessment"), "score": .integer(1)]).kind == .selfAssessment)
    }

    @Test(arguments: [
        // field, value, what the error names
        ("skill_id", JSONValue.string("not-an-object-id"), "skill_id"),
        ("skill_id", .string("507f1f77bcf86cd79943901"), "skill_id"),
        ("skill_id", .string("507f1f77bcf86cd79943901g"), "skill_id"),
        ("skill_id", .string("$where"), "skill_id"),
        ("skill_id", .object(["$gt": .string("")]), "skill_id"),
        ("skill_id", .integer(5), "skill_id"),
        ("user_id", .string("$where"), "user_id"),
        ("user_id", .object(["$gt": .string("")]), "user_id"),
        ("user_id", .string("0f8fad5b-d9cb-469f-a165-70867728950e'; DROP TABLE users; --"), "user_id"),
        ("type", .string("$where"), "type"),
        ("type", .object(["$ne": .null]), "type"),
        ("type", .string("peer_assessment"), "type"),
        ("score", .integer(101), "score"),
        ("score", .integer(-1), "score"),
        ("score", .number(75.5), "score"),
        ("score", .string("75"), "score"),
        ("score", .object(["$gt": .integer(0)]), "score"),
        ("score", .array([.integer(75)]), "score"),
        ("score", .bool(true), "score"),
        ("score", .null, "score"),
    ])
    func hostileOrIllTypedValuesAreRejected(field: String, value: JSONValue, named: String) {
        let rejection = #expect(throws: EnvelopeRejection.self) { try parse([field: value]) }
        #expect(rejection?.reason == .invalidPayload)
        #expect(rejection?.detail.contains("payload.\(named)") == true)
    }

    @Test func selfAssessmentsAreOnTheOneToTenScale() {
        for score in [0, 11, 75] {
            #expect(throws: EnvelopeRejection.self) {
                try parse(["type": .string("self_assessment"), "score": .integer(Int64(score))])
            }
        }
    }

    @Test func missingFieldsAreRejected() {
        for field in ["user_id", "skill_id", "type", "score"] {
            #expect(throws: EnvelopeRejection.self) { try parse([:], removing: field) }
        }
    }

    @Test func aHugeValueIsRejectedWithoutBeingEchoed() {
        let huge = String(repeating: "a", count: 100 * 1024)
        for field in ["skill_id", "user_id", "type"] {
            let rejection = #expect(throws: EnvelopeRejection.self) { try parse([field: .string(huge)]) }
            #expect((rejection?.detail.count ?? .max) < 200, "\(field)")
        }
    }

    @Test func careerPayloadsNeedUUIDs() async throws {
        // Clients that never connect: parsing touches no store.
        let postgres = PostgresClient(configuration: try .init(url: "postgresql://u@localhost/db"))
        let mongodb = MongoClient(configuration: try .init(url: "mongodb://localhost/db"))
        let handler = CareerProgressRecalculateHandler(postgres: postgres, mongodb: mongodb)
        let path = "1b4e28ba-2fa1-11d2-883f-0016d3cca427"
        let both = try handler.parse(
            FieldReader(payload: ["user_id": .string(Self.user), "path_id": .string(path)]),
            version: 1
        )
        #expect(both.userId == Self.user && both.pathId == path)
        #expect(try handler.parse(FieldReader(payload: ["user_id": .string(Self.user)]), version: 1).pathId == nil)
        for bad: [String: JSONValue] in [
            ["user_id": .object(["$gt": .string("")])], ["user_id": .string(Self.user), "path_id": .string("$where")],
            ["user_id": .string(Self.user), "path_id": .integer(1)], [:],
        ] {
            #expect(throws: EnvelopeRejection.self) { try handler.parse(FieldReader(payload: bad), version: 1) }
        }
        await postgres.shutdown()
        await mongodb.shutdown()
    }
}
