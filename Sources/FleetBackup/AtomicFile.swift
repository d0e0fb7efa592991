import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A file that appears at its path only when complete: written to a temporary file in the same
/// folder, fsynced, renamed over the path, and the folder fsynced so the rename survives a crash.
/// Until ``commit()``, readers see no file at `path`; ``discard()`` (or an error) removes the
/// temporary file. Owns one file descriptor; blocking: call it off the cooperative pool.
final class AtomicFile {
    let path: String
    let temporaryPath: String
    private var descriptor: Int32

    init(path: String) throws(BackupError) {
        self.path = path
        let folder = (path as NSString).deletingLastPathComponent
        let name = (path as NSString).lastPathComponent
        temporaryPath = "\(folder)/.\(name).tmp-\(UInt32.random(in: 0...UInt32.max))"
        descriptor = open(temporaryPath, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else { throw BackupError(.io, "cannot create \(temporaryPath): \(Self.errnoText())") }
    }

    deinit { discard() }

    func write(_ bytes: [UInt8]) throws(BackupError) {
        var offset = 0
        while offset < bytes.count {
            let written = bytes[offset...].withUnsafeBytes { Glibc.write(descriptor, $0.baseAddress, $0.count) }
            if written < 0 {
                if errno == EINTR { continue }
                throw BackupError(.io, "writing \(temporaryPath) failed: \(Self.errnoText())")
            }
            offset += written
        }
    }

    /// fsync, rename into place, fsync the folder.
    func commit() throws(BackupError) {
        guard descriptor >= 0 else { throw BackupError(.io, "\(path) was already committed or discarded") }
        guard fsync(descriptor) == 0 else {
            throw BackupError(.io, "fsync of \(temporaryPath) failed: \(Self.errnoText())")
        }
        close(descriptor)
        descriptor = -1
        guard rename(temporaryPath, path) == 0 else {
            let text = Self.errnoText()
            unlink(temporaryPath)
            throw BackupError(.io, "renaming \(temporaryPath) to \(path) failed: \(text)")
        }
        try Self.syncFolder(of: path)
    }

    /// Removes the temporary file if not committed.
    func discard() {
        guard descriptor >= 0 else { return }
        close(descriptor)
        descriptor = -1
        unlink(temporaryPath)
    }

    /// Writes `bytes` to `path` atomically in one go (manifests).
    static func write(_ bytes: [UInt8], to path: String) throws(BackupError) {
        let file = try AtomicFile(path: path)
        try file.write(bytes)
        try file.commit()
    }

    static func syncFolder(of path: String) throws(BackupError) {
        let folder = (path as NSString).deletingLastPathComponent
        let fd = open(folder, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { throw BackupError(.io, "cannot open \(folder): \(errnoText())") }
        defer { close(fd) }
        guard fsync(fd) == 0 else { throw BackupError(.io, "fsync of \(folder) failed: \(errnoText())") }
    }

    static func errnoText() -> String { String(cString: strerror(errno)) }
}
