import Crypto
import Foundation

/// The read side of an artifact: file bytes in, frames opened (and authenticated when encrypted),
/// gunzipped, dump bytes out, a piece at a time. Every damage becomes a ``BackupError``: corrupted,
/// truncated, or wrong key. Synchronous and blocking: call it where blocking is allowed.
public final class ArtifactReader {
    private let handle: FileHandle
    private var opener: ArtifactOpener
    private let gzip: Gzip
    private var ended = false
    /// Dump bytes read ahead of ``readLine()`` and ``readExactly(_:)``.
    private var buffer: [UInt8] = []
    private var bufferStart = 0

    init(path: String, key: BackupKey?) throws(BackupError) {
        guard let handle = FileHandle(forReadingAtPath: path) else {
            throw BackupError(.notFound, "cannot open the artifact \(path)")
        }
        self.handle = handle
        opener = ArtifactOpener(key: key)
        gzip = try Gzip(.decompress)
    }

    deinit {
        try? handle.close()
        gzip.close()
    }

    /// The next dump bytes, or nil at the (checked) end of the artifact.
    public func next() throws(BackupError) -> [UInt8]? {
        if bufferStart < buffer.count {
            defer {
                buffer = []
                bufferStart = 0
            }
            return Array(buffer[bufferStart...])
        }
        while !ended {
            let data: Data
            do {
                data = try handle.read(upToCount: 256 * 1024) ?? Data()
            } catch {
                throw BackupError(.io, "reading the artifact failed: \(error)")
            }
            if data.isEmpty {
                ended = true
                try opener.finish()
                guard gzip.reachedEnd else { throw BackupError(.truncated, "the compressed stream ends early") }
                return nil
            }
            let compressed = try opener.feed([UInt8](data))
            if compressed.isEmpty { continue }
            let plain = try gzip.decompress(compressed)
            if opener.sawFinal && !gzip.reachedEnd {
                throw BackupError(.truncated, "the compressed stream ends early")
            }
            if !plain.isEmpty { return plain }
        }
        return nil
    }

    /// Exactly `count` bytes, or nil at a clean end before the first of them.
    func readExactly(_ count: Int) throws(BackupError) -> [UInt8]? {
        while buffer.count - bufferStart < count {
            guard let more = try nextRaw() else {
                if buffer.count == bufferStart { return nil }
                throw BackupError(.corrupted, "the dump ends inside a record")
            }
            compact()
            buffer += more
        }
        let slice = Array(buffer[bufferStart..<bufferStart + count])
        bufferStart += count
        return slice
    }

    /// The next line without its newline, or nil at a clean end.
    func readLine() throws(BackupError) -> [UInt8]? {
        var searchFrom = bufferStart
        while true {
            if let newline = buffer[searchFrom...].firstIndex(of: UInt8(ascii: "\n")) {
                let line = Array(buffer[bufferStart..<newline])
                bufferStart = newline + 1
                return line
            }
            guard let more = try nextRaw() else {
                if buffer.count == bufferStart { return nil }
                throw BackupError(.corrupted, "the dump ends inside a line")
            }
            compact()
            searchFrom = buffer.count
            buffer += more
        }
    }

    private func compact() {
        if bufferStart > 0 {
            buffer.removeFirst(bufferStart)
            bufferStart = 0
        }
    }

    private func nextRaw() throws(BackupError) -> [UInt8]? {
        let savedBuffer = buffer
        let savedStart = bufferStart
        buffer = []
        bufferStart = 0
        defer {
            buffer = savedBuffer
            bufferStart = savedStart
        }
        return try next()
    }
}
