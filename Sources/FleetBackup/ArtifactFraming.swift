import Crypto
import Foundation

/// The byte layout of an artifact file, after its content was gzip-compressed:
///
/// ```
/// header  "FLTBAK" | format version (1 byte) | flags (1 byte, bit 0: encrypted)
///         | key id (8 bytes, zero when plain) | nonce prefix (8 random bytes, zero when plain)
/// frames  kind (1 byte: 0 data, 1 final) | length (4 bytes, big-endian) | payload
/// ```
///
/// A plain payload is gzip bytes; an encrypted one is AES-256-GCM ciphertext and its 16-byte tag,
/// with nonce = nonce prefix ‖ frame index (4 bytes) and the header, kind and index as authenticated
/// data. So each chunk is authenticated on its own (a large dump is sealed and opened a chunk at a
/// time), a moved chunk fails (its index is in the nonce), and a cut-off artifact fails (the last
/// frame must be of kind final, and nothing may follow it). A plain artifact relies on its
/// manifest's sha256 and gzip's CRC-32 instead.
enum ArtifactFraming {
    static let magic: [UInt8] = Array("FLTBAK".utf8)
    static let formatVersion: UInt8 = 1
    static let headerCount = 24
    /// Plain bytes per frame; a frame on disk is at most this plus the tag.
    static let chunkSize = 1 << 20
    /// Frames larger than this are refused when reading, whatever the header says.
    static let maximumFrame = 16 << 20
    static let tagCount = 16

    struct Header: Equatable {
        var encrypted: Bool
        var keyId: [UInt8]
        var noncePrefix: [UInt8]

        var bytes: [UInt8] {
            magic + [formatVersion, encrypted ? 1 : 0] + keyId + noncePrefix
        }

        static func parse(_ bytes: [UInt8]) throws(BackupError) -> Header {
            guard bytes.count == headerCount else {
                throw BackupError(.truncated, "the artifact ends inside its header")
            }
            guard Array(bytes[0..<6]) == magic else {
                throw BackupError(.corrupted, "not a fleet backup artifact (bad magic)")
            }
            guard bytes[6] == formatVersion else {
                throw BackupError(.unknownFormat, "artifact format version \(bytes[6]) is not supported")
            }
            guard bytes[7] <= 1 else { throw BackupError(.corrupted, "unknown artifact flags \(bytes[7])") }
            return Header(encrypted: bytes[7] == 1, keyId: Array(bytes[8..<16]), noncePrefix: Array(bytes[16..<24]))
        }
    }

    static func keyIdBytes(_ key: BackupKey) -> [UInt8] { BackupKey.hexBytes(key.id) ?? [] }

    static func nonce(_ header: Header, index: UInt32) throws -> AES.GCM.Nonce {
        try AES.GCM.Nonce(data: header.noncePrefix + bigEndian(index))
    }

    static func authenticatedData(_ header: Header, kind: UInt8, index: UInt32) -> [UInt8] {
        header.bytes + [kind] + bigEndian(index)
    }

    static func bigEndian(_ value: UInt32) -> [UInt8] {
        [UInt8(value >> 24), UInt8(value >> 16 & 0xff), UInt8(value >> 8 & 0xff), UInt8(value & 0xff)]
    }
}

/// Turns gzip bytes into frames (sealed when a key is given). Pure: no I/O.
struct ArtifactSealer {
    let header: ArtifactFraming.Header
    private let key: BackupKey?
    private var index: UInt32 = 0

    init(key: BackupKey?) {
        self.key = key
        if let key {
            header = .init(
                encrypted: true,
                keyId: ArtifactFraming.keyIdBytes(key),
                noncePrefix: (0..<8).map { _ in UInt8.random(in: 0...255) }
            )
        } else {
            header = .init(
                encrypted: false,
                keyId: [UInt8](repeating: 0, count: 8),
                noncePrefix: [UInt8](repeating: 0, count: 8)
            )
        }
    }

    /// One frame holding `chunk`; `final` for the last one (which may be empty).
    mutating func frame(_ chunk: [UInt8], final: Bool) throws(BackupError) -> [UInt8] {
        let kind: UInt8 = final ? 1 : 0
        var payload = chunk
        if let key {
            do {
                let sealed = try AES.GCM.seal(
                    chunk,
                    using: key.symmetricKey,
                    nonce: ArtifactFraming.nonce(header, index: index),
                    authenticating: ArtifactFraming.authenticatedData(header, kind: kind, index: index)
                )
                payload = Array(sealed.ciphertext) + Array(sealed.tag)
            } catch {
                throw BackupError(.io, "sealing chunk \(index) failed: \(error)")
            }
        }
        guard index < UInt32.max else { throw BackupError(.io, "too many chunks") }
        index += 1
        return [kind] + ArtifactFraming.bigEndian(UInt32(payload.count)) + payload
    }
}

