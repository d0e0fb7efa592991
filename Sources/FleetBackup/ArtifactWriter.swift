import Crypto
import Foundation

/// The write side of an artifact: dump bytes in, gzip, frames (sealed when a key is given), an
/// ``AtomicFile`` out, with the SHA-256 and size of the file computed as it is written.
///
/// Synchronous and blocking (zlib, AES, file writes): exporters call it from a thread that may
/// block (a store pool's thread, or `NIOThreadPool`). One writer, one caller at a time.
public final class ArtifactWriter {
    private let file: AtomicFile
    private let gzip: Gzip
    private var sealer: ArtifactSealer
    private var pending: [UInt8] = []
    private var hasher = SHA256()
    private var size = 0
    private var finished = false

    /// What a finished artifact is: its size and the hex SHA-256 of the file's bytes.
    public struct Result: Sendable {
        public let size: Int
        public let sha256: String
    }

    init(path: String, key: BackupKey?) throws(BackupError) {
        file = try AtomicFile(path: path)
        gzip = try Gzip(.compress)
        sealer = ArtifactSealer(key: key)
        try emit(sealer.header.bytes)
    }

    /// Adds dump bytes.
    public func write(_ bytes: some Collection<UInt8>) throws(BackupError) {
        pending += try gzip.compress(bytes)
        while pending.count >= ArtifactFraming.chunkSize {
            let chunk = Array(pending.prefix(ArtifactFraming.chunkSize))
            pending.removeFirst(ArtifactFraming.chunkSize)
            try emit(sealer.frame(chunk, final: false))
        }
    }

    /// Ends the stream, seals the last frame, fsyncs and renames the file into place.
    func finish() throws(BackupError) -> Result {
        pending += try gzip.finish()
        gzip.close()
        while pending.count > ArtifactFraming.chunkSize {
            let chunk = Array(pending.prefix(ArtifactFraming.chunkSize))
            pending.removeFirst(ArtifactFraming.chunkSize)
            try emit(sealer.frame(chunk, final: false))
        }
        try emit(sealer.frame(pending, final: true))
        pending = []
        try file.commit()
        finished = true
        return Result(size: size, sha256: hasher.finalize().map { String(format: "%02x", $0) }.joined())
    }

    /// Drops the unfinished artifact (its temporary file).
    func discard() {
        gzip.close()
        file.discard()
    }

    private func emit(_ bytes: [UInt8]) throws(BackupError) {
        hasher.update(data: bytes)
        size += bytes.count
        try file.write(bytes)
    }
}
