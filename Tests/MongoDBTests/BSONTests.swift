import Foundation
import Testing

@testable import MongoDB

/// BSON without a server: bytes, ObjectId, dates, key order, Codable, hostile strings.
@Suite("BSON")
struct BSONTests {
    static let everyType: BSONDocument = [
        "double": .double(-1.5),
        "string": "héllo ✓",
        "document": ["z": 1, "a": ["nested": true]],
        "array": [1, "two", [3.0, .null], ["k": "v"]],
        "binary": .binary(subtype: 0, data: [0, 1, 2, 255]),
        "uuid": .binary(subtype: 4, data: Array(0..<16)),
        "oldBinary": .binary(subtype: 2, data: [9, 8, 7]),
        "objectId": .objectId(try! ObjectId(hex: "5f1d7f3a9b1e8a3c4d2b1a09")),
        "true": true,
        "false": false,
        "date": .date(1_732_492_800_123),
        "dateBefore1970": .date(-86_400_001),
        "null": .null,
        "regex": .regex(pattern: "^a.*b$", options: "im"),
        "int32": .int32(-2_147_483_648),
        "int64": .int64(9_223_372_036_854_775_807),
        "decimal128": .decimal128([1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x40, 0x30]),
        "timestamp": .timestamp(seconds: 1_700_000_000, increment: 7),
        "minKey": .minKey,
        "maxKey": .maxKey,
        "empty": [:],
        "emptyArray": [],
    ]

    @Test func everyTypeRoundTripsThroughBytes() throws {
        let bytes = try Self.everyType.bsonBytes()
        let decoded = try BSONDocument(bsonBytes: bytes)
        #expect(decoded == Self.everyType)
        #expect(try decoded.bsonBytes() == bytes)
    }

    @Test func everyTypeRoundTripsThroughLibbson() throws {
        // Into a bson_t (bson_new_from_data) and out again (bson_get_data): what every operation does.
        let handle = try BSONHandle(Self.everyType)
        #expect(try BSONDocument(borrowing: handle.pointer) == Self.everyType)
        let reply = ReplyHandle()  // an empty out-parameter document reads as {}
        #expect(reply.document == BSONDocument())
    }

    @Test func knownEncoding() throws {
        // {"hello": "world"} from bsonspec.org.
        let expected: [UInt8] = [
            0x16, 0, 0, 0, 0x02, 0x68, 0x65, 0x6C, 0x6C, 0x6F, 0, 0x06, 0, 0, 0, 0x77, 0x6F, 0x72, 0x6C, 0x64, 0, 0,
        ]
        #expect(try (["hello": "world"] as BSONDocument).bsonBytes() == expected)
        #expect(try BSONDocument(bsonBytes: expected) == ["hello": "world"])
    }

    @Test func keyOrderIsPreserved() throws {
        let document: BSONDocument = ["zeta": 1, "alpha": 2, "mid": ["y": 1, "b": 2]]
        let decoded = try BSONDocument(bsonBytes: try document.bsonBytes())
        #expect(decoded.keys == ["zeta", "alpha", "mid"])
        #expect(decoded["mid"]?.documentValue?.keys == ["y", "b"])
        // Same keys in another order is another document, as in MongoDB.
        #expect(decoded != ["alpha": 2, "zeta": 1, "mid": ["y": 1, "b": 2]])
    }

    @Test func deeplyNestedArraysAndDocuments() throws {
        var value: BSONValue = "leaf"
        for depth in 0..<50 { value = depth.isMultiple(of: 2) ? [value, .int32(Int32(depth))] : ["level": value] }
        let document: BSONDocument = ["root": value]
        #expect(try BSONDocument(bsonBytes: try document.bsonBytes()) == document)

        var tooDeep: BSONValue = 1
        for _ in 0...BSONDocument.maximumDepth { tooDeep = [tooDeep] }
        let bytes = try (["x": tooDeep] as BSONDocument).bsonBytes()
        #expect(throws: BSONError.self) { try BSONDocument(bsonBytes: bytes) }
    }

