import FleetContract
import FleetCore
import FleetJobs
import Testing

/// Follow-up keys stay valid idempotency keys (1 to 200 code points, at most 800 UTF-8 bytes)
/// for any valid parent key, and stay stable: a parent run twice derives the same keys.
@Suite("Follow-up keys")
struct FollowUpKeyTests {
    static let fourByte = "\u{1F680}"

    static let parents: [(name: String, key: String)] = [
        ("short ASCII", "exam-7"),
        ("200 ASCII", String(repeating: "k", count: 200)),
        ("200 four-byte code points", String(repeating: fourByte, count: 200)),
        ("e and 199 combining accents", "e" + String(repeating: "\u{0301}", count: 199)),
        ("200 two-byte code points", String(repeating: "é", count: 200)),
        ("mixed", String(repeating: "a\u{1F680}é\u{0301}", count: 50)),
    ]

    @Test(arguments: parents.map(\.name))
    func derivedKeysAreValidAndStable(_ name: String) {
        let parent = Self.parents.first { $0.name == name }!.key
        #expect(EnvelopeDecoder.isValidIdempotencyKey(parent), "the parent itself is valid")
        for suffix in ["profile", "career"] {
            let derived = FollowUpKey.derive(parent: parent, suffix: suffix)
            #expect(derived.unicodeScalars.count <= EnvelopeDecoder.maximumIdempotencyKeyCodePoints)
            #expect(derived.utf8.count <= EnvelopeDecoder.maximumIdempotencyKeyBytes)
            #expect(EnvelopeDecoder.isValidIdempotencyKey(derived))
            #expect(derived.hasSuffix("/\(suffix)"))
            #expect(
                Array(FollowUpKey.derive(parent: parent, suffix: suffix).unicodeScalars)
                    == Array(derived.unicodeScalars)
            )
        }
    }

    @Test func aKeyThatFitsIsKeptWhole() {
        #expect(FollowUpKey.derive(parent: "exam-7", suffix: "career") == "exam-7/career")
        let fits = String(repeating: Self.fourByte, count: 190)
        #expect(FollowUpKey.derive(parent: fits, suffix: "career") == fits + "/career")
    }

    @Test func aLongASCIIKeyKeepsItsEarlierForm() {
        // Unchanged from the grapheme-counting version, so follow-ups of jobs in flight across an
        // upgrade keep their keys: 160 characters, "~", 16 hex digits of FNV-1a 64, "/suffix".
        let parent = String(repeating: "k", count: 200)
        let derived = FollowUpKey.derive(parent: parent, suffix: "profile")
        #expect(derived.hasPrefix(String(repeating: "k", count: 160) + "~"))
        #expect(derived.utf8.count == 160 + 1 + 16 + "/profile".utf8.count)
    }

    @Test func fourByteAndCombiningKeysAreCutWithinBothLimits() {
        let fourByte = FollowUpKey.derive(parent: String(repeating: Self.fourByte, count: 200), suffix: "profile")
        #expect(fourByte.unicodeScalars.count <= 200)
        #expect(fourByte.utf8.count <= 800)
        let combining = "e" + String(repeating: "\u{0301}", count: 199)
        let derived = FollowUpKey.derive(parent: combining, suffix: "profile")
        #expect(derived.unicodeScalars.count <= 200, "a grapheme count would have kept all 208 code points")
        #expect(derived != FollowUpKey.derive(parent: combining + "\u{0301}", suffix: "profile"))
        #expect(derived != FollowUpKey.derive(parent: String(combining.unicodeScalars.dropLast()), suffix: "profile"))
    }
}
