import CZlib

/// A gzip (RFC 1952) compressor or decompressor over one zlib stream, fed in chunks so a large dump
/// never sits in memory whole. It owns its `z_stream` and frees it in ``close()`` (or `deinit`).
///
/// Not thread-safe: one caller at a time. zlib calls block (CPU), so callers run them off Swift's
/// cooperative pool (the artifact pipeline runs on a `NIOThreadPool` thread).
final class Gzip {
    enum Mode { case compress, decompress }

    private var stream = z_stream()
    private let mode: Mode
    private var open = false
    /// Set once the decompressor has seen the gzip trailer (CRC-32 and length checked by zlib).
    private(set) var reachedEnd = false
    private var output = [UInt8](repeating: 0, count: 64 * 1024)

    init(_ mode: Mode, level: Int32 = 6) throws(BackupError) {
        self.mode = mode
        let status =
            switch mode {
            case .compress: fleet_deflate_init_gzip(&stream, level)
            case .decompress: fleet_inflate_init_gzip(&stream)
            }
        guard status == Z_OK else { throw BackupError(.compression, "zlib init failed (\(status))") }
        open = true
    }

    deinit { close() }

    func close() {
        guard open else { return }
        open = false
        switch mode {
        case .compress: deflateEnd(&stream)
        case .decompress: inflateEnd(&stream)
        }
    }

    /// Compresses `input`; returns what zlib has ready (possibly nothing).
    func compress(_ input: some Collection<UInt8>) throws(BackupError) -> [UInt8] {
        try run(Array(input), flush: Z_NO_FLUSH)
    }

    /// Ends the gzip stream: the rest of the data and the trailer.
    func finish() throws(BackupError) -> [UInt8] {
        try run([], flush: Z_FINISH)
    }

    /// Decompresses `input`. Bytes after the gzip trailer are an error (the artifact was altered).
    func decompress(_ input: [UInt8]) throws(BackupError) -> [UInt8] {
        guard !reachedEnd || input.isEmpty else {
            throw BackupError(.corrupted, "data after the end of the compressed stream")
        }
        return try run(input, flush: Z_NO_FLUSH)
    }

    private func run(_ input: [UInt8], flush: Int32) throws(BackupError) -> [UInt8] {
        guard open else { throw BackupError(.compression, "zlib stream is closed") }
        var result: [UInt8] = []
        var failure: BackupError?
        var input = input
        let outputCount = output.count
        input.withUnsafeMutableBufferPointer { inputBuffer in
            stream.next_in = inputBuffer.baseAddress
            stream.avail_in = uInt(inputBuffer.count)
            output.withUnsafeMutableBufferPointer { outputBuffer in
                while true {
                    stream.next_out = outputBuffer.baseAddress
                    stream.avail_out = uInt(outputCount)
                    let status =
                        mode == .compress ? deflate(&stream, flush) : inflate(&stream, Z_NO_FLUSH)
                    let produced = outputCount - Int(stream.avail_out)
                    result.append(contentsOf: outputBuffer[0..<produced])
                    switch status {
                    case Z_STREAM_END:
                        if mode == .decompress {
                            reachedEnd = true
                            if stream.avail_in > 0 {
                                failure = BackupError(.corrupted, "data after the end of the compressed stream")
                            }
                        }
                        return
                    case Z_OK:
                        // More to do while zlib filled the whole output buffer or input remains.
                        if stream.avail_out == 0 || stream.avail_in > 0 { continue }
                        if flush == Z_FINISH { continue }
                        return
                    case Z_BUF_ERROR:
                        // No progress possible: all input consumed and nothing more to flush.
                        return
                    default:
                        let message = stream.msg.map { String(cString: $0) } ?? "status \(status)"
                        failure = BackupError(
                            mode == .compress ? .compression : .corrupted,
                            "the compressed stream is damaged (zlib: \(message))"
                        )
                        return
                    }
                }
            }
            stream.next_in = nil
        }
        if let failure { throw failure }
        return result
    }
}