    @Test func malformedBytesThrow() throws {
        let good = try (["a": "b", "n": 1] as BSONDocument).bsonBytes()
        #expect(throws: BSONError.self) { try BSONDocument(bsonBytes: good.dropLast()) }
        #expect(throws: BSONError.self) { try BSONDocument(bsonBytes: good + [0]) }
        #expect(throws: BSONError.self) { try BSONDocument(bsonBytes: [UInt8]()) }
        var badType = good
        badType[4] = 0x0E  // symbol: deprecated, refused
        #expect(throws: BSONError.self) { try BSONDocument(bsonBytes: badType) }
        var badLength = good
        badLength[0] = 200
        #expect(throws: BSONError.self) { try BSONDocument(bsonBytes: badLength) }
        // Invalid UTF-8 inside a string value.
        var badUTF8 = try (["s": "abc"] as BSONDocument).bsonBytes()
        badUTF8[badUTF8.count - 3] = 0xFF
        #expect(throws: BSONError.self) { try BSONDocument(bsonBytes: badUTF8) }
    }

    // MARK: - ObjectId

    @Test func objectIdHex() throws {
        let id = try ObjectId(hex: "5F1D7F3A9B1E8A3C4D2B1A09")
        #expect(id.hex == "5f1d7f3a9b1e8a3c4d2b1a09")
        #expect(id.bytes.count == 12 && id.bytes.first == 0x5F && id.bytes.last == 0x09)
        #expect(try ObjectId(hex: id.hex) == id)
        #expect(id.timestamp == Date(timeIntervalSince1970: 0x5F1D_7F3A))
        #expect(ObjectId(bytes: [1, 2, 3]) == nil)

        let fresh = ObjectId()
        #expect(fresh != ObjectId())
        #expect(abs(fresh.timestamp.timeIntervalSinceNow) < 60)
        #expect(try ObjectId(hex: fresh.hex) == fresh)
    }

    @Test(arguments: [
        "", "5f1d7f3a9b1e8a3c4d2b1a0", "5f1d7f3a9b1e8a3c4d2b1a090", "5f1d7f3a9b1e8a3c4d2b1a0g",
        "zzzzzzzzzzzzzzzzzzzzzzzz", "5f1d7f3a9b1e8a3c4d2b1a0é", "{\"$gt\": \"\"}",
    ])
    func invalidObjectIdHexThrows(_ hex: String) {
        #expect(throws: BSONError.self) { try ObjectId(hex: hex) }
    }

    // MARK: - Dates

    @Test(arguments: [Int64(0), 1, -1, 1_732_492_800_123, -62_135_596_800_000, 253_402_300_799_999])
    func datesKeepMilliseconds(_ milliseconds: Int64) throws {
        let value = BSONValue.date(milliseconds)
        let date = try #require(value.dateValue)
        #expect(BSONValue(date) == value)
        let document: BSONDocument = ["at": value]
        #expect(try BSONDocument(bsonBytes: try document.bsonBytes())["at"] == value)
    }

    @Test func subMillisecondDatesTruncateTowardsThePast() {
        #expect(BSONValue(Date(timeIntervalSince1970: 1.0019)) == .date(1001))
        #expect(BSONValue(Date(timeIntervalSince1970: -0.0005)) == .date(-1))
    }

    // MARK: - Codable

    struct Skill: Codable, Equatable {
        var skillId: String
        var level: String?
        var verifiedScore: Double?
        var history: [Entry]
    }

    struct Entry: Codable, Equatable {
        var date: Date
        var score: Int
        var tags: [[String]]
    }

    struct Profile: Codable, Equatable {
        var _id: ObjectId
        var userId: Int64
        var name: String
        var nickname: String?
        var createdAt: Date
        var active: Bool
        var ratio: Double
        var small: UInt8
        var skills: [Skill]
        var attributes: [String: Int]
        var raw: Data
        var token: UUID
    }

    static let profile = Profile(
        _id: ObjectId(),
        userId: 42,
        name: "Ada",
        nickname: nil,
        createdAt: Date(timeIntervalSince1970: 1_732_492_800.123),
        active: true,
        ratio: 0.75,
        small: 200,
        skills: [
            Skill(
                skillId: "swift",
                level: "advanced",
                verifiedScore: 8.2,
                history: [Entry(date: Date(timeIntervalSince1970: -1.5), score: 82, tags: [["a", "b"], []])]
            ),
            Skill(skillId: "go", level: nil, verifiedScore: nil, history: []),
        ],
        attributes: ["years": 7],
        raw: Data([0, 1, 2]),
        token: UUID()
    )

