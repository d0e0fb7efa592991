import Crypto
import Foundation

/// The AES-256-GCM key that seals artifacts, read from the file `FLEET_BACKUP_KEY_FILE` names.
///
/// The file holds 32 bytes: raw (a file of exactly 32 bytes), or as 64 hex digits, or as base64
/// (`openssl rand -base64 32 > key`); surrounding whitespace is ignored for hex and base64. Its
/// ``id`` (the first 8 bytes of a SHA-256 of the key, in hex) is written in each artifact's header
/// and manifest, so keys can rotate: keep the old key file to read older artifacts.
public struct BackupKey: Sendable {
    /// Kept as bytes: swift-crypto 3's `SymmetricKey` is not `Sendable`; one is made per use.
    private let bytes: [UInt8]
    var symmetricKey: SymmetricKey { SymmetricKey(data: bytes) }
    /// 16 hex digits naming the key; not secret (it reveals nothing usable about the key).
    public let id: String

    /// A key of exactly 32 bytes.
    public init(bytes: [UInt8]) throws(BackupError) {
        guard bytes.count == 32 else { throw BackupError(.key, "a backup key must be 32 bytes, got \(bytes.count)") }
        self.bytes = bytes
        var hasher = SHA256()
        hasher.update(data: Array("fleet-backup-key-id".utf8))
        hasher.update(data: bytes)
        id = hasher.finalize().prefix(8).map { String(format: "%02x", $0) }.joined()
    }

    /// Reads a key file (see the type's notes for its forms). The error never quotes the file's contents.
    public init(file path: String) throws(BackupError) {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw BackupError(.key, "cannot read the backup key file \(path)")
        }
        try self.init(fileContents: [UInt8](data), path: path)
    }

    init(fileContents bytes: [UInt8], path: String = "the key file") throws(BackupError) {
        if bytes.count == 32 {
            try self.init(bytes: bytes)
            return
        }
        let text = String(decoding: bytes, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        if text.count == 64, let hex = Self.hexBytes(text) {
            try self.init(bytes: hex)
            return
        }
        if let decoded = Data(base64Encoded: text), decoded.count == 32 {
            try self.init(bytes: [UInt8](decoded))
            return
        }
        throw BackupError(
            .key,
            "\(path) holds no 32-byte key: expected 32 raw bytes, 64 hex digits or base64 of 32 bytes"
        )
    }

    static func hexBytes(_ text: String) -> [UInt8]? {
        var bytes: [UInt8] = []
        var iterator = text.utf8.makeIterator()
        while let high = iterator.next() {
            guard let low = iterator.next(), let h = hexValue(high), let l = hexValue(low) else { return nil }
            bytes.append(h << 4 | l)
        }
        return bytes
    }

    private static func hexValue(_ c: UInt8) -> UInt8? {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): c - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): c - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): c - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}
