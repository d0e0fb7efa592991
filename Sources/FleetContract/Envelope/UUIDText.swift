import KernelRandom

/// UUIDs as the contract writes them: 8-4-4-4-12 hex digits, in either case. Checked on the bytes:
/// Foundation's `UUID(uuidString:)` parses with `sscanf`, a visible cost on the per-job path.
public enum UUIDText {
    /// The lowercased form of `text`, or nil when it is not a UUID.
    public static func canonical(_ text: String) -> String? {
        var text = text
        let hasUppercase = text.withUTF8 { bytes -> Bool? in
            guard bytes.count == 36 else { return nil }
            for (index, byte) in bytes.enumerated() {
                if index == 8 || index == 13 || index == 18 || index == 23 {
                    guard byte == UInt8(ascii: "-") else { return nil }
                } else if !(isDigit(byte) || isLowerHex(byte) || isUpperHex(byte)) {
                    return nil
                }
            }
            return bytes.contains(where: isUpperHex)
        }
        switch hasUppercase {
        case nil: return nil
        // Already lowercase, as every id the producer makes: the string itself, not a copy of it.
        case false?: return text
        case true?:
            return text.withUTF8 { bytes in
                String(unsafeUninitializedCapacity: 36) { output in
                    for (index, byte) in bytes.enumerated() { output[index] = isUpperHex(byte) ? byte + 32 : byte }
                    return 36
                }
            }
        }
    }

    /// A random (version 4) UUID, lowercased. Foundation's `UUID()` opens `/dev/urandom` on each
    /// call on Linux, a syscall triple per published job, and the system generator makes one
    /// `getrandom` call per 8 bytes: the bytes come from ``RandomBytes``, one `getrandom` call per
    /// 256 UUIDs (the metrics writer draws one per finished job, tens of thousands a second).
    public static func random() -> String {
        withUnsafeBytes(of: randomVersion4()) { format($0) }
    }

    /// The 16 bytes of a new random version 4 UUID, in the order its text shows them.
    public static func randomVersion4() -> RandomBytes.Sixteen {
        var raw = RandomBytes.shared.take16()
        raw.6 = raw.6 & 0x0f | 0x40  // version 4
        raw.8 = raw.8 & 0x3f | 0x80  // RFC 4122 variant
        return raw
    }

    /// The 16 bytes as 8-4-4-4-12 lowercase hex digits.
    static func format(_ raw: UnsafeRawBufferPointer) -> String {
        String(unsafeUninitializedCapacity: 36) { output in
            write(raw, into: output)
            return 36
        }
    }

    /// Writes the 36 characters of `raw` (16 bytes) at the start of `output`.
    private static func write(_ raw: UnsafeRawBufferPointer, into output: UnsafeMutableBufferPointer<UInt8>) {
        var position = 0
        for (index, byte) in raw.enumerated() {
            if index == 4 || index == 6 || index == 8 || index == 10 {
                output[position] = UInt8(ascii: "-")
                position += 1
            }
            output[position] = hexDigits[Int(byte >> 4)]
            output[position + 1] = hexDigits[Int(byte & 0x0f)]
            position += 2
        }
    }

    private static let hexDigits: [UInt8] = Array("0123456789abcdef".utf8)

    private static func isDigit(_ byte: UInt8) -> Bool { byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") }
    private static func isLowerHex(_ byte: UInt8) -> Bool { byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "f") }
    private static func isUpperHex(_ byte: UInt8) -> Bool { byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "F") }
}
