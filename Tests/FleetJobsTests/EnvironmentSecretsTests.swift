import FleetApp
import FleetCore
import Foundation
import Testing

@Suite("Secrets from a variable or its _FILE form")
struct EnvironmentSecretsTests {
    /// A file in a folder of its own, removed by the caller.
    static func file(_ content: String) throws -> String {
        let path = "\(NSTemporaryDirectory())/secret-\(UUID().uuidString.prefix(8))"
        try Data(content.utf8).write(to: URL(fileURLWithPath: path))
        return path
    }

    @Test("the variable, else the file's content with one trailing line break removed, else nil")
    func forms() throws {
        #expect(try EnvironmentSecrets(["X": "value"]).value("X") == "value")
        #expect(try EnvironmentSecrets([:]).value("X") == nil)
        #expect(try EnvironmentSecrets(["X": "", "X_FILE": ""]).value("X") == nil)
        for (content, expected) in [
            ("s3cret\n", "s3cret"), ("s3cret\r\n", "s3cret"), ("s3cret", "s3cret"),
            ("s3cret\n\n", "s3cret\n"), (" s3cret ", " s3cret "),
        ] {
            let path = try Self.file(content)
            defer { try? FileManager.default.removeItem(atPath: path) }
            #expect(try EnvironmentSecrets(["X_FILE": path]).value("X") == expected)
            #expect(EnvironmentSecrets(["X_FILE": path]).isSet("X"))
        }
    }

    @Test("both forms set is an error naming both")
    func bothSet() throws {
        let path = try Self.file("from-file")
        defer { try? FileManager.default.removeItem(atPath: path) }
        let error = #expect(throws: ConfigurationError.self) {
            try EnvironmentSecrets(["X": "Direct-S3ntinel", "X_FILE": path]).value("X")
        }
        let text = "\(error.map { "\($0)" } ?? "")"
        #expect(text.contains("X and X_FILE"))
        #expect(!text.contains("Direct-S3ntinel") && !text.contains("from-file"))
    }

    @Test("a missing, unreadable or empty file is an error naming the variable and the path, never the content")
    func unreadable() throws {
        let folder = "\(NSTemporaryDirectory())/secret-dir-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let empty = try Self.file("\n")
        let binary = "\(NSTemporaryDirectory())/secret-bin-\(UUID().uuidString.prefix(8))"
        try Data([0x53, 0x33, 0xFF, 0xFE]).write(to: URL(fileURLWithPath: binary))
        defer {
            for path in [folder, empty, binary] { try? FileManager.default.removeItem(atPath: path) }
        }
        for path in ["/nonexistent/\(UUID().uuidString)", folder, empty, binary] {
            let error = #expect(throws: ConfigurationError.self) {
                try EnvironmentSecrets(["FLEET_X_URL_FILE": path]).value("FLEET_X_URL")
            }
            #expect(error?.path == "FLEET_X_URL_FILE")
            #expect(error?.problem.contains(path) == true, "\(String(describing: error))")
        }
    }
}
