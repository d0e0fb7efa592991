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
