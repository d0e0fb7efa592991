import Crypto
import Foundation

/// The JSON file next to each artifact (`<artifact>.manifest.json`): what was backed up, when, and
/// what a restore must give back. Written after the artifact, atomically, so an artifact without a
/// manifest is an unfinished backup and is ignored.
public struct BackupManifest: Codable, Sendable, Equatable {
    /// The manifest and artifact format this build writes and reads.
    public static let currentFormatVersion = 1

    public var formatVersion: Int
    /// `postgres`, `mongodb`, `neo4j` or `clickhouse`.
    public var store: String
    /// The artifact's file name (in the manifest's folder).
    public var artifact: String
    public var startedAt: Date
    public var finishedAt: Date
    /// The artifact file's size in bytes.
    public var size: Int
    /// Hex SHA-256 of the artifact file's bytes.
    public var sha256: String
    /// The store's newest `schema_versions` version at backup time; nil when the store keeps none.
    public var schemaVersion: String?
    /// Rows, documents, nodes or relationships per table, collection, label or type.
    public var counts: [String: Int]
    /// Hex SHA-256 of a sample per table/collection/label (the first rows in a stable order), compared
    /// after a restore.
    public var samples: [String: String]
    public var encrypted: Bool
    /// The ``BackupKey/id`` of the key that sealed the artifact; nil when plain.
    public var keyId: String?
    /// What produced the artifact's content (`pg_dump custom`, `fleet bson v1`, `fleet graph jsonl v1`).
    public var content: String

    enum CodingKeys: String, CodingKey {
        case formatVersion = "format_version"
        case store, artifact
        case startedAt = "started_at"
        case finishedAt = "finished_at"
        case size, sha256
        case schemaVersion = "schema_version"
        case counts, samples, encrypted
        case keyId = "key_id"
        case content
    }

    public init(
        store: String,
        artifact: String,
        startedAt: Date,
        finishedAt: Date,
        size: Int,
        sha256: String,
        schemaVersion: String?,
        counts: [String: Int],
        samples: [String: String],
        keyId: String?,
        content: String
    ) {
        self.formatVersion = Self.currentFormatVersion
        self.store = store
        self.artifact = artifact
        self.startedAt = startedAt
        self.finishedAt = finishedAt
        self.size = size
        self.sha256 = sha256
        self.schemaVersion = schemaVersion
        self.counts = counts
        self.samples = samples
        self.encrypted = keyId != nil
        self.keyId = keyId
        self.content = content
    }

    // MARK: - JSON

    public func json() throws(BackupError) -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .custom { date, encoder in
            var container = encoder.singleValueContainer()
            try container.encode(date.formatted(Self.timestampFormat))
        }
        do {
            return [UInt8](try encoder.encode(self)) + [UInt8(ascii: "\n")]
        } catch {
            throw BackupError(.manifest, "cannot encode the manifest: \(error)")
        }
    }

    /// Parses and checks a manifest's fields (not its artifact: see ``validate(artifactPath:)``).
    /// An unknown format version, a missing field or a malformed value is a ``BackupError`` naming it.
    public static func parse(_ bytes: [UInt8]) throws(BackupError) -> BackupManifest {
        // The format version first, so a newer manifest fails as "unknown format", not as a missing field.
        struct Version: Decodable {
            var formatVersion: Int?
            enum CodingKeys: String, CodingKey { case formatVersion = "format_version" }
        }
        let data = Data(bytes)
        guard let version = try? JSONDecoder().decode(Version.self, from: data) else {
            throw BackupError(.manifest, "the manifest is not a JSON object")
        }
        guard let formatVersion = version.formatVersion else {
            throw BackupError(.manifest, "the manifest has no format_version")
        }
        guard formatVersion == currentFormatVersion else {
            throw BackupError(
                .unknownFormat,
                "manifest format_version \(formatVersion) is not supported (this build reads \(currentFormatVersion))"
            )
        }
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .custom { decoder in
            let text = try decoder.singleValueContainer().decode(String.self)
            guard let date = try? timestampFormat.parse(text) else {
                throw DecodingError.dataCorrupted(
                    .init(codingPath: decoder.codingPath, debugDescription: "not an RFC 3339 UTC timestamp")
                )
            }
            return date
        }
        let manifest: BackupManifest
        do {
            manifest = try decoder.decode(BackupManifest.self, from: data)
        } catch DecodingError.keyNotFound(let key, _) {
            throw BackupError(.manifest, "the manifest has no \(key.stringValue)")
        } catch DecodingError.valueNotFound(_, let context), DecodingError.typeMismatch(_, let context),
            DecodingError.dataCorrupted(let context)
        {
            let field = context.codingPath.map(\.stringValue).joined(separator: ".")
            throw BackupError(
                .manifest,
                "the manifest's \(field.isEmpty ? "JSON" : field) is invalid: \(context.debugDescription)"
            )
        } catch {
            throw BackupError(.manifest, "the manifest is invalid: \(error)")
        }
        try manifest.checkFields()
        return manifest
    }

    func checkFields() throws(BackupError) {
        guard BackupStore(rawValue: store) != nil else { throw BackupError(.manifest, "unknown store \"\(store)\"") }
        guard sha256.count == 64, sha256.allSatisfy(\.isHexDigit) else {
            throw BackupError(.manifest, "sha256 is not 64 hex digits")
        }
        guard size >= 0, finishedAt >= startedAt else { throw BackupError(.manifest, "size or times are invalid") }
        guard encrypted == (keyId != nil) else { throw BackupError(.manifest, "encrypted and key_id disagree") }
        guard !artifact.contains("/") else { throw BackupError(.manifest, "artifact must be a file name") }
    }

    /// Checks the artifact file against the manifest: size and SHA-256. Blocking (reads the file).
    public func validate(artifactPath: String) throws(BackupError) {
        let (total, digest) = try Self.sha256(ofFile: artifactPath)
        if total < size {
            throw BackupError(.truncated, "the artifact has \(total) bytes, its manifest says \(size): it was cut off")
        }
        guard digest == sha256 else {
            throw BackupError(.corrupted, "sha256 mismatch: the artifact's is \(digest), its manifest says \(sha256)")
        }
        guard total == size else {
            throw BackupError(.corrupted, "the artifact has \(total) bytes, its manifest says \(size)")
        }
    }

    /// A file's size and hex SHA-256, read a MiB at a time. Blocking.
    public static func sha256(ofFile path: String) throws(BackupError) -> (size: Int, sha256: String) {
        guard let handle = FileHandle(forReadingAtPath: path) else {
            throw BackupError(.notFound, "the artifact \(path) does not exist")
        }
        defer { try? handle.close() }
        var hasher = SHA256()
        var total = 0
        while true {
            let data: Data
            do { data = try handle.read(upToCount: 1 << 20) ?? Data() } catch {
                throw BackupError(.io, "reading \(path) failed: \(error)")
            }
            if data.isEmpty { break }
            total += data.count
            hasher.update(data: data)
        }
        return (total, hasher.finalize().map { String(format: "%02x", $0) }.joined())
    }

    /// RFC 3339 in UTC with milliseconds, as `2026-11-30T01:02:03.456Z`.
    public static let timestampFormat = Date.ISO8601FormatStyle(includingFractionalSeconds: true)
}
