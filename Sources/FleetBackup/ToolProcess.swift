import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A dump or restore tool (`pg_dump`, `pg_restore`) run as a child process whose standard output
/// is read, or standard input written, a piece at a time. Secrets go in `environment`, never in
/// arguments (visible in `ps`). Blocking: run it on a thread that may block.
final class ToolProcess {
    let name: String
    private let process = Process()
    private let stdoutPipe = Pipe()
    private let stdinPipe = Pipe()
    private let stderrPath: String

    /// Starts `executable` with `arguments`; the child's environment is this process's plus `environment`.
    init(executable: String, arguments: [String], environment: [String: String]) throws(BackupError) {
        name = (executable as NSString).lastPathComponent
        // A child that exits while we write its stdin must fail the write (EPIPE), not kill us.
        signal(SIGPIPE, SIG_IGN)
        stderrPath = NSTemporaryDirectory() + "/fleet-\(name)-\(UInt32.random(in: 0...UInt32.max)).stderr"
        _ = FileManager.default.createFile(atPath: stderrPath, contents: nil)
        process.executableURL = URL(fileURLWithPath: Self.locate(executable))
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { _, new in new }
        process.standardOutput = stdoutPipe
        process.standardInput = stdinPipe
        process.standardError = FileHandle(forWritingAtPath: stderrPath)
        do {
            try process.run()
        } catch {
            try? FileManager.default.removeItem(atPath: stderrPath)
            throw BackupError(.tool, "cannot start \(name): \(error)")
        }
    }

    deinit {
        if process.isRunning { process.terminate() }
        try? FileManager.default.removeItem(atPath: stderrPath)
    }

    /// The next bytes of the child's standard output, or nil at its end.
    func readOutput() throws(BackupError) -> [UInt8]? {
        do {
            guard let data = try stdoutPipe.fileHandleForReading.read(upToCount: 256 * 1024), !data.isEmpty else {
                return nil
            }
            return [UInt8](data)
        } catch {
            throw BackupError(.tool, "reading the output of \(name) failed: \(error)")
        }
    }

    /// Writes to the child's standard input; a child that exited early fails with its own message.
    func writeInput(_ bytes: [UInt8]) throws(BackupError) {
        do {
            try stdinPipe.fileHandleForWriting.write(contentsOf: bytes)
        } catch {
            _ = try? finish()
            throw BackupError(.tool, "\(name) stopped reading its input: \(errorOutput())")
        }
    }

    /// Closes its input, waits for it, and fails unless it exited 0. Returns its standard error.
    @discardableResult
    func finish() throws(BackupError) -> String {
        try? stdinPipe.fileHandleForWriting.close()
        process.waitUntilExit()
        let output = errorOutput()
        guard process.terminationReason == .exit, process.terminationStatus == 0 else {
            throw BackupError(.tool, "\(name) failed (status \(process.terminationStatus)): \(output)")
        }
        return output
    }

    /// Stops a child that is no longer wanted.
    func stop() {
        if process.isRunning { process.terminate() }
        try? stdinPipe.fileHandleForWriting.close()
        process.waitUntilExit()
    }

    private func errorOutput() -> String {
        let text = (try? String(contentsOfFile: stderrPath, encoding: .utf8)) ?? ""
        return String(text.trimmingCharacters(in: .whitespacesAndNewlines).suffix(2000))
    }

    /// `pg_dump` from PATH, else from PostgreSQL's Debian folder.
    static func locate(_ executable: String) -> String {
        if executable.contains("/") { return executable }
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        let folders = path.split(separator: ":").map(String.init) + ["/usr/lib/postgresql/15/bin"]
        for folder in folders where FileManager.default.isExecutableFile(atPath: "\(folder)/\(executable)") {
            return "\(folder)/\(executable)"
        }
        return "/usr/bin/\(executable)"
    }
}