/// Reads frames back: give it bytes as they come, take the gzip bytes out. Pure: no I/O.
struct ArtifactOpener {
    private let key: BackupKey?
    private(set) var header: ArtifactFraming.Header?
    private var buffer: [UInt8] = []
    private var index: UInt32 = 0
    private(set) var sawFinal = false

    init(key: BackupKey?) { self.key = key }

    /// Appends `bytes` and returns the plain bytes of every complete frame among them.
    mutating func feed(_ bytes: [UInt8]) throws(BackupError) -> [UInt8] {
        buffer += bytes
        var output: [UInt8] = []
        if header == nil {
            guard buffer.count >= ArtifactFraming.headerCount else { return [] }
            let parsed = try ArtifactFraming.Header.parse(Array(buffer[0..<ArtifactFraming.headerCount]))
            try check(parsed)
            header = parsed
            buffer.removeFirst(ArtifactFraming.headerCount)
        }
        while buffer.count >= 5 {
            if sawFinal { throw BackupError(.corrupted, "bytes follow the artifact's final chunk") }
            let kind = buffer[0]
            guard kind <= 1 else { throw BackupError(.corrupted, "chunk \(index) has an unknown kind \(kind)") }
            let length = buffer[1..<5].reduce(0) { $0 << 8 | Int($1) }
            guard length <= ArtifactFraming.maximumFrame else {
                throw BackupError(.corrupted, "chunk \(index) claims \(length) bytes")
            }
            guard buffer.count >= 5 + length else { break }
            let payload = Array(buffer[5..<5 + length])
            buffer.removeFirst(5 + length)
            output += try open(payload, kind: kind)
            index += 1
            if kind == 1 { sawFinal = true }
        }
        if sawFinal && !buffer.isEmpty { throw BackupError(.corrupted, "bytes follow the artifact's final chunk") }
        return output
    }

    /// Called at the end of the file: a missing header, partial frame or missing final frame means
    /// the artifact was cut off.
    func finish() throws(BackupError) {
        guard header != nil else { throw BackupError(.truncated, "the artifact ends inside its header") }
        guard buffer.isEmpty else { throw BackupError(.truncated, "the artifact ends inside chunk \(index)") }
        guard sawFinal else {
            throw BackupError(.truncated, "the artifact ends after chunk \(index) without its final chunk")
        }
    }

    private func check(_ header: ArtifactFraming.Header) throws(BackupError) {
        guard header.encrypted else { return }
        guard let key else {
            throw BackupError(
                .key,
                "the artifact is encrypted (key id \(hex(header.keyId))) but no key is configured (FLEET_BACKUP_KEY_FILE)"
            )
        }
        let configured = ArtifactFraming.keyIdBytes(key)
        guard configured == header.keyId else {
            throw BackupError(
                .wrongKey,
                "wrong key or corrupted artifact: it was sealed with key id \(hex(header.keyId)), the configured key is \(key.id)"
            )
        }
    }

    private func open(_ payload: [UInt8], kind: UInt8) throws(BackupError) -> [UInt8] {
        guard let header, header.encrypted, let key else { return payload }
        guard payload.count >= ArtifactFraming.tagCount else {
            throw BackupError(.corrupted, "chunk \(index) is shorter than its tag")
        }
        do {
            let box = try AES.GCM.SealedBox(
                nonce: ArtifactFraming.nonce(header, index: index),
                ciphertext: payload.dropLast(ArtifactFraming.tagCount),
                tag: payload.suffix(ArtifactFraming.tagCount)
            )
            let plain = try AES.GCM.open(
                box,
                using: key.symmetricKey,
                authenticating: ArtifactFraming.authenticatedData(header, kind: kind, index: index)
            )
            return Array(plain)
        } catch {
            throw BackupError(.wrongKey, "wrong key or corrupted artifact: chunk \(index) failed authentication")
        }
    }

    private func hex(_ bytes: [UInt8]) -> String { bytes.map { String(format: "%02x", $0) }.joined() }
}
