import FleetContract
import FleetCore

public enum FollowUpKey {
    /// Code points of the parent key kept before the hash, when the whole key does not fit.
    static let keptParentCodePoints = 160

    /// The idempotency key of a follow-up: `<parent key>/<suffix>`, so a parent job run twice (a
    /// crash between its commit and its publish) starts each follow-up once. When that exceeds the
    /// envelope's limits (``EnvelopeDecoder/maximumIdempotencyKeyCodePoints`` code points,
    /// ``EnvelopeDecoder/maximumIdempotencyKeyBytes`` UTF-8 bytes), the key keeps the parent's
    /// first 160 code points (fewer when they would exceed the byte limit) and a hash of the whole
    /// parent key: `<prefix>~<16 hex digits>/<suffix>`. Within both limits for any valid parent
    /// key and a short ASCII suffix.
    public static func derive(parent: String, suffix: String) -> String {
        let key = "\(parent)/\(suffix)"
        guard !EnvelopeDecoder.isValidIdempotencyKey(key) else { return key }
        // FNV-1a 64: stable across processes, unlike Hasher.
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in parent.utf8 {
            hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3
        }
        let hex = String(hash, radix: 16)
        let tail = "~\(String(repeating: "0", count: 16 - hex.count))\(hex)/\(suffix)"
        let codePointBudget = min(
            keptParentCodePoints,
            EnvelopeDecoder.maximumIdempotencyKeyCodePoints - tail.unicodeScalars.count
        )
        var byteBudget = EnvelopeDecoder.maximumIdempotencyKeyBytes - tail.utf8.count
        var prefix = String.UnicodeScalarView()
        for scalar in parent.unicodeScalars.prefix(max(codePointBudget, 0)) {
            byteBudget -= scalar.utf8.count
            guard byteBudget >= 0 else { break }
            prefix.append(scalar)
        }
        return String(prefix) + tail
    }
}
