import FleetContract
import NIOCore
import Testing

@testable import Bolt

@Suite("PackStream")
struct PackStreamTests {
    func roundTrip(_ value: BoltValue, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let bytes = try PackStream.encode(value)
        #expect(try PackStream.decode(bytes) == value, sourceLocation: sourceLocation)
    }

    func decodeError(_ bytes: [UInt8]) -> PackStreamError? {
        do {
            _ = try PackStream.decode(bytes)
            return nil
        } catch {
            return error
        }
    }

    static let node = BoltNode(
        id: 7,
        labels: ["User", "Mentor"],
        properties: ["user_id": "u-1", "age": 41],
        elementId: "4:abc:7"
    )
    static let relationship = BoltRelationship(
        id: 3,
        startNodeId: 7,
        endNodeId: 8,
        type: "MENTORS",
        properties: ["since": 2024],
        elementId: "5:abc:3",
        startNodeElementId: "4:abc:7",
        endNodeElementId: "4:abc:8"
    )

    // MARK: - Exact bytes from the PackStream specification

    @Test func encodesSpecExamples() throws {
        #expect(try PackStream.encode(.null) == [0xC0])
        #expect(try PackStream.encode(true) == [0xC3])
        #expect(try PackStream.encode(false) == [0xC2])
        #expect(try PackStream.encode(1) == [0x01])
        #expect(try PackStream.encode(-16) == [0xF0])
        #expect(try PackStream.encode(-17) == [0xC8, 0xEF])
        #expect(try PackStream.encode(128) == [0xC9, 0x00, 0x80])
        #expect(try PackStream.encode(1.1) == [0xC1, 0x3F, 0xF1, 0x99, 0x99, 0x99, 0x99, 0x99, 0x9A])
        #expect(try PackStream.encode(-1.1) == [0xC1, 0xBF, 0xF1, 0x99, 0x99, 0x99, 0x99, 0x99, 0x9A])
        #expect(try PackStream.encode("") == [0x80])
        #expect(try PackStream.encode("A") == [0x81, 0x41])
        #expect(try PackStream.encode("Größenmaßstäbe") == [0xD0, 0x12] + Array("Größenmaßstäbe".utf8))
        #expect(try PackStream.encode([1, 2, 3]) == [0x93, 0x01, 0x02, 0x03])
        #expect(try PackStream.encode(["one": "eins"]) == [0xA1, 0x83, 0x6F, 0x6E, 0x65, 0x84, 0x65, 0x69, 0x6E, 0x73])
        #expect(try PackStream.encode(.bytes([1, 2, 3])) == [0xCC, 0x03, 0x01, 0x02, 0x03])
        #expect(try PackStream.encode(.date(BoltDate(daysSinceEpoch: 1))) == [0xB1, 0x44, 0x01])
    }

