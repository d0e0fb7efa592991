import AMQP
import Foundation
import Testing

/// ``AMQPProperties/init(contentHeaderPropertyBytes:)``, the entry point of the fuzz target
/// `FuzzAMQPHeaders`: librabbitmq's decoder and the client's conversion, on hand-written frames.
@Suite("AMQP content header properties from bytes")
struct PropertiesDecodingTests {
    static func shortString(_ text: String) -> [UInt8] { [UInt8(text.utf8.count)] + Array(text.utf8) }

    static func bigEndian<T: FixedWidthInteger>(_ value: T) -> [UInt8] {
        withUnsafeBytes(of: value.bigEndian) { Array($0) }
    }

    static func table(_ entries: [(String, [UInt8])]) -> [UInt8] {
        let body = entries.flatMap { shortString($0.0) + $0.1 }
        return bigEndian(UInt32(body.count)) + body
    }

    static let contentTypeFlag: UInt16 = 0x8000
    static let headersFlag: UInt16 = 0x2000

    @Test func readsContentTypeAndHeadersOfEveryKind() throws {
        let headers = Self.table([
            ("text", [UInt8(ascii: "S")] + Self.bigEndian(UInt32(3)) + Array("abc".utf8)),
            ("count", [UInt8(ascii: "l")] + Self.bigEndian(Int64(-7))),
            ("small", [UInt8(ascii: "b"), 0xFF]),
            ("flag", [UInt8(ascii: "t"), 1]),
            ("nested", [UInt8(ascii: "F")] + Self.table([("n", [UInt8(ascii: "I")] + Self.bigEndian(Int32(5)))])),
            ("list", [UInt8(ascii: "A")] + Self.bigEndian(UInt32(2)) + [UInt8(ascii: "t"), 0]),
            ("nothing", [UInt8(ascii: "V")]),
        ])
        let bytes =
            Self.bigEndian(Self.contentTypeFlag | Self.headersFlag) + Self.shortString("application/json") + headers
        let properties = try AMQPProperties(contentHeaderPropertyBytes: bytes)
        #expect(properties.contentType == "application/json")
        #expect(properties.type == nil)
        #expect(
            properties.headers == [
                "text": .string("abc"), "count": .int(-7), "small": .int(-1), "flag": .bool(true),
                "nested": .table(["n": .int(5)]), "list": .array([.bool(false)]), "nothing": .void,
            ]
        )
    }

    @Test func refusesTruncatedAndMalformedBytes() {
        let good = Self.bigEndian(Self.contentTypeFlag) + Self.shortString("application/json")
        let cases: [[UInt8]] = [
            [],
            Array(good.dropLast()),
            // A header table whose length runs past the end.
            Self.bigEndian(Self.headersFlag) + Self.bigEndian(UInt32(100)),
            // A field kind that does not exist.
            Self.bigEndian(Self.headersFlag) + Self.table([("bad", [UInt8(ascii: "Z")])]),
        ]
        for bytes in cases {
            #expect(throws: AMQPError.self, "\(bytes)") { try AMQPProperties(contentHeaderPropertyBytes: bytes) }
        }
    }

    /// The inputs that once crashed the fuzz target FuzzAMQPHeaders, kept in Fuzz/regressions.
    static func regression(_ name: String) throws -> [UInt8] {
        let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        return Array(try Data(contentsOf: repository.appending(path: "Fuzz/regressions/FuzzAMQPHeaders/\(name)")))
    }

    /// A header table nested 18,700 deep (128 KiB, one frame) overflowed the stack while being
    /// converted; now levels past ``AMQPFieldValue/maximumReadDepth`` are read as `void`.
    @Test func readsHeadersNestedThousandsDeepOnlyToTheReadDepth() throws {
        let properties = try AMQPProperties(
            contentHeaderPropertyBytes: try Self.regression("stack-overflow-headers-nested-18700-deep")
        )
        var depth = 0
        var value = properties.headers["n"]
        while case .table(let table)? = value {
            depth += 1
            value = table["n"]
        }
        #expect(depth == AMQPFieldValue.maximumReadDepth - 1)
        #expect(value == .void)
    }
}
