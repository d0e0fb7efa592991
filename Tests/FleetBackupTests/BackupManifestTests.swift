import Foundation
import Testing

@testable import FleetBackup

@Suite("Backup manifests")
struct BackupManifestTests {
    static func manifest(sha256: String = String(repeating: "ab", count: 32), size: Int = 3) -> BackupManifest {
        BackupManifest(
            store: "postgres",
            artifact: "postgres-20261130T010203.456Z.pgdump.fbk",
            startedAt: Date(timeIntervalSince1970: 1_795_000_000),
            finishedAt: Date(timeIntervalSince1970: 1_795_000_002.5),
            size: size,
            sha256: sha256,
            schemaVersion: "0004",
            counts: ["users": 3, "courses": 0],
            samples: ["users": String(repeating: "cd", count: 32)],
            keyId: "0011223344556677",
            content: "pg_dump custom"
        )
    }

    @Test func roundTripsThroughJSON() throws {
        let original = Self.manifest()
        let parsed = try BackupManifest.parse(original.json())
        #expect(parsed == original)
        let text = String(decoding: try original.json(), as: UTF8.self)
        #expect(text.contains("\"started_at\" : \"2026-11-18T11:06:40.000Z\""))
        #expect(text.contains("\"format_version\" : 1"))
    }

    @Test(arguments: ["store", "sha256", "size", "started_at", "counts", "encrypted", "content"])
    func refusesAManifestMissingAField(_ field: String) throws {
        var object = try JSONSerialization.jsonObject(with: Data(Self.manifest().json())) as! [String: Any]
        object[field] = nil
        let bytes = [UInt8](try JSONSerialization.data(withJSONObject: object))
        let error = #expect(throws: BackupError.self) { try BackupManifest.parse(bytes) }
        #expect(error?.code == .manifest)
        #expect(error?.message == "the manifest has no \(field)")
    }

    @Test func refusesAnUnknownFormatVersion() throws {
        var object = try JSONSerialization.jsonObject(with: Data(Self.manifest().json())) as! [String: Any]
        object["format_version"] = 2
        let bytes = [UInt8](try JSONSerialization.data(withJSONObject: object))
        let error = #expect(throws: BackupError.self) { try BackupManifest.parse(bytes) }
        #expect(error?.code == .unknownFormat)
    }

    @Test func refusesMalformedValues() throws {
        for (field, value) in [("sha256", "xyz" as Any), ("store", "oracle"), ("started_at", "yesterday")] {
            var object = try JSONSerialization.jsonObject(with: Data(Self.manifest().json())) as! [String: Any]
            object[field] = value
            let bytes = [UInt8](try JSONSerialization.data(withJSONObject: object))
            let error = #expect(throws: BackupError.self) { try BackupManifest.parse(bytes) }
            #expect(error?.code == .manifest, "\(field)")
        }
        #expect(throws: BackupError.self) { try BackupManifest.parse(Array("[1]".utf8)) }
    }

    @Test func validatesTheArtifactsSizeAndChecksum() throws {
        let folder = try TestFolder()
        defer { folder.remove() }
        let path = folder.path + "/artifact"
        try Data("abc".utf8).write(to: URL(fileURLWithPath: path))
        // sha256("abc")
        let right = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        try Self.manifest(sha256: right).validate(artifactPath: path)

        let wrong = #expect(throws: BackupError.self) {
            try Self.manifest(sha256: String(repeating: "0", count: 64)).validate(artifactPath: path)
        }
        #expect(wrong?.code == .corrupted)
        #expect(wrong?.message.contains("sha256 mismatch") == true)

        let cut = #expect(throws: BackupError.self) {
            try Self.manifest(sha256: right, size: 10).validate(artifactPath: path)
        }
        #expect(cut?.code == .truncated)

        let missing = #expect(throws: BackupError.self) { try Self.manifest().validate(artifactPath: path + ".gone") }
        #expect(missing?.code == .notFound)
    }
}
