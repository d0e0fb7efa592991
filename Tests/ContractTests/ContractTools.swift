import FleetContract
import Foundation

/// The repository and `scripts/contract-tools.sh`, which validates with Python's jsonschema (installed
/// from PyPI into `.tools/` on first use).
enum ContractTools {
    static let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().path

    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    /// Runs `scripts/contract-tools.sh` with `arguments`; returns its exit status and output.
    static func run(_ arguments: [String]) async throws -> (status: Int32, output: String) {
        try await runScript("contract-tools.sh", arguments)
    }

    /// Runs `scripts/<script>` with `arguments` (and `environment` added to this process's); returns
    /// its exit status and output. Waits without holding a thread: blocking the cooperative pool (two
    /// threads on a two-core machine) would stall every other test meanwhile.
    static func runScript(
        _ script: String,
        _ arguments: [String],
        environment: [String: String] = [:]
    ) async throws -> (status: Int32, output: String) {
        try await runBash(["\(repositoryRoot)/scripts/\(script)"] + arguments, environment: environment, log: script)
    }

    /// Runs bash with `arguments` (a script and its arguments, or `-c` and a command) in the
    /// repository; returns its exit status and output.
    static func runBash(
        _ arguments: [String],
        environment: [String: String] = [:],
        log: String = "bash"
    ) async throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/bash")
        process.arguments = arguments
        process.currentDirectoryURL = URL(fileURLWithPath: repositoryRoot)
        if !environment.isEmpty {
            process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        }
        let output = FileManager.default.temporaryDirectory.appendingPathComponent("\(log)-\(UUID()).log")
        _ = FileManager.default.createFile(atPath: output.path, contents: nil)
        defer { try? FileManager.default.removeItem(at: output) }
        let handle = try FileHandle(forWritingTo: output)
        process.standardOutput = handle
        process.standardError = handle
        let status = await withCheckedContinuation { (continuation: CheckedContinuation<Int32, Never>) in
            process.terminationHandler = { continuation.resume(returning: $0.terminationStatus) }
            do {
                try process.run()
            } catch {
                process.terminationHandler = nil
                continuation.resume(returning: -1)
            }
        }
        try handle.close()
        return (status, (try? String(contentsOf: output, encoding: .utf8)) ?? "")
    }

    /// Validates `documents` with one run of `scripts/contract-tools.sh asyncapi`: whether each is
    /// valid, and what the run printed about it.
    static func validateAsyncAPI(_ documents: [JSONValue]) async throws -> [(valid: Bool, output: String)] {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("asyncapi-\(UUID())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        var files: [String] = []
        for (index, document) in documents.enumerated() {
            let file = directory.appendingPathComponent("document-\(index).json")
            try Data(document.prettySerialized()).write(to: file)
            files.append(file.path)
        }
        let (status, output) = try await run(["asyncapi"] + files)
        // One section per file, each ending with its verdict line `asyncapi: FILE ...`.
        var sections = Array(repeating: "", count: files.count)
        var current = ""
        for line in output.split(separator: "\n", omittingEmptySubsequences: false) {
            current += line + "\n"
            if line.hasPrefix("asyncapi: "),
                let index = files.firstIndex(where: {
                    line.hasPrefix("asyncapi: \($0) ") || line.hasPrefix("asyncapi: \($0): ")
                })
            {
                sections[index] = current
                current = ""
            }
        }
        guard status == 0 || status == 1, sections.allSatisfy({ !$0.isEmpty }) else {
            throw Failure(description: "contract-tools.sh asyncapi failed (\(status)):\n\(output)")
        }
        return sections.map { ($0.contains("is a valid AsyncAPI 3.0.0 document"), $0) }
    }

    /// One instance validated against a named schema of the batch.
    struct Verdict {
        /// Valid under draft 2020-12.
        let valid: Bool
        /// Valid under draft-07 (what AsyncAPI Schema Objects extend).
        let validDraft7: Bool
        let error: String?
    }

    /// Validates every `(schema name, instance)` case with Python's jsonschema, in one process.
    static func validate(schemas: [String: JSONValue], cases: [(String, JSONValue)]) async throws -> [Verdict] {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("contract-batch-\(UUID())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let input = directory.appendingPathComponent("in.json")
        let resultFile = directory.appendingPathComponent("out.json")
        let batch: JSONValue = [
            "schemas": .object(schemas),
            "cases": .array(cases.map { [.string($0.0), $0.1] }),
        ]
        try Data(batch.serialized()).write(to: input)
        let (status, output) = try await run(["batch", input.path, resultFile.path])
        guard status == 0 else { throw Failure(description: "contract-tools.sh batch failed (\(status)):\n\(output)") }
        guard case .array(let results) = try JSONParser.parse(Array(try Data(contentsOf: resultFile))),
            results.count == cases.count
        else { throw Failure(description: "contract-tools.sh batch: unexpected output") }
        return results.map { result in
            guard case .array(let fields) = result, fields.count == 3 else {
                return Verdict(valid: false, validDraft7: false, error: "unreadable result")
            }
            let error: String? = if case .string(let text) = fields[2] { text } else { nil }
            return Verdict(valid: fields[0] == .bool(true), validDraft7: fields[1] == .bool(true), error: error)
        }
    }
}

extension JSONValue {
    /// The member `key` of an object; nil for anything else.
    subscript(key: String) -> JSONValue? {
        if case .object(let members) = self { return members[key] }
        return nil
    }

    var objectValue: [String: JSONValue]? {
        if case .object(let members) = self { return members }
        return nil
    }

    var stringValue: String? {
        if case .string(let text) = self { return text }
        return nil
    }

    var arrayValue: [JSONValue]? {
        if case .array(let values) = self { return values }
        return nil
    }
}
