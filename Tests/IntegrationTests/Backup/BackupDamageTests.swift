import FleetBackup
import Foundation
import Testing

/// What verify says about a damaged artifact, for each store: a flipped byte, a cut-off end, and a
/// wrong key each fail with a clear error (never a crash), and leave no scratch database behind.
/// In ``BackupRestoreTests``'s suite, serialized so dumps and restores do not pile up on 2 cores.
extension BackupRestoreTests {
    static let key = try! BackupKey(bytes: (0..<32).map { UInt8($0) })
    static let otherKey = try! BackupKey(bytes: (0..<32).map { UInt8(100 + $0) })

    func seed(_ store: BackupStore, _ fixture: BackupFixture) async throws {
        switch store {
        case .postgres: try await fixture.seedPostgres(users: 10)
        case .mongodb: try await fixture.seedMongo(documents: 50)
        case .neo4j: try await fixture.seedGraph()
        case .clickhouse: try await fixture.seedClickHouse(activities: 30, metrics: 5)
        }
    }

    @Test(arguments: [BackupStore.postgres, .mongodb, .neo4j, .clickhouse])
    func damagedArtifactsFailVerifyClearly(store: BackupStore) async throws {
        try await BackupFixture.with { fixture in
            try await seed(store, fixture)
            let runner = fixture.runner(key: Self.key)
            let scratchBefore = try await Self.scratchDatabases(fixture)
            let backup = try await runner.backup(store)
            #expect(backup.manifest.encrypted)
            #expect(backup.manifest.keyId == Self.key.id)
            _ = try await runner.verify(store)
            let original = try Data(contentsOf: URL(fileURLWithPath: backup.artifactPath))

            // The wrong key: the manifest and checksum match, the key does not.
            let wrongKey = await #expect(throws: BackupError.self) {
                try await fixture.runner(key: Self.otherKey).verify(store)
            }
            #expect(wrongKey?.code == .wrongKey)
            #expect(wrongKey?.message.hasPrefix("wrong key or corrupted") == true)
            let noKey = await #expect(throws: BackupError.self) { try await fixture.runner().verify(store) }
            #expect(noKey?.code == .key)

            // A flipped byte in the middle.
            var flipped = original
            flipped[flipped.count / 2] ^= 0x40
            try flipped.write(to: URL(fileURLWithPath: backup.artifactPath))
            let corrupted = await #expect(throws: BackupError.self) { try await runner.verify(store) }
            #expect(corrupted?.code == .corrupted)
            #expect(corrupted?.message.contains("sha256 mismatch") == true)

            // The end cut off.
            try original.prefix(original.count - 7).write(to: URL(fileURLWithPath: backup.artifactPath))
            let truncated = await #expect(throws: BackupError.self) { try await runner.verify(store) }
            #expect(truncated?.code == .truncated)

            // A flipped byte in an artifact whose manifest was rewritten to match: the AES-GCM tag
            // still catches it.
            try flipped.write(to: URL(fileURLWithPath: backup.artifactPath))
            var manifest = backup.manifest
            manifest.sha256 = try Self.sha256(flipped)
            try manifest.json().write(to: backup.manifestPath)
            let forged = await #expect(throws: BackupError.self) { try await runner.verify(store) }
            #expect(forged?.code == .wrongKey)
            #expect(forged?.message.hasPrefix("wrong key or corrupted") == true)

            // Every failed verify dropped its scratch database.
            #expect(try await Self.scratchDatabases(fixture) == scratchBefore)
        }
    }

    @Test func retentionKeepsTheNewestN() async throws {
        try await BackupFixture.with { fixture in
            try await fixture.seedPostgres(users: 3)
            let runner = fixture.runner(keep: 2)
            var paths: [String] = []
            for _ in 0..<4 { paths.append(try await runner.backup(.postgres).artifactPath) }
            let kept = runner.layout.entries(.postgres).map(\.artifactPath)
            #expect(kept == Array(paths.suffix(2)))
            for old in paths.prefix(2) {
                #expect(!FileManager.default.fileExists(atPath: old))
                #expect(!FileManager.default.fileExists(atPath: BackupLayout.manifestPath(ofArtifact: old)))
            }
            // Only artifacts and manifests: no temporary file left behind.
            let names = try FileManager.default.contentsOfDirectory(atPath: "\(fixture.folder)/postgres")
            #expect(names.count == 4)
            #expect(names.allSatisfy { !$0.hasPrefix(".") })
            // Readable by their owner only: artifacts and manifests hold the stores' data.
            for name in names {
                let attributes = try FileManager.default.attributesOfItem(atPath: "\(fixture.folder)/postgres/\(name)")
                #expect((attributes[.posixPermissions] as? Int) == 0o600, "\(name)")
            }
        }
    }

    @Test func twoBackupsOfOneStoreNeverOverlap() async throws {
        try await BackupFixture.with { fixture in
            try await fixture.seedMongo(documents: 20)
            let runner = fixture.runner()
            // While one holds the store's lock, a second backup of that store fails at once...
            let second = try await runner.lock.withLock(.mongodb) {
                do {
                    _ = try await runner.backup(.mongodb)
                    return "ran"
                } catch let error as BackupError {
                    return "\(error.code)"
                }
            }
            #expect(second == "locked")
            // ...a backup of another store does not wait for it...
            let other = try await runner.lock.withLock(.mongodb) { try await runner.backup(.postgres).manifest.store }
            #expect(other == "postgres")
            // ...and once released, the store's backup runs.
            _ = try await runner.backup(.mongodb)

            // Two started together: exactly one runs, the other is refused.
            async let a = Self.outcome { try await runner.backup(.mongodb) }
            async let b = Self.outcome { try await runner.backup(.mongodb) }
            let outcomes = await [a, b].sorted()
            #expect(outcomes == ["locked", "ok"] || outcomes == ["ok", "ok"])
        }
    }

    static func outcome(_ body: @Sendable () async throws -> BackupRunner.Backup) async -> String {
        do {
            _ = try await body()
            return "ok"
        } catch let error as BackupError {
            return "\(error.code)"
        } catch {
            return "\(error)"
        }
    }

    static func sha256(_ data: Data) throws -> String {
        let path = NSTemporaryDirectory() + "sha-\(UUID().uuidString)"
        try data.write(to: URL(fileURLWithPath: path))
        defer { try? FileManager.default.removeItem(atPath: path) }
        return try BackupManifest.sha256(ofFile: path).sha256
    }
}

extension [UInt8] {
    fileprivate func write(to path: String) throws {
        try Data(self).write(to: URL(fileURLWithPath: path))
    }
}
