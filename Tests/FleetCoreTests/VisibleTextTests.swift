import AMQP
import Testing

@testable import FleetCore

/// What `fleet dlq` and the dashboard print of a hostile dead letter.
@Suite("Visible text")
struct VisibleTextTests {
    @Test("C0, DEL and C1 controls become escapes; line breaks and tabs their short forms")
    func controls() {
        #expect(
            VisibleText.escape("a\nb\tc\r\u{0}\u{1B}[2J\u{7F}\u{85}\u{9B}")
                == #"a\nb\tc\r\u{0}\u{1B}[2J\u{7F}\u{85}\u{9B}"#
        )
    }

    @Test("an OSC 8 hyperlink keeps no raw ESC or BEL")
    func terminalLink() {
        let link = "\u{1B}]8;;https://evil.example\u{7}click\u{1B}]8;;\u{7}"
        let shown = VisibleText.escape(link)
        #expect(shown == #"\u{1B}]8;;https://evil.example\u{7}click\u{1B}]8;;\u{7}"#)
        #expect(!shown.unicodeScalars.contains { $0.value < 0x20 })
    }

    @Test("bidi overrides, isolates, zero-width characters, BOM and line separators are escaped")
    func formatCharacters() {
        let hostile =
            (0x200B...0x200F).map { Unicode.Scalar($0)! } + (0x202A...0x202E).map { Unicode.Scalar($0)! }
            + (0x2066...0x2069).map { Unicode.Scalar($0)! } + ["\u{2028}", "\u{2029}", "\u{FEFF}", "\u{061C}"]
        for scalar in hostile {
            let text = "a" + String(Character(scalar)) + "b"
            let expected = "a\\u{" + String(scalar.value, radix: 16, uppercase: true) + "}b"
            #expect(VisibleText.escape(text) == expected, "U+\(String(scalar.value, radix: 16))")
        }
    }

    @Test("printable text of any script, emoji and backslashes stay as they are")
    func printable() {
        #expect(VisibleText.escape(#"plain ü ✓ 日本 😀 \u{1B} ' OR 1=1"#) == #"plain ü ✓ 日本 😀 \u{1B} ' OR 1=1"#)
    }

    @Test("header values: strings, bytes, nested tables and arrays, keys included, escaped on one line")
    func headers() {
        let value = AMQPFieldValue.table([
            "k\u{1B}": .array([.string("x\u{202E}y"), .int(3), .bytes(Array("\n".utf8))]),
            "a": .table(["b": .bool(true), "c": .void]),
        ])
        #expect(VisibleText.header(value) == #"{a: {b: true, c: void}, k\u{1B}: [x\u{202E}y, 3, \n]}"#)
    }

    @Test("a header table nested 2,000 deep prints without trouble")
    func deepTable() {
        var value = AMQPFieldValue.string("\u{1B}")
        for _ in 0..<2_000 { value = .table(["a": value]) }
        let shown = VisibleText.header(value)
        #expect(shown.hasSuffix(#"\u{1B}"# + String(repeating: "}", count: 2_000)))
        #expect(!shown.contains("\u{1B}"))
    }
}
