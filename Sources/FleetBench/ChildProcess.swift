import Foundation

/// Runs a benchmark side (or the broker probe's `erl_call`) to completion and returns what it
/// printed on stdout (its stderr is ours).
enum ChildProcess {
    static func run(_ executable: String, _ arguments: [String], input: String? = nil) async throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        let output = Pipe()
        process.standardOutput = output
        let inputPipe = input.map { _ in Pipe() }
        if let inputPipe { process.standardInput = inputPipe }
        // A probe's records can exceed a pipe's buffer: read on a thread of its own while it runs.
        let text = Reader(output.fileHandleForReading)
        let status: Int32 = try await withCheckedThrowingContinuation { continuation in
            process.terminationHandler = { continuation.resume(returning: $0.terminationStatus) }
            do {
                try process.run()
                if let inputPipe, let input {
                    inputPipe.fileHandleForWriting.write(Data(input.utf8))
                    try? inputPipe.fileHandleForWriting.close()
                }
            } catch {
                process.terminationHandler = nil
                continuation.resume(throwing: BenchError("cannot start \(executable): \(error)"))
            }
        }
        let printed = text.wait()
        guard status == 0 else {
            // erl_call takes the broker's cookie as `-c COOKIE`: never print it.
            let shown = arguments.enumerated().map {
                $0.offset > 0 && arguments[$0.offset - 1] == "-c" ? "…" : $0.element
            }
            throw BenchError(
                "\(executable) \(shown.joined(separator: " ")) exited with \(status): \(printed.prefix(2_000))"
            )
        }
        return printed
    }

    /// Reads a pipe to its end on a thread of its own.
    private final class Reader: @unchecked Sendable {
        // `data` is written once by the reading thread before `done` is signalled, and read only
        // after waiting for it.
        private var data = Data()
        private let done = DispatchSemaphore(value: 0)

        init(_ handle: FileHandle) {
            Thread.detachNewThread { [self] in
                data = handle.readDataToEndOfFile()
                done.signal()
            }
        }

        func wait() -> String {
            done.wait()
            return String(decoding: data, as: UTF8.self)
        }
    }
}