    @Test func codableRoundTrip() throws {
        let document = try BSONEncoder().encode(Self.profile)
        #expect(document["_id"] == .objectId(Self.profile._id))
        #expect(document["createdAt"] == .date(1_732_492_800_123))
        #expect(document["userId"] == .int64(42))
        #expect(document["nickname"] == nil, "nil optionals are left out")
        #expect(document.keys.first == "_id")
        let skills = try #require(document["skills"]?.arrayValue)
        #expect(skills.count == 2)
        #expect(skills[1].documentValue?["level"] == nil)
        #expect(document["raw"] == .binary(subtype: 0, data: [0, 1, 2]))

        let bytes = try document.bsonBytes()
        let decoded = try BSONDecoder().decode(Profile.self, from: try BSONDocument(bsonBytes: bytes))
        #expect(decoded == Self.profile)
    }

    @Test func decoderAcceptsNullForOptionalsAndConvertsNumbers() throws {
        let document: BSONDocument = [
            "skillId": "x", "level": .null, "verifiedScore": .int32(7),
            "history": [
                ["date": .date(5), "score": .double(3), "tags": [["t"]]]
            ],
        ]
        let skill = try BSONDecoder().decode(Skill.self, from: document)
        #expect(
            skill
                == Skill(
                    skillId: "x",
                    level: nil,
                    verifiedScore: 7,
                    history: [Entry(date: Date(timeIntervalSince1970: 0.005), score: 3, tags: [["t"]])]
                )
        )

        #expect(throws: DecodingError.self) {
            try BSONDecoder().decode(Entry.self, from: ["date": .date(5), "score": .double(3.5), "tags": []])
        }
        #expect(throws: DecodingError.self) {
            try BSONDecoder().decode(Entry.self, from: ["date": "2024-01-01", "score": 3, "tags": []])
        }
        #expect(throws: DecodingError.self) {
            try BSONDecoder().decode(UInt8.self, fromValue: .int32(300))
        }
    }

    @Test func encoderRefusesKeysThatCouldBeOperators() throws {
        for key in ["$where", "$gt", "a.b", "", "nul\u{0}key"] {
            #expect(throws: EncodingError.self) { try BSONEncoder().encode(["ok": 1, key: 2]) }
        }
        // The same strings as values are plain data.
        let document = try BSONEncoder().encode(["a": "$where", "b": "{\"$gt\": \"\"}"])
        #expect(document["a"] == "$where")
        #expect(document["b"] == .string("{\"$gt\": \"\"}"))
        #expect(throws: BSONError.self) { try (["x": ["$set": 1]] as BSONDocument).validateDataKeys() }
        #expect(throws: Never.self) { try (["x": ["y": ["$where"]]] as BSONDocument).validateDataKeys() }
    }

    // MARK: - Hostile strings

    @Test func hostileStringsStayStrings() throws {
        let long = String(repeating: "x", count: 2_000_000)
        let document: BSONDocument = [
            "where": "$where",
            "operator": "{\"$gt\": \"\"}",
            "js": "function() { return true; }",
            "nul": "a\u{0}b",
            "long": .string(long),
            "emoji": "👩‍💻\u{202E}",
        ]
        let decoded = try BSONDocument(bsonBytes: try document.bsonBytes())
        #expect(decoded == document)
        #expect(decoded["nul"]?.stringValue?.utf8.count == 3, "NUL is kept inside a string value")
        #expect(decoded["long"]?.stringValue?.count == long.count)
    }

    @Test func nulWhereBSONCannotHoldItThrows() {
        #expect(throws: BSONError.self) { try (["a\u{0}b": 1] as BSONDocument).bsonBytes() }
        #expect(throws: BSONError.self) {
            try (["r": .regex(pattern: "a\u{0}", options: "")] as BSONDocument).bsonBytes()
        }
        #expect(throws: BSONError.self) { try (["d": .decimal128([1, 2])] as BSONDocument).bsonBytes() }
    }

    @Test func documentSubscriptKeepsPositions() {
        var document: BSONDocument = ["a": 1, "b": 2, "c": 3]
        document["b"] = "two"
        document["d"] = 4
        document["a"] = nil
        #expect(document.keys == ["b", "c", "d"])
        #expect(document["b"] == "two")
        #expect(BSONValue(integerLiteral: 5_000_000_000) == .int64(5_000_000_000))
        #expect(BSONValue(integerLiteral: 5) == .int32(5))
    }
}
