import Foundation

/// Runs a benchmark side to completion and returns what it printed on stdout (its stderr is ours).
enum ChildProcess {
    static func run(_ executable: String, _ arguments: [String]) async throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        let output = Pipe()
        process.standardOutput = output
        // A child prints one line of JSON, far below a pipe's buffer, so reading after exit is safe.
        let status: Int32 = try await withCheckedThrowingContinuation { continuation in
            process.terminationHandler = { continuation.resume(returning: $0.terminationStatus) }
            do {
                try process.run()
            } catch {
                process.terminationHandler = nil
                continuation.resume(throwing: BenchError("cannot start \(executable): \(error)"))
            }
        }
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        guard status == 0 else {
            throw BenchError("\(executable) \(arguments.joined(separator: " ")) exited with \(status): \(text)")
        }
        return text
    }
}