    @Test func encodesBoltMessages() throws {
        #expect(try BoltRequest.reset.encoded() == [0xB0, 0x0F])
        #expect(try BoltRequest.pull(n: -1).encoded() == [0xB1, 0x3F, 0xA1, 0x81, 0x6E, 0xFF])
        #expect(
            try BoltRequest.run(query: "RETURN $x", parameters: ["x": 1], extra: [:]).encoded()
                == [0xB3, 0x10, 0x89] + Array("RETURN $x".utf8) + [0xA1, 0x81, 0x78, 0x01, 0xA0]
        )
        #expect(BoltHandshake.request == [0x60, 0x60, 0xB0, 0x17, 0, 3, 4, 5] + Array(repeating: 0, count: 12))
        #expect(BoltHandshake.version(from: [0, 0, 4, 5]) == BoltVersion(major: 5, minor: 4))
        #expect(BoltHandshake.version(from: [0, 0, 1, 5]) == BoltVersion(major: 5, minor: 1))
        #expect(BoltHandshake.version(from: [0, 0, 0, 0]) == nil)
        #expect(BoltHandshake.version(from: [0, 0, 4, 4]) == nil)
        #expect(BoltHandshake.version(from: [0x48, 0x54, 0x54, 0x50]) == nil)  // "HTTP"
    }

    @Test func decodesBoltResponses() throws {
        #expect(try BoltResponse(decoding: [0xB1, 0x70, 0xA0]) == .success(metadata: [:]))
        #expect(try BoltResponse(decoding: [0xB0, 0x7E]) == .ignored)
        #expect(try BoltResponse(decoding: [0xB1, 0x71, 0x91, 0xC8, 0x01]) == .record(fields: [1]))
        // FalkorDB appends a stray null after some records: tolerated.
        #expect(try BoltResponse(decoding: [0xB1, 0x71, 0x91, 0x01, 0xC0]) == .record(fields: [1]))
        let failure = try PackStreamEncoder.message(
            0x7F,
            [["code": "Neo.ClientError.Statement.SyntaxError", "message": "bad"]]
        )
        #expect(
            try BoltResponse(decoding: failure)
                == .failure(code: "Neo.ClientError.Statement.SyntaxError", message: "bad")
        )
        #expect(throws: PackStreamError.self) { try BoltResponse(decoding: [0x01]) }
        #expect(throws: PackStreamError.self) { try BoltResponse(decoding: [0xB1, 0x70, 0x01]) }
        #expect(throws: PackStreamError.self) { try BoltResponse(decoding: [0xB1, 0x55, 0xA0]) }
    }

    // MARK: - Round trips

    @Test func roundTripsScalars() throws {
        for value: BoltValue in [.null, true, false, 0, -1, 3.5, -0.0, .float(.infinity), .float(-.infinity)] {
            try roundTrip(value)
        }
        try roundTrip(.float(.greatestFiniteMagnitude))
        try roundTrip(.float(.leastNonzeroMagnitude))
        let nan = try PackStream.decode(try PackStream.encode(.float(.nan)))
        #expect(nan.double?.isNaN == true)
        for text in ["", "a", "é", "日本語", "🧑‍💻", "'); MATCH (n) DETACH DELETE n //", "a\u{0}b", "\"\\\n"] {
            try roundTrip(.string(text))
        }
        try roundTrip(.bytes([]))
        try roundTrip(.bytes(Array(0...255)))
    }

    @Test(arguments: [
        (Int64(-16), 1), (-17, 2), (127, 1), (128, 3), (-128, 2), (-129, 3), (32_767, 3), (32_768, 5),
        (-32_768, 3), (-32_769, 5), (2_147_483_647, 5), (2_147_483_648, 9), (-2_147_483_648, 5),
        (-2_147_483_649, 9), (.max, 9), (.min, 9), (0, 1), (-1, 1),
    ])
    func integersUseTheSmallestMarker(value: Int64, size: Int) throws {
        let bytes = try PackStream.encode(.integer(value))
        #expect(bytes.count == size)
        #expect(try PackStream.decode(bytes) == .integer(value))
    }

    @Test func acceptsIntegersInWiderMarkersThanNeeded() throws {
        #expect(try PackStream.decode([0xC8, 0x01]) == 1)
        #expect(try PackStream.decode([0xC9, 0x00, 0x01]) == 1)
        #expect(try PackStream.decode([0xCA, 0xFF, 0xFF, 0xFF, 0xFF]) == -1)
        #expect(try PackStream.decode([0xCB, 0, 0, 0, 0, 0, 0, 0, 2]) == 2)
    }

    @Test(arguments: [0, 1, 15, 16, 255, 256, 65_535, 65_536])
    func sizesAtEveryMarkerBoundary(count: Int) throws {
        func expectedHeader(_ bytes: [UInt8], tiny: UInt8?, markers: (UInt8, UInt8, UInt8)) {
            if let tiny, count < 16 {
                #expect(bytes[0] == tiny | UInt8(count))
            } else if count < 256 {
                #expect(bytes[0] == markers.0)
            } else if count < 65_536 {
                #expect(bytes[0] == markers.1)
            } else {
                #expect(bytes[0] == markers.2)
            }
        }
        let text = BoltValue.string(String(repeating: "x", count: count))
        expectedHeader(try PackStream.encode(text), tiny: 0x80, markers: (0xD0, 0xD1, 0xD2))
        try roundTrip(text)

        let data = BoltValue.bytes([UInt8](repeating: 7, count: count))
        expectedHeader(try PackStream.encode(data), tiny: nil, markers: (0xCC, 0xCD, 0xCE))
        try roundTrip(data)

        let list = BoltValue.list((0..<count).map { .integer(Int64($0 % 100)) })
        expectedHeader(try PackStream.encode(list), tiny: 0x90, markers: (0xD4, 0xD5, 0xD6))
        try roundTrip(list)

        let map = BoltValue.map(Dictionary(uniqueKeysWithValues: (0..<count).map { ("k\($0)", BoltValue.integer(1)) }))
        expectedHeader(try PackStream.encode(map), tiny: 0xA0, markers: (0xD8, 0xD9, 0xDA))
        try roundTrip(map)
    }

    @Test func roundTripsGraphStructures() throws {
        try roundTrip(.node(Self.node))
        try roundTrip(.relationship(Self.relationship))
        let unbound = BoltUnboundRelationship(id: 3, type: "MENTORS", properties: [:], elementId: "5:abc:3")
        try roundTrip(.unboundRelationship(unbound))
        let other = BoltNode(id: 8, labels: [], properties: [:], elementId: "4:abc:8")
        let path = BoltPath(nodes: [Self.node, other], relationships: [unbound], indices: [1, 1])
        try roundTrip(.path(path))
        #expect(path.walk == [Self.node, other])
        #expect(BoltPath(nodes: [Self.node], relationships: [], indices: [1, 5]).walk == nil)
    }

    @Test func decodesBolt4GraphShapesWithDerivedElementIds() throws {
        // Node with 3 fields (no element id), relationship with 5.
        let node = try PackStream.decode([0xB3, 0x4E, 0x05, 0x91, 0x81, 0x41, 0xA0])
        #expect(node == .node(BoltNode(id: 5, labels: ["A"], properties: [:], elementId: "5")))
        let rel = try PackStream.decode([0xB5, 0x52, 0x01, 0x02, 0x03, 0x81, 0x54, 0xA0])
        #expect(rel.relationship?.elementId == "1")
        #expect(rel.relationship?.startNodeElementId == "2")
        #expect(rel.relationship?.endNodeElementId == "3")
    }

    @Test func roundTripsTemporalAndSpatialValues() throws {
        let values: [BoltValue] = [
            .date(BoltDate(daysSinceEpoch: 19_723)),
            .date(BoltDate(daysSinceEpoch: -1)),
            .time(BoltTime(nanosecondsSinceMidnight: 45_296_000_000_123, offsetSeconds: 3_600)),
            .localTime(BoltLocalTime(nanosecondsSinceMidnight: 86_399_999_999_999)),
            .dateTime(BoltDateTime(seconds: 1_700_000_000, nanoseconds: 123_456_789, offsetSeconds: -18_000)),
            .dateTimeZoneId(BoltDateTimeZoneId(seconds: 1_700_000_000, nanoseconds: 0, zoneId: "Europe/Paris")),
            .localDateTime(BoltLocalDateTime(seconds: -62_135_596_800, nanoseconds: 1)),
            .duration(BoltDuration(months: 14, days: -3, seconds: 3_661, nanoseconds: 500)),
            .point2D(BoltPoint2D(srid: 4_326, x: 2.35, y: 48.85)),
            .point3D(BoltPoint3D(srid: 9_157, x: 1, y: -2, z: 3.5)),
            .structure(BoltStructure(tag: 0x7A, fields: ["future", 1])),
        ]
        for value in values { try roundTrip(value) }
        #expect(try PackStream.encode(values[4]).prefix(2) == [0xB3, 0x49])
    }

    @Test func roundTripsNestedValues() throws {
        let nested: BoltValue = [
            "user": .node(Self.node),
            "edges": [.relationship(Self.relationship), .null, ["deep": [[1, 2], ["x": .bytes([0])]]]],
            "when": .dateTime(BoltDateTime(seconds: 0, nanoseconds: 0, offsetSeconds: 0)),
            "empty": [:],
            "list": [],
        ]
        try roundTrip(nested)
        var deep: BoltValue = 1
        for _ in 0..<(PackStreamDecoder.maximumDepth - 1) { deep = [deep] }
        try roundTrip(deep)
    }

    @Test func mapsAreEncodedWithSortedKeys() throws {
        #expect(try PackStream.encode(["b": 1, "a": 2]) == [0xA2, 0x81, 0x61, 0x02, 0x81, 0x62, 0x01])
        // On decoding, a repeated key keeps its last value.
        #expect(try PackStream.decode([0xA2, 0x81, 0x61, 0x01, 0x81, 0x61, 0x02]) == ["a": 2])
    }

    // MARK: - Hostile input

    @Test func truncatedInputThrows() throws {
        let full = try PackStream.encode([
            "node": .node(Self.node), "text": "hello world, long enough", "n": .integer(.max), "f": 1.5,
        ])
        for length in 0..<full.count {
            #expect(decodeError(Array(full.prefix(length))) != nil, "prefix \(length)")
        }
        #expect(decodeError(full + [0x00])?.description.contains("trailing") == true)
    }

    @Test func unknownMarkersThrow() {
        for marker: UInt8 in [0xC4, 0xC5, 0xC6, 0xC7, 0xCF, 0xD3, 0xD7, 0xDB, 0xDC, 0xDD, 0xDE, 0xDF, 0xE0, 0xEF] {
            let error = decodeError([marker])
            #expect(error?.description.contains("unknown marker") == true, "0x\(String(marker, radix: 16))")
            #expect(error?.offset == 0)
        }
    }

    @Test func hugeDeclaredLengthsThrowWithoutAllocating() {
        #expect(decodeError([0xD2, 0xFF, 0xFF, 0xFF, 0xFF, 0x41]) != nil)  // 4 GiB string
        #expect(decodeError([0xCE, 0xFF, 0xFF, 0xFF, 0xFF]) != nil)  // 4 GiB bytes
        #expect(decodeError([0xD6, 0xFF, 0xFF, 0xFF, 0xFF, 0x01]) != nil)  // 4 G elements
        #expect(decodeError([0xDA, 0xFF, 0xFF, 0xFF, 0xFF, 0x81, 0x61, 0x01]) != nil)
        #expect(decodeError([0xD1, 0x01, 0x00] + Array(repeating: 0x41, count: 255)) != nil)
    }

    @Test func deepNestingThrows() {
        let bytes = [UInt8](repeating: 0x91, count: 100_000) + [0x01]
        #expect(decodeError(bytes)?.description.contains("nesting") == true)
        let maps: [UInt8] = Array([[UInt8]](repeating: [0xA1, 0x81, 0x6B], count: 10_000).joined()) + [0xC0]
        #expect(decodeError(maps)?.description.contains("nesting") == true)
        let structures: [UInt8] = Array([[UInt8]](repeating: [0xB1, 0x7A], count: 20_000).joined()) + [0x01]
        #expect(decodeError(structures)?.description.contains("nesting") == true)
    }

    @Test func malformedStructuresAndKeysThrow() {
        #expect(decodeError([0xB1, 0x4E, 0x01]) != nil)  // node with 1 field
        #expect(decodeError([0xB4, 0x4E, 0x81, 0x61, 0x90, 0xA0, 0x80]) != nil)  // id is a string
        #expect(decodeError([0xB3, 0x50, 0x91, 0x01, 0x90, 0x90]) != nil)  // path node is an integer
        #expect(decodeError([0xB3, 0x58, 0x01, 0x01, 0x01]) != nil)  // point coordinates are integers
        #expect(decodeError([0xA1, 0x01, 0x01]) != nil)  // integer key
        #expect(decodeError([0x82, 0xC3, 0x28]) != nil)  // invalid UTF-8
        #expect(decodeError([0x83, 0xED, 0xA0, 0x80]) != nil)  // UTF-8 surrogate
    }

    @Test func randomBytesNeverCrash() {
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<5_000 {
            let count = Int.random(in: 0..<40, using: &generator)
            let bytes = (0..<count).map { _ in UInt8.random(in: 0...255, using: &generator) }
            _ = try? PackStream.decode(bytes)
            _ = try? BoltResponse(decoding: bytes)
        }
    }

    @Test func structuresHaveAtMost15Fields() {
        #expect(throws: PackStreamError.self) {
            try PackStream.encode(.structure(BoltStructure(tag: 0x7A, fields: Array(repeating: 1, count: 16))))
        }
    }

    // MARK: - Chunking

    @Test func chunksAndReassemblesMessages() throws {
        let small: [UInt8] = [0xB0, 0x0F]
        let large = [UInt8](repeating: 0x41, count: 150_000)
        var wire = ByteBuffer()
        BoltChunking.write(small, into: &wire)
        BoltChunking.write(large, into: &wire)
        #expect(wire.readableBytes == 2 + 2 + 2 + 150_000 + 3 * 2 + 2)
        wire.writeBytes([0x00, 0x00])  // a NOOP keep-alive between messages

        // Feed one byte at a time: messages come out whole and in order.
        var decoder = BoltFrameDecoder()
        var pending = ByteBuffer()
        var messages: [[UInt8]] = []
        while let byte = wire.readInteger(as: UInt8.self) {
            pending.writeInteger(byte)
            while let message = try decoder.nextMessage(from: &pending) { messages.append(message) }
        }
        #expect(messages == [small, large])
    }
}

extension PackStreamEncoder {
    /// A response message's bytes, for tests.
    static func message(_ tag: UInt8, _ fields: [BoltValue]) throws -> [UInt8] {
        var encoder = PackStreamEncoder()
        try encoder.structure(tag, fields)
        return encoder.bytes
    }
}
