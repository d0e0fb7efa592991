import Foundation
import Testing

@testable import FleetContract

@Suite("JSON parser (RFC 8259)")
struct JSONParserTests {
    func parse(_ text: String) throws(JSONParseError) -> JSONValue { try JSONParser.parse(text) }

    func error(_ bytes: [UInt8]) -> JSONParseError? {
        do {
            _ = try JSONParser.parse(bytes)
            return nil
        } catch {
            return error
        }
    }

    @Test func parsesEveryKindOfValue() throws {
        #expect(try parse("null") == .null)
        #expect(try parse("true") == .bool(true))
        #expect(try parse("false") == .bool(false))
        #expect(try parse("42") == .integer(42))
        #expect(try parse("-2.5") == .number(-2.5))
        #expect(try parse(#""text""#) == .string("text"))
        #expect(try parse("[]") == .array([]))
        #expect(try parse("{}") == .object([:]))
        #expect(
            try parse(" \t\r\n[1, \"a\", null, [true], {}] \n")
                == .array([.integer(1), .string("a"), .null, .array([.bool(true)]), .object([:])])
        )
        let document = #"{"id":"x","n":1,"f":0.5,"ok":false,"none":null,"list":[1,[2,[3]]],"nested":{"a":{"b":"c"}}}"#
        #expect(
            try parse(document)
                == .object([
                    "id": .string("x"), "n": .integer(1), "f": .number(0.5), "ok": .bool(false), "none": .null,
                    "list": .array([.integer(1), .array([.integer(2), .array([.integer(3)])])]),
                    "nested": .object(["a": .object(["b": .string("c")])]),
                ])
        )
        #expect(try parse("{ \"a\" : 1 , \"b\" : [ ] }") == .object(["a": .integer(1), "b": .array([])]))
    }

    @Test func readsBytesStringsAndSlicesAlike() throws {
        let bytes = Array(#"  {"a":[1,2]}  "#.utf8)
        let expected = JSONValue.object(["a": .array([.integer(1), .integer(2)])])
        #expect(try JSONParser.parse(bytes) == expected)
        #expect(try JSONParser.parse(bytes[2..<13]) == expected)
        #expect(try JSONParser.parse(Data(bytes)) == expected)
        #expect(try JSONParser.parse(bytes.lazy.map { $0 }) == expected)
        #expect(try JSONParser.parse(String(decoding: bytes, as: UTF8.self)) == expected)
    }

    @Test(arguments: [
        ("", "unexpected end of input at byte 0"),
        ("   ", "unexpected end of input at byte 3"),
        ("x", "unexpected character 'x' at byte 0"),
        ("[1,]", "unexpected character ']' at byte 3"),
        (#"{"a":1,}"#, "unexpected character '}' at byte 7"),
        ("[1 2]", "unexpected character '2' at byte 3"),
        (#"{"a" 1}"#, "unexpected character '1' at byte 5"),
        (#"{a:1}"#, "unexpected character 'a' at byte 1"),
        (#"{"a":}"#, "unexpected character '}' at byte 5"),
        ("[1", "unexpected end of input at byte 2"),
        (#"{"a":1"#, "unexpected end of input at byte 6"),
        ("[1]]", "trailing characters at byte 3"),
        ("1 2", "trailing characters at byte 2"),
        ("{} x", "trailing characters at byte 3"),
        ("// c\n1", "unexpected character '/' at byte 0"),
        ("/* c */ 1", "unexpected character '/' at byte 0"),
        ("tru", "unexpected end of input at byte 3"),
        ("trUe", "unexpected character 'U' at byte 2"),
        ("nul", "unexpected end of input at byte 3"),
        ("True", "unexpected character 'T' at byte 0"),
        ("NaN", "unexpected character 'N' at byte 0"),
        ("Infinity", "unexpected character 'I' at byte 0"),
        ("-Infinity", "unexpected character 'I' at byte 1"),
        ("01", "leading zero in number at byte 0"),
        ("-01", "leading zero in number at byte 0"),
        ("[00]", "leading zero in number at byte 1"),
        ("+1", "unexpected character '+' at byte 0"),
        (".5", "unexpected character '.' at byte 0"),
        ("1.", "unexpected end of input at byte 2"),
        ("1.e3", "unexpected character 'e' at byte 2"),
        ("-", "unexpected end of input at byte 1"),
        ("- 1", "unexpected character ' ' at byte 1"),
        ("1e", "unexpected end of input at byte 2"),
        ("1e+", "unexpected end of input at byte 3"),
        ("0x10", "trailing characters at byte 1"),
        ("1e999", "number out of range at byte 0"),
        ("[-1e999]", "number out of range at byte 1"),
        ("1.8e308", "number out of range at byte 0"),
        ("0." + String(repeating: "0", count: 100_009) + "1e1000000", "number out of range at byte 0"),
        (#"""#, "unterminated string at byte 0"),
        (#"["abc"#, "unterminated string at byte 1"),
        (#""abc\"#, "unterminated string at byte 4"),
        ("\"a\tb\"", "unescaped control character 0x09 in string at byte 2"),
        ("\"a\nb\"", "unescaped control character 0x0A in string at byte 2"),
        ("\"\u{0}\"", "unescaped control character 0x00 in string at byte 1"),
        (#""\x""#, "invalid escape 'x' in string at byte 1"),
        (#""\U0041""#, "invalid escape 'U' in string at byte 1"),
        (#""\'""#, "invalid escape ''' in string at byte 1"),
        (#""\u12""#, #"invalid \u escape at byte 1"#),
        (#""\u12G4""#, #"invalid \u escape at byte 1"#),
        (#""ab\u004""#, #"invalid \u escape at byte 3"#),
        (#""\ud800""#, #"unpaired surrogate in \u escape at byte 1"#),
        (#""\ud800x""#, #"unpaired surrogate in \u escape at byte 1"#),
        (#""\udc00""#, #"unpaired surrogate in \u escape at byte 1"#),
        (#""\udc00\ud800""#, #"unpaired surrogate in \u escape at byte 1"#),
        (#""\ud800\u0041""#, #"unpaired surrogate in \u escape at byte 1"#),
        (#""\ud800\ud800""#, #"unpaired surrogate in \u escape at byte 1"#),
        (#""\ud800\n""#, #"unpaired surrogate in \u escape at byte 1"#),
        (#""\ud800\uZZZZ""#, #"invalid \u escape at byte 7"#),
        ("\u{FEFF}{}", "unexpected byte 0xEF at byte 0"),
        ("\u{0C}1", "unexpected byte 0x0C at byte 0"),
        ("\u{A0}1", "unexpected byte 0xC2 at byte 0"),
        ("'a'", "unexpected character ''' at byte 0"),
    ])
    func rejectsInvalidDocuments(text: String, message: String) {
        let error = error(Array(text.utf8))
        #expect(error?.message == message, "\(text.debugDescription)")
        #expect(error?.description == message)
    }

    @Test(
        arguments: [
            ([0x22, 0xFF, 0x22], "invalid UTF-8 at byte 1"),
            ([0x22, 0x61, 0x80, 0x22], "invalid UTF-8 at byte 2"),  // stray continuation byte
            ([0x22, 0xC3, 0x22], "invalid UTF-8 at byte 1"),  // truncated sequence
            ([0x22, 0xC3], "invalid UTF-8 at byte 1"),  // truncated at the end of input
            ([0x22, 0xC0, 0xAF, 0x22], "invalid UTF-8 at byte 1"),  // overlong "/"
            ([0x22, 0xE0, 0x80, 0xAF, 0x22], "invalid UTF-8 at byte 1"),  // overlong "/"
            ([0x22, 0xF0, 0x80, 0x80, 0xAF, 0x22], "invalid UTF-8 at byte 1"),  // overlong "/"
            ([0x22, 0xED, 0xA0, 0x80, 0x22], "invalid UTF-8 at byte 1"),  // encoded surrogate U+D800
            ([0x22, 0xF4, 0x90, 0x80, 0x80, 0x22], "invalid UTF-8 at byte 1"),  // U+110000
            ([0x22, 0xF5, 0x80, 0x80, 0x80, 0x22], "invalid UTF-8 at byte 1"),
            ([0x22, 0xE2, 0x82, 0x41, 0x22], "invalid UTF-8 at byte 1"),
            ([0x22, 0x5C, 0x6E, 0xFE, 0x22], "invalid UTF-8 at byte 3"),  // after an escape
            ([0x22, 0xE2, 0x82, 0x5C, 0x6E, 0x22], "invalid UTF-8 at byte 1"),  // cut short by an escape
            ([0x7B, 0xFF, 0x7D], "unexpected byte 0xFF at byte 1"),
            ([0x5B, 0x31, 0x5D, 0x00], "trailing characters at byte 3"),
        ] as [([UInt8], String)]
    )
    func rejectsInvalidUTF8(bytes: [UInt8], message: String) {
        #expect(error(bytes)?.message == message, "\(bytes)")
    }

    /// Strings are scanned eight bytes at a time: a byte that needs a look must be found at any position.
    @Test func findsSpecialBytesAtEveryPositionInAString() throws {
        for position in 0..<24 {
            let before = String(repeating: "a", count: position)
            let after = String(repeating: "b", count: 23 - position)
            #expect(try parse("\"\(before)\"") == .string(before))
            #expect(try parse("\"\(before)\\n\(after)\"") == .string(before + "\n" + after))
            #expect(try parse("\"\(before)é\(after)\"") == .string(before + "é" + after))
            #expect(try parse("\"\(before)\\\"é\\u00e9\(after)\"") == .string(before + "\"éé" + after))
            #expect(error(Array("\"\(before)\u{1F}\(after)\"".utf8))?.offset == 1 + position)
            #expect(error(Array("\"\(before)\\n\u{0}\(after)\"".utf8))?.offset == 3 + position)
            #expect(error(Array("\"\(before)".utf8) + [0xFF] + Array("\(after)\"".utf8))?.offset == 1 + position)
            #expect(error(Array("\"\(before)é\(after)".utf8))?.message == "unterminated string at byte 0")
        }
    }

    @Test func acceptsValidUTF8OfEveryLength() throws {
        let text = "a é € 😀 \u{7F} \u{80} \u{7FF} \u{800} \u{FFFF} \u{10000} \u{10FFFF} \u{D7FF} \u{E000}"
        #expect(try parse("\"\(text)\"") == .string(text))
        #expect(try parse("{\"😀\":\"é\"}") == .object(["😀": .string("é")]))
    }

    @Test func readsNumbers() throws {
        let cases: [(String, JSONValue)] = [
            ("0", .integer(0)), ("-0", .integer(0)), ("7", .integer(7)), ("-7", .integer(-7)),
            ("1e2", .number(100)), ("1E+2", .number(100)), ("1e-2", .number(0.01)), ("100e-2", .number(1)),
            ("1.0", .number(1)), ("0.1", .number(0.1)), ("-2.5E-3", .number(-0.0025)), ("0e0", .number(0)),
            ("9223372036854775807", .integer(.max)), ("-9223372036854775808", .integer(.min)),
            ("9223372036854775808", .number(9_223_372_036_854_775_808)),
            ("-9223372036854775809", .number(-0x1p63)),
            ("18446744073709551616", .number(18_446_744_073_709_551_616)),
            ("123456789012345678901234567890", .number(1.2345678901234568e29)),
            ("1.5e308", .number(1.5e308)), ("1.7976931348623157e308", .number(.greatestFiniteMagnitude)),
            ("5e-324", .number(.leastNonzeroMagnitude)), ("1e-400", .number(0)),
            ("0.30000000000000004", .number(0.30000000000000004)), ("123456789.5", .number(123_456_789.5)),
            ("9007199254740993", .integer(9_007_199_254_740_993)),
            ("9007199254740993.0", .number(9_007_199_254_740_992)),
            ("0.000001", .number(0.000001)), ("1e22", .number(1e22)), ("1e23", .number(1e23)),
            ("3.141592653589793238462643383279", .number(.pi)),
            ("1" + String(repeating: "0", count: 400) + "e-400", .number(1)),
            ("0." + String(repeating: "0", count: 100_009) + "1e100000", .number(1e-10)),
        ]
        for (text, expected) in cases {
            #expect(try parse(text) == expected, "\(text)")
        }
        // -0.0 == 0.0, so the sign needs its own check.
        guard case .number(let negativeZero) = try parse("-0.0") else {
            Issue.record("-0.0 is not a .number")
            return
        }
        #expect(negativeZero == 0 && negativeZero.sign == .minus)
    }

    /// Both the fast path (short significands, small exponents) and the fallback must round exactly as
    /// `Double(String)` does.
    @Test func roundsNumbersAsDoubleFromStringDoes() throws {
        var random = SeededRandom(seed: 7)
        for _ in 0..<20_000 {
            let digits = String(Int.random(in: 1...999_999_999_999_999_999, using: &random))
            let point = Int.random(in: 0...digits.count, using: &random)
            var text = String(digits.prefix(point)) + "." + String(digits.dropFirst(point))
            if text.hasPrefix(".") { text = "0" + text }
            if text.hasSuffix(".") { text += "0" }
            if Bool.random(using: &random) { text += "e\(Int.random(in: -30...30, using: &random))" }
            guard case .number(let parsed) = try parse(text) else {
                Issue.record("\(text) is not a .number")
                continue
            }
            #expect(parsed == Double(text), "\(text)")
        }
    }

    @Test func decodesEscapes() throws {
        #expect(try parse(#""\"\\\/\b\f\n\r\t""#) == .string("\"\\/\u{8}\u{C}\n\r\t"))
        #expect(try parse(#""\u0041\u00e9\u00E9\u20AC\u0000\u001f""#) == .string("Aéé€\u{0}\u{1F}"))
        #expect(try parse(#""\ud83d\ude00""#) == .string("😀"))
        #expect(try parse(#""\uD83D\uDE00x\uDBFF\uDFFF""#) == .string("😀x\u{10FFFF}"))
        #expect(try parse(#""raw é, then \n escaped é: \u00e9""#) == .string("raw é, then \n escaped é: é"))
        #expect(try parse(#""\\u0041""#) == .string("\\u0041"))
        #expect(try parse(#"{"a\nb":1}"#) == .object(["a\nb": .integer(1)]))
    }

    @Test func limitsNesting() throws {
        func nested(_ depth: Int) -> String {
            String(repeating: "[", count: depth) + String(repeating: "]", count: depth)
        }
        var expected = JSONValue.array([])
        for _ in 1..<64 { expected = .array([expected]) }
        #expect(try parse(nested(64)) == expected)
        #expect(error(Array(nested(65).utf8))?.message == "nesting deeper than 64 at byte 64")
        let objects = String(repeating: #"{"a":"#, count: 65) + "1" + String(repeating: "}", count: 65)
        #expect(error(Array(objects.utf8))?.message == "nesting deeper than 64 at byte 320")
        #expect(try parse(String(repeating: #"{"a":["#, count: 32) + String(repeating: "]}", count: 32)) != .null)
        // Hostile input fails at the limit instead of recursing a million frames deep.
        #expect(error([UInt8](repeating: UInt8(ascii: "["), count: 1_000_000))?.offset == 64)
        #expect(error(Array(String(repeating: "[1,", count: 100_000).utf8))?.offset == 192)
    }

    @Test func readsBigStrings() throws {
        let plain = String(repeating: "abcdefgh", count: 1 << 17)
        #expect(try parse("\"\(plain)\"") == .string(plain))
        let mixed = String(repeating: "é😀\"\\\n/", count: 1 << 17)
        let escaped = mixed.replacingOccurrences(of: "\\", with: "\\\\")
            .replacingOccurrences(of: "\"", with: "\\\"").replacingOccurrences(of: "\n", with: "\\n")
        #expect(escaped.utf8.count > 1 << 20)
        #expect(try parse("[\"\(escaped)\"]") == .array([.string(mixed)]))
    }

    @Test func lastDuplicateKeyWins() throws {
        #expect(try parse(#"{"a":1,"b":2,"a":3}"#) == .object(["a": .integer(3), "b": .integer(2)]))
        #expect(try parse(#"{"a":{"x":1},"a":null}"#) == .object(["a": .null]))
    }

    @Test func roundTripsRandomValues() throws {
        var random = SeededRandom(seed: 2026)
        for _ in 0..<2_000 {
            let value = JSONValue.random(depth: 4, using: &random)
            let text = value.serialized()
            #expect(try JSONParser.parse(text) == value, "\(String(decoding: text, as: UTF8.self))")
        }
    }

    /// Damaged documents are refused or read, never a crash; what is read writes back as the same value.
    @Test func survivesMutatedInput() throws {
        var random = SeededRandom(seed: 99)
        let alphabet =
            Array(#"{}[]",:\/"0123456789-+.eEtrufalsn u"#.utf8) + [
                0x00, 0x1F, 0x7F, 0x80, 0xBF, 0xC3, 0xED, 0xF4, 0xFF,
            ]
        for _ in 0..<5_000 {
            var bytes = JSONValue.random(depth: 3, using: &random).serialized()
            for _ in 0..<Int.random(in: 1...3, using: &random) where !bytes.isEmpty {
                let position = Int.random(in: 0..<bytes.count, using: &random)
                switch Int.random(in: 0..<3, using: &random) {
                case 0: bytes[position] = alphabet.randomElement(using: &random)!
                case 1: bytes.insert(alphabet.randomElement(using: &random)!, at: position)
                default: bytes.remove(at: position)
                }
            }
            if let value = try? JSONParser.parse(bytes) {
                #expect(try JSONParser.parse(value.serialized()) == value)
                #expect(String(validating: bytes, as: UTF8.self) != nil)
            }
        }
    }

    /// Agrees with the `JSONDecoder` path it replaces on valid documents, except that `JSONDecoder` reads any
    /// whole number as `.integer` (`1.0`, `1e2`, `-0.0`).
    @Test func agreesWithJSONDecoder() throws {
        let documents = [
            "null", "true", "[false]", "0", "-0", "12", "-12", "0.5", "-1.25e-3", "1.0", "1e2", "-0.0",
            "9223372036854775807", "-9223372036854775808", "9223372036854775808", "1e-400", "5e-324",
            "1.7976931348623157e308", "123456789.123456789", #""""#, #""\u0000\"\\\/\b\f\n\r\t""#, #""\ud83d\ude00""#,
            #"{"id":"00000000-0000-4000-a000-000000000042","type":"bench.noop","version":1,"payload":{"k":[1,2.5,null]}}"#,
            #" { "a" : [ ] , "b" : { } , "c" : [ { } , [ [ ] ] ] } "#, "\"é€😀 \u{7F}\"",
        ]
        var random = SeededRandom(seed: 11)
        let generated = (0..<500).map { _ in JSONValue.random(depth: 3, using: &random).jsonText }
        for document in documents + generated {
            let foundation = try JSONDecoder().decode(JSONValue.self, from: Data(document.utf8))
            let ours = try parse(document)
            #expect(ours.matches(foundation), "\(document)")
        }
    }
}

@Suite("JSON serializer")
struct JSONSerializerTests {
    func foundationEncoded(_ value: JSONValue) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try! encoder.encode(value), as: UTF8.self)
    }

    @Test func writesCompactSortedJSON() {
        let value = JSONValue.object([
            "b": .array([.integer(1), .integer(-2), .null, .bool(true), .bool(false)]),
            "a": .object(["z": .string("")]),
            "B": .number(0.5), "_": .integer(.min), "a10": .integer(.max), "a2": .array([]),
        ])
        #expect(
            value.jsonText
                == #"{"B":0.5,"_":-9223372036854775808,"a":{"z":""},"a10":9223372036854775807,"a2":[],"b":[1,-2,null,true,false]}"#
        )
        #expect(JSONValue.object([:]).jsonText == "{}")
        #expect(JSONValue.string("x").serialized() == Array(#""x""#.utf8))
    }

    @Test func escapesOnlyWhatJSONRequires() {
        let text = String(decoding: (0..<0x20).map { UInt8($0) }, as: UTF8.self) + "\"\\/\u{7F}é😀\u{2028}"
        let expected =
            #""\u0000\u0001\u0002\u0003\u0004\u0005\u0006\u0007\b\t\n\u000b\f\r\u000e\u000f"#
            + #"\u0010\u0011\u0012\u0013\u0014\u0015\u0016\u0017\u0018\u0019\u001a\u001b\u001c\u001d\u001e\u001f"#
            + "\\\"\\\\/\u{7F}é😀\u{2028}\""
        #expect(JSONValue.string(text).jsonText == expected)
        #expect(foundationEncoded(.string(text)) == expected)
    }

    /// The writer scans eight bytes at a time: escapes at every offset of a word, in the last
    /// partial word, next to each other and next to multi-byte characters are all found.
    @Test func escapesWhereverTheyFallInAWord() {
        let pieces = ["a", "xyz", "\"", "\\", "\n", "\u{1}", "\u{1F}", " ", "/", "é", "😀", "\u{7F}", "!", "[", "]"]
        var random = SeededRandom(seed: 5)
        for _ in 0..<2000 {
            let text = (0..<Int.random(in: 0...24, using: &random)).map { _ in pieces.randomElement(using: &random)! }
                .joined()
            #expect(JSONValue.string(text).jsonText == foundationEncoded(.string(text)), "\(text.debugDescription)")
        }
        // Every ASCII byte at every offset of a word, among filler bytes below and above 0x80 (the
        // bit trick's borrows differ): each control character, `"` and `\` must be found.
        for filler in ["abcdefghijklmnop", "éééééééé"] {
            let fillerBytes = Array(filler.utf8)
            for byte in UInt8(0)...0x7F {
                for offset in 0..<8 {
                    var bytes = fillerBytes
                    bytes.insert(byte, at: offset)
                    let text = String(decoding: bytes, as: UTF8.self)
                    #expect(
                        JSONValue.string(text).jsonText == foundationEncoded(.string(text)),
                        "byte \(byte) at \(offset)"
                    )
                }
            }
        }
    }

    @Test func writesDoublesSoTheyParseBackAsNumbers() throws {
        let cases: [(Double, String)] = [
            (0.1, "0.1"), (1e-7, "1e-07"), (123_456_789.5, "123456789.5"), (5e20, "5e+20"), (-1.5, "-1.5"),
            (100, "100.0"), (0, "0.0"), (-0.0, "-0.0"), (1e16, "1e+16"), (1e-5, "1e-05"), (0.0001, "0.0001"),
            (.greatestFiniteMagnitude, "1.7976931348623157e+308"), (.leastNonzeroMagnitude, "5e-324"),
            (.nan, "null"), (.infinity, "null"), (-.infinity, "null"),
        ]
        for (number, text) in cases {
            #expect(JSONValue.number(number).jsonText == text)
            if number.isFinite {
                #expect(try JSONParser.parse(text) == .number(number), "\(text)")
            }
        }
    }

    /// The one difference from `JSONEncoder`: it drops the `.0` of whole numbers.
    @Test func writesDoublesAsJSONEncoderDoesButForWholeNumbers() {
        var random = SeededRandom(seed: 3)
        let fixed: [Double] = [0.1, 1e-7, 123_456_789.5, 5e20, 1e16, 1e15, 100, -0.0, 2.5e-5, 1e300, 4.35]
        let randomBits = (0..<5_000).map { _ in Double(bitPattern: random.next()) }.filter(\.isFinite)
        for number in fixed + randomBits {
            let ours = JSONValue.number(number).jsonText
            let theirs = foundationEncoded(.number(number))
            if ours.hasSuffix(".0") {
                #expect(theirs == String(ours.dropLast(2)), "\(number)")
            } else {
                #expect(theirs == ours, "\(number)")
            }
        }
    }

    /// Keys in Unicode normalization form C (all ASCII keys among them) sort the same by bytes as by `<`.
    @Test func sortsKeysByTheirUTF8Bytes() {
        let keys = ["b", "a", "B", "a10", "a2", "_x", "é", "e", "ｚ", "😀", "", "~", "created_at", "createdAt"]
        let value = JSONValue.object(Dictionary(uniqueKeysWithValues: keys.map { ($0, JSONValue.null) }))
        #expect(value.jsonText == foundationEncoded(value))
        #expect(value.jsonText == "{" + keys.sorted().map { "\"\($0)\":null" }.joined(separator: ",") + "}")
        // Not in NFC: `<` compares the composed form, bytes (and JSONEncoder) the decomposed one.
        let decomposed = JSONValue.object(["e\u{301}b": .null, "\u{E9}a": .null])
        #expect(decomposed.jsonText == foundationEncoded(decomposed))
        #expect(decomposed.jsonText == "{\"e\u{301}b\":null,\"\u{E9}a\":null}")
    }

    @Test func encodesEnvelopesAsJSONEncoderDid() throws {
        let strings = [
            "plain", "", "with \"quotes\"", #"back\slash"#, "line\nbreak\r\n", "tab\tand\u{1}\u{1F}control",
            "emoji 😀👍🏽", "slash / and </script>", "é€", "\u{7F}\u{2028}",
        ]
        let numbers: [JSONValue] = [
            .integer(0), .integer(-1), .integer(.max), .integer(.min), .number(0.1), .number(1e-7),
            .number(123_456_789.5), .number(-2.5e-300), .number(3.14),
        ]
        var envelopes: [JobEnvelope] = []
        for (index, string) in strings.enumerated() {
            envelopes.append(
                JobEnvelope(
                    id: "00000000-0000-4000-a000-\(String(repeating: "0", count: 10))\(index + 10)",
                    type: "bench.noop",
                    version: index % 3 + 1,
                    createdAt: Date(timeIntervalSince1970: 1_795_600_800 + Double(index) * 0.125),
                    idempotencyKey: index.isMultiple(of: 2) ? string : nil,
                    notBefore: index.isMultiple(of: 3) ? Date(timeIntervalSince1970: 1_795_600_900) : nil,
                    payload: [
                        "text": .string(string), string: numbers[index % numbers.count], "numbers": .array(numbers),
                        "nested": .object(["flag": .bool(index.isMultiple(of: 2)), "none": .null, "list": .array([])]),
                    ]
                )
            )
        }
        for envelope in envelopes {
            let encoded = envelope.encoded()
            let value = try JSONParser.parse(encoded)
            #expect(String(decoding: encoded, as: UTF8.self) == foundationEncoded(value))
            #expect(try EnvelopeDecoder(knownVersions: ["bench.noop": [1, 2, 3]]).decode(encoded) == envelope)
        }
    }

    @Test func randomValuesEncodeAsJSONEncoderDoesButForWholeDoubles() {
        var random = SeededRandom(seed: 5)
        for _ in 0..<500 {
            let value = JSONValue.random(depth: 3, using: &random, wholeDoubles: false)
            #expect(value.jsonText == foundationEncoded(value))
        }
    }
}

/// SplitMix64: a small seeded generator, so failures reproduce.
struct SeededRandom: RandomNumberGenerator {
    var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

extension JSONValue {
    static func random(depth: Int, using generator: inout SeededRandom, wholeDoubles: Bool = true) -> JSONValue {
        switch Int.random(in: 0..<(depth > 0 ? 8 : 6), using: &generator) {
        case 0: return .null
        case 1: return .bool(Bool.random(using: &generator))
        case 2:
            let extremes: [Int64] = [0, -1, .max, .min, 9_007_199_254_740_993]
            switch Int.random(in: 0..<3, using: &generator) {
            case 0: return .integer(Int64.random(in: -1000...1000, using: &generator))
            case 1: return .integer(Int64(bitPattern: generator.next()))
            default: return .integer(extremes.randomElement(using: &generator)!)
            }
        case 3:
            var number: Double
            repeat {
                switch Int.random(in: 0..<3, using: &generator) {
                case 0: number = Double(bitPattern: generator.next())
                case 1: number = Double(Int.random(in: -100_000...100_000, using: &generator)) / 64
                default: number = Double.random(in: -1...1, using: &generator)
                }
            } while !number.isFinite || (!wholeDoubles && number.rounded() == number)
            return .number(number)
        case 4, 5: return .string(randomString(using: &generator))
        case 6:
            return .array(
                (0..<Int.random(in: 0...4, using: &generator)).map { _ in
                    random(depth: depth - 1, using: &generator, wholeDoubles: wholeDoubles)
                }
            )
        default:
            var members: [String: JSONValue] = [:]
            for _ in 0..<Int.random(in: 0...4, using: &generator) {
                members[randomString(using: &generator)] = random(
                    depth: depth - 1,
                    using: &generator,
                    wholeDoubles: wholeDoubles
                )
            }
            return .object(members)
        }
    }

    static func randomString(using random: inout SeededRandom) -> String {
        let pieces = [
            "a", "Z", "0", " ", "\"", "\\", "/", "\n", "\t", "\u{0}", "\u{1F}", "\u{7F}", "é", "€", "😀", "\u{FFFF}",
            "key",
        ]
        return (0..<Int.random(in: 0...8, using: &random)).map { _ in pieces.randomElement(using: &random)! }.joined()
    }

    /// Equal, except that `other` may hold a whole number as `.integer` where this holds a `.number`.
    func matches(_ other: JSONValue) -> Bool {
        switch (self, other) {
        case (.number(let number), .integer(let integer)): return number == Double(integer)
        case (.array(let mine), .array(let theirs)):
            return mine.count == theirs.count && zip(mine, theirs).allSatisfy { $0.matches($1) }
        case (.object(let mine), .object(let theirs)):
            return mine.count == theirs.count && mine.allSatisfy { theirs[$0.key].map($0.value.matches) ?? false }
        default: return self == other
        }
    }
}
