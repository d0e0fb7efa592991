import CRabbitMQ
import Testing

@testable import AMQP

/// Reading headers from librabbitmq's C tables: a table nested deeper than
/// ``AMQPFieldValue/maximumReadDepth`` is cut there (the rest reads as `.void`), so a hostile header
/// nested thousands deep cannot overflow the reading thread's stack.
@Suite("Header depth")
struct HeaderDepthTests {
    /// `depth` tables inside each other under key `n`, a string at the bottom.
    static func nested(_ depth: Int) -> AMQPFieldValue {
        var value = AMQPFieldValue.string("bottom")
        for _ in 0..<depth { value = .table(["n": value]) }
        return value
    }

    /// The nesting depth of tables under `n`, and what is at the bottom.
    static func measure(_ value: AMQPFieldValue) -> (depth: Int, bottom: AMQPFieldValue) {
        var depth = 0
        var current = value
        while case .table(let table) = current, let next = table["n"] {
            depth += 1
            current = next
        }
        return (depth, current)
    }

    static func roundTrip(_ headers: AMQPTable) -> AMQPTable {
        let arena = CArena()
        return AMQPTable(arena.table(headers))
    }

    @Test("headers within the limit read back whole")
    func shallowHeadersAreKept() {
        let headers: AMQPTable = [
            "x-death": .array([.table(["reason": .string("expired"), "count": .int(1)])]),
            "deep": Self.nested(AMQPFieldValue.maximumReadDepth - 1),
        ]
        #expect(Self.roundTrip(headers) == headers)
    }

    @Test("a table nested 1,000 deep is cut at the limit")
    func deepHeadersAreCut() {
        let read = Self.roundTrip(["deep": Self.nested(1000), "plain": .string("kept")])
        let (depth, bottom) = Self.measure(read["deep"]!)
        #expect(depth == AMQPFieldValue.maximumReadDepth - 1)
        #expect(bottom == .void)
        #expect(read["plain"] == .string("kept"))
    }

    @Test("arrays count towards the depth too")
    func deepArraysAreCut() {
        var value = AMQPFieldValue.int(1)
        for _ in 0..<500 { value = .array([value]) }
        let read = Self.roundTrip(["a": value])
        var depth = 0
        var current = read["a"]!
        while case .array(let values) = current, let first = values.first {
            depth += 1
            current = first
        }
        #expect(depth == AMQPFieldValue.maximumReadDepth - 1)
        #expect(current == .void)
    }
}

/// Writing properties and headers as librabbitmq's C values, out of ``CArena``'s blocks.
@Suite("C arena")
struct CArenaTests {
    @Test("headers are written sorted by key bytes, whatever the dictionary's order")
    func headersAreSorted() {
        let arena = CArena()
        let headers: AMQPTable = ["b": .int(2), "a": .int(1), "ab": .int(3), "B": .int(4), "": .int(5)]
        let table = arena.table(headers)
        let keys = (0..<Int(table.num_entries)).map { table.entries[$0].key.string }
        #expect(keys == ["", "B", "a", "ab", "b"])
    }

    @Test("an added header joins the others in order and replaces one of its key")
    func addedHeaderReplacesItsKey() {
        let arena = CArena()
        let headers: AMQPTable = ["traceparent": .string("00-1"), "x-fleet-publish-seq": .int(1), "a": .bool(true)]
        let table = arena.table(headers, adding: ("x-fleet-publish-seq", .int(42)))
        let keys = (0..<Int(table.num_entries)).map { table.entries[$0].key.string }
        #expect(keys == ["a", "traceparent", "x-fleet-publish-seq"])
        #expect(
            AMQPTable(table) == ["a": .bool(true), "traceparent": .string("00-1"), "x-fleet-publish-seq": .int(42)]
        )
        #expect(AMQPTable(arena.table([:], adding: ("k", .int(7)))) == ["k": .int(7)])
        #expect(arena.table([:]).num_entries == 0)
    }

    @Test("values larger than a block, and more than a block's worth of them, read back whole")
    func valuesAcrossBlocks() {
        let arena = CArena()
        var headers: AMQPTable = ["big": .string(String(repeating: "é", count: 3000)), "bytes": .bytes(Array(0...255))]
        for index in 0..<200 { headers["key-\(index)"] = .array([.string("value-\(index)"), .int(Int64(index))]) }
        let properties = AMQPProperties(
            contentType: "application/json",
            deliveryMode: 2,
            messageId: String(repeating: "m", count: 700),
            type: "enrollment.update",
            headers: headers,
            expiration: "60000",
            timestamp: 1_795_000_000,
            appId: "fleet"
        )
        let written = arena.properties(properties)
        #expect(AMQPProperties(written) == properties)
        // Every string is still intact after everything else was carved out after it.
        #expect(written.message_id.string == String(repeating: "m", count: 700))
    }

    @Test("tables and arrays carved after odd-sized strings are aligned for C")
    func entriesAreAligned() {
        let arena = CArena()
        for length in 1...9 {
            _ = arena.bytes(String(repeating: "k", count: length))
            let table = arena.table(["a": .array([.int(1), .string("s")]), "b": .int(2)])
            let entries = Int(bitPattern: table.entries)
            #expect(entries % MemoryLayout<amqp_table_entry_t>.alignment == 0)
            let array = (0..<Int(table.num_entries)).map { table.entries[$0] }.first { $0.key.string == "a" }!
            #expect(Int(bitPattern: array.value.value.array.entries) % MemoryLayout<amqp_field_value_t>.alignment == 0)
        }
    }

    @Test("properties with an added header read back with it")
    func propertiesWithAddedHeader() {
        let arena = CArena()
        let written = arena.properties(AMQPProperties(), addingHeader: ("x-fleet-publish-seq", .int(9)))
        #expect(AMQPProperties(written).headers == ["x-fleet-publish-seq": .int(9)])
        #expect(AMQPProperties(arena.properties(AMQPProperties())).headers.isEmpty)
    }
}

/// A delivery's headers are read without the publisher's sequence number.
@Suite("Dropping a header while reading")
struct DroppedHeaderTests {
    @Test("the named header is left out, the others read back whole")
    func namedHeaderIsLeftOut() {
        let arena = CArena()
        let sequence = AMQPConnection.publishSequenceHeader
        let both = arena.table(["traceparent": .string("00-1")], adding: (sequence, .int(7)))
        #expect(AMQPTable(both, dropping: sequence) == ["traceparent": .string("00-1")])
        #expect(AMQPTable(both) == ["traceparent": .string("00-1"), sequence: .int(7)])
        let alone = arena.table([:], adding: (sequence, .int(8)))
        #expect(AMQPTable(alone, dropping: sequence).isEmpty)
        // A key that only shares a prefix, or is a prefix, stays.
        let near = arena.table(["x-fleet-publish": .int(1), "x-fleet-publish-seq-2": .int(2)])
        #expect(AMQPTable(near, dropping: sequence).count == 2)
        let properties = arena.properties(AMQPProperties(messageId: "m"), addingHeader: (sequence, .int(9)))
        #expect(AMQPProperties(properties, droppingHeader: sequence) == AMQPProperties(messageId: "m"))
    }
}
