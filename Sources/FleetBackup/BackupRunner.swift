import Foundation
import Logging

/// Runs backups, verifies and restores: the one place that ties a store's ``BackupSource`` to the
/// artifact format, the layout, retention, the lock and the key. `backup.run` / `backup.verify`
/// and `fleet backup` all call it.
public struct BackupRunner: Sendable {
    public let layout: BackupLayout
    /// How many backups per store retention keeps (`FLEET_BACKUP_KEEP`).
    public let keep: Int
    /// Seals new artifacts and opens sealed ones; nil: artifacts are written plain.
    public let key: BackupKey?
    public let lock: BackupLock
    /// Put in scratch database names after `fleet_verify_` (letters and digits; tests set one).
    public let scratchTag: String
    let sources: [BackupStore: any BackupSource]
    let logger: Logger

    public init(
        layout: BackupLayout,
        keep: Int,
        key: BackupKey?,
        lock: BackupLock,
        sources: [any BackupSource],
        scratchTag: String = "",
        logger: Logger
    ) {
        precondition(
            scratchTag.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber) },
            "scratchTag: letters, digits"
        )
        self.scratchTag = scratchTag.lowercased()
        self.layout = layout
        self.keep = keep
        self.key = key
        self.lock = lock
        self.sources = Dictionary(sources.map { ($0.store, $0) }, uniquingKeysWith: { first, _ in first })
        self.logger = logger
    }

    public func source(_ store: BackupStore) throws(BackupError) -> any BackupSource {
        guard let source = sources[store] else {
            throw BackupError(.unsupported, "this runner has no backup source for \(store)")
        }
        return source
    }

    // MARK: - Backup

    /// What ``backup(_:)`` made.
    public struct Backup: Sendable {
        public let artifactPath: String
        public let manifestPath: String
        public let manifest: BackupManifest
        /// Artifacts retention removed afterwards.
        public let removed: [String]
    }

    /// Dumps `store` into a new artifact and manifest, then applies retention; holds the store's lock
    /// throughout (a second backup of the store fails at once with ``BackupError/Code/locked``).
    public func backup(_ store: BackupStore) async throws -> Backup {
        let source = try source(store)
        return try await lock.withLock(store) {
            try layout.prepare(store)
            let started = Date()
            let path = layout.artifactPath(store, at: started, extension: source.artifactExtension)
            let key = self.key
            let writer = try await runBlocking { UncheckedBox(try ArtifactWriter(path: path, key: key)) }
            let inventory: BackupInventory
            let written: ArtifactWriter.Result
            do {
                inventory = try await source.export(into: writer.value)
                written = try await runBlocking { try writer.value.finish() }
            } catch {
                _ = try? await runBlocking { writer.value.discard() }
                throw error
            }
            let manifest = BackupManifest(
                store: store.rawValue,
                artifact: (path as NSString).lastPathComponent,
                startedAt: started,
                finishedAt: Date(),
                size: written.size,
                sha256: written.sha256,
                schemaVersion: inventory.schemaVersion,
                counts: inventory.counts,
                samples: inventory.samples,
                keyId: key?.id,
                content: source.contentFormat
            )
            let manifestPath = BackupLayout.manifestPath(ofArtifact: path)
            let json = try manifest.json()
            let keep = self.keep
            let layout = self.layout
            let removed = try await runBlocking { () throws -> [String] in
                try AtomicFile.write(json, to: manifestPath)
                return layout.applyRetention(store, keep: keep)
            }
            logger.info(
                "backup written",
                metadata: [
                    "backup.store": "\(store)", "backup.artifact": "\(path)", "backup.size": "\(written.size)",
                    "backup.encrypted": "\(key != nil)", "backup.removed": "\(removed.count)",
                ]
            )
            return Backup(artifactPath: path, manifestPath: manifestPath, manifest: manifest, removed: removed)
        }
    }

    // MARK: - Verify and restore

    /// What ``verify(_:artifact:)`` or ``restore(_:artifact:into:force:)`` checked.
    public struct Check: Sendable {
        public let artifactPath: String
        public let manifest: BackupManifest
        /// The database or graph restored into.
        public let target: String
        /// Counts of the restored copy (equal to the manifest's when the check passed).
        public let counts: [String: Int]
        public let duration: Duration
    }

    /// Restores the newest artifact of `store` (or `artifact`) into a scratch database of its own,
    /// compares counts and sample checksums with the manifest, and drops the scratch database, also
    /// when something failed. A damaged, cut-off or wrongly keyed artifact fails with a
    /// ``BackupError`` saying so.
    public func verify(_ store: BackupStore, artifact: String? = nil) async throws -> Check {
        let source = try source(store)
        let start = ContinuousClock.now
        let path: String
        let manifest: BackupManifest
        do {
            (path, manifest) = try await checkedArtifact(store, artifact)
        } catch {
            logger.error("backup verify failed", metadata: ["backup.store": "\(store)", "error": "\(error)"])
            throw error
        }
        let scratch = try await source.createScratch(tag: scratchTag)
        do {
            let counts = try await restoreAndCompare(source, path, manifest, into: scratch, replace: false)
            try await source.drop(scratch)
            let check = Check(
                artifactPath: path,
                manifest: manifest,
                target: scratch,
                counts: counts,
                duration: ContinuousClock.now - start
            )
            logger.info(
                "backup verified",
                metadata: [
                    "backup.store": "\(store)", "backup.artifact": "\(path)", "backup.scratch": "\(scratch)",
                    "backup.tables": "\(counts.count)", "backup.rows": "\(counts.values.reduce(0, +))",
                ]
            )
            return check
        } catch {
            do { try await source.drop(scratch) } catch let dropError {
                logger.error(
                    "dropping the scratch database failed",
                    metadata: ["backup.scratch": "\(scratch)", "error": "\(dropError)"]
                )
            }
            logger.error(
                "backup verify failed",
                metadata: ["backup.store": "\(store)", "backup.artifact": "\(path)", "error": "\(error)"]
            )
            throw error
        }
    }

    /// Restores `artifact` into `target` (created when missing), which must be empty unless `force`
    /// (then what the dump brings back replaces what is there), and compares it with the manifest.
    /// The live database is never a target.
    public func restore(_ store: BackupStore, artifact: String, into target: String, force: Bool) async throws -> Check
    {
        let source = try source(store)
        let start = ContinuousClock.now
        let (path, manifest) = try await checkedArtifact(store, artifact)
        if !force, try await !source.isEmpty(target) {
            throw BackupError(
                .targetNotEmpty,
                "\(target) is not empty; restore into an empty database, or pass --force"
            )
        }
        let counts = try await restoreAndCompare(source, path, manifest, into: target, replace: force)
        return Check(
            artifactPath: path,
            manifest: manifest,
            target: target,
            counts: counts,
            duration: ContinuousClock.now - start
        )
    }

    /// The artifact's manifest, parsed and checked against the file (size, sha256).
    func checkedArtifact(_ store: BackupStore, _ artifact: String?) async throws -> (String, BackupManifest) {
        let path: String
        if let artifact {
            path = artifact
        } else {
            guard let newest = layout.newest(store) else {
                throw BackupError(.notFound, "no backup of \(store) in \(layout.folder(store))")
            }
            path = newest.artifactPath
        }
        let manifest = try await runBlocking { () throws -> BackupManifest in
            let manifestPath = BackupLayout.manifestPath(ofArtifact: path)
            guard let data = FileManager.default.contents(atPath: manifestPath) else {
                throw BackupError(.manifest, "no manifest beside the artifact (\(manifestPath))")
            }
            let manifest = try BackupManifest.parse([UInt8](data))
            guard manifest.store == store.rawValue else {
                throw BackupError(.manifest, "the artifact is a backup of \(manifest.store), not of \(store)")
            }
            try manifest.validate(artifactPath: path)
            return manifest
        }
        if manifest.encrypted, key == nil {
            throw BackupError(
                .key,
                "the artifact is encrypted (key id \(manifest.keyId ?? "?")) but FLEET_BACKUP_KEY_FILE is not set"
            )
        }
        return (path, manifest)
    }

    private func restoreAndCompare(
        _ source: any BackupSource,
        _ path: String,
        _ manifest: BackupManifest,
        into target: String,
        replace: Bool
    ) async throws -> [String: Int] {
        let key = self.key
        let reader = try await runBlocking { UncheckedBox(try ArtifactReader(path: path, key: key)) }
        try await source.restore(from: reader.value, into: target, replace: replace)
        let restored = try await source.inventory(of: target)
        let problems = Self.differences(expected: manifest, restored: restored)
        guard problems.isEmpty else {
            throw BackupError(
                .mismatch,
                "the restored copy differs from the manifest: " + problems.joined(separator: "; ")
            )
        }
        return restored.counts
    }

    /// Per table: a count or sample that differs, or a table on one side only. Empty tables may be
    /// missing on either side (MongoDB and FalkorDB keep no empty collection or label).
    static func differences(expected: BackupManifest, restored: BackupInventory) -> [String] {
        var problems: [String] = []
        for name in Set(expected.counts.keys).union(restored.counts.keys).sorted() {
            let want = expected.counts[name] ?? 0
            let got = restored.counts[name] ?? 0
            if want != got {
                problems.append("\(name): \(got) restored, manifest says \(want)")
            } else if want > 0, expected.samples[name] != restored.samples[name] {
                problems.append("\(name): sample checksum differs")
            }
        }
        return problems
    }
}
