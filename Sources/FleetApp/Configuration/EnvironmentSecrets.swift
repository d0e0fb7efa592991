import FleetCore
import Foundation

/// Reads a setting that may hold a secret from the environment, either directly (`NAME`) or
/// from a file (`NAME_FILE`, the form secret stores such as Kubernetes and Docker mount).
///
/// The one reader behind every server URL and every other secret-bearing variable, so each of
/// them accepts both forms with the same rules:
/// - an empty variable counts as unset (a shell's `FLEET_X_URL=` clears it);
/// - the file's content is used with one trailing line break (`\n` or `\r\n`) removed, nothing else;
/// - `NAME` and `NAME_FILE` both set is an error naming both;
/// - an unreadable file is an error naming the variable and the path, never the content.
/// Errors never quote a value: it may be a password.
public struct EnvironmentSecrets: Sendable {
    public let environment: [String: String]

    public init(_ environment: [String: String] = ProcessInfo.processInfo.environment) {
        self.environment = environment
    }

    /// The name of the file form of `name`.
    public static func fileVariable(_ name: String) -> String { "\(name)_FILE" }

    /// The value of `name`, or the content of the file `name_FILE` names; nil when neither is set.
    public func value(_ name: String) throws(ConfigurationError) -> String? {
        let fileName = Self.fileVariable(name)
        let direct = environment[name].flatMap { $0.isEmpty ? nil : $0 }
        let path = environment[fileName].flatMap { $0.isEmpty ? nil : $0 }
        switch (direct, path) {
        case (nil, nil):
            return nil
        case (let value?, nil):
            return value
        case (_?, _?):
            throw ConfigurationError(
                file: "environment",
                path: name,
                problem: "both \(name) and \(fileName) are set; set only one"
            )
        case (nil, let path?):
            return try Self.read(path, variable: fileName)
        }
    }

    /// Whether `name` or `name_FILE` is set (non-empty); reads no file.
    public func isSet(_ name: String) -> Bool {
        [name, Self.fileVariable(name)].contains { !(environment[$0] ?? "").isEmpty }
    }

    private static func read(_ path: String, variable: String) throws(ConfigurationError) -> String {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw ConfigurationError(
                file: "environment",
                path: variable,
                problem: "cannot read \(path): \(Self.cause(of: error))"
            )
        }
        guard var text = String(data: data, encoding: .utf8) else {
            throw ConfigurationError(file: "environment", path: variable, problem: "\(path) is not UTF-8 text")
        }
        if text.hasSuffix("\r\n") {
            text.removeLast(1)  // "\r\n" is one Character in Swift
        } else if text.hasSuffix("\n") {
            text.removeLast()
        }
        guard !text.isEmpty else {
            throw ConfigurationError(file: "environment", path: variable, problem: "\(path) is empty")
        }
        return text
    }

    /// Why a file could not be read, in a few words (never its content: it was not read).
    private static func cause(of error: any Error) -> String {
        switch (error as? CocoaError)?.code {
        case .fileReadNoSuchFile?, .fileNoSuchFile?: "no such file"
        case .fileReadNoPermission?: "permission denied"
        default: (error as NSError).localizedDescription
        }
    }
}
