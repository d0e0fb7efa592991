import ArgumentParser
import FleetApp
import FleetBackup
import Foundation

struct BackupCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "backup",
        abstract: "Back up, verify and restore the fleet's stores (PostgreSQL, MongoDB, Neo4j, ClickHouse).",
        discussion: """
            Artifacts go to FLEET_BACKUP_DIR (default <config-dir>/backups) as \
            <store>/<store>-<UTC timestamp>.<ext>, each with <artifact>.manifest.json beside it. \
            FLEET_BACKUP_KEEP (default 7) is how many backups per store are kept. FLEET_BACKUP_KEY_FILE \
            names a file holding a 32-byte AES-256-GCM key (32 raw bytes, 64 hex digits, or base64): new \
            artifacts are sealed with it, and sealed ones need it to be read; unset, artifacts are plain. \
            One backup per store runs at a time (a Redis lock): a second one fails at once. Restoring over the live database is not offered: restore into a new \
            database and switch to it (README, "Backups and restores").
            """,
        subcommands: [List.self, RunBackup.self, Verify.self, Restore.self]
    )

    static func store(_ name: String) throws -> BackupStore {
        guard let store = BackupStore(rawValue: name) else {
            throw ValidationError(
                "--store must be one of \(BackupStore.allCases.map(\.rawValue).joined(separator: ", "))"
            )
        }
        return store
    }

    /// Runs `body` with the process's stores and backup runner, closing the stores afterwards.
    static func withRunner<T>(_ common: CommonOptions, _ body: (BackupRunner) async throws -> T) async throws -> T {
        let logger = bootstrapLogging()
        let configuration = try common.configuration()
        let stores = FleetStores(configuration: configuration)
        do {
            let result = try await body(
                FleetBackups.runner(configuration: configuration, stores: stores, logger: logger)
            )
            await stores.shutdown()
            return result
        } catch let error as BackupError {
            await stores.shutdown()
            throw CommandError(description: error.description)
        } catch {
            await stores.shutdown()
            throw error
        }
    }

    static func summary(_ counts: [String: Int]) -> String {
        counts.isEmpty ? "(empty)" : counts.keys.sorted().map { "\($0)=\(counts[$0]!)" }.joined(separator: " ")
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the backups of each store, oldest first.")

        @OptionGroup var common: CommonOptions
        @Option(help: "Only this store (postgres, mongodb, neo4j, clickhouse).") var store: String?

        func run() async throws {
            let configuration = try common.configuration()
            let layout = BackupLayout(root: configuration.backupDirectory)
            let stores = try store.map { [try BackupCommand.store($0)] } ?? BackupStore.allCases
            for store in stores {
                for entry in layout.entries(store) {
                    switch entry.manifest {
                    case .success(let manifest):
                        let encryption = manifest.keyId.map { "encrypted key=\($0)" } ?? "plain"
                        print(
                            "\(entry.artifactPath)  \(manifest.size) bytes  finished \(manifest.finishedAt.formatted(BackupManifest.timestampFormat))  "
                                + "schema \(manifest.schemaVersion ?? "-")  \(encryption)  "
                                + "\(manifest.counts.values.reduce(0, +)) rows in \(manifest.counts.count) tables"
                        )
                    case .failure(let error):
                        print("\(entry.artifactPath)  unreadable manifest: \(error)")
                    }
                }
            }
        }
    }

    struct RunBackup: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "run",
            abstract: "Back up one store now (what the backup.run job does), then apply retention."
        )

        @OptionGroup var common: CommonOptions
        @Option(help: "postgres, mongodb, neo4j or clickhouse.") var store: String

        func run() async throws {
            let store = try BackupCommand.store(store)
            let backup = try await BackupCommand.withRunner(common) { try await $0.backup(store) }
            let m = backup.manifest
            print("backed up \(store) to \(backup.artifactPath)")
            print(
                "  \(m.size) bytes, sha256 \(m.sha256), \(m.keyId.map { "encrypted with key \($0)" } ?? "not encrypted")"
            )
            print("  schema version \(m.schemaVersion ?? "-"); counts: \(BackupCommand.summary(m.counts))")
            for path in backup.removed { print("  retention removed \(path)") }
        }
    }

    struct Verify: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract:
                "Restore the newest (or the given) artifact into a scratch database, compare it with its manifest, drop it."
        )

        @OptionGroup var common: CommonOptions
        @Option(help: "postgres, mongodb, neo4j or clickhouse.") var store: String
        @Option(help: "An artifact path; default: the store's newest.") var artifact: String?

        func run() async throws {
            let store = try BackupCommand.store(store)
            let check = try await BackupCommand.withRunner(common) { try await $0.verify(store, artifact: artifact) }
            print("verified \(check.artifactPath)")
            print(
                "  restored into scratch \(check.target) (dropped) in \(check.duration.formatted(.units(allowed: [.seconds], fractionalPart: .show(length: 1))))"
            )
            print("  counts match the manifest: \(BackupCommand.summary(check.counts))")
        }
    }

    struct Restore: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Restore an artifact into a named database (created if missing; must be empty unless --force).",
            discussion: """
                The target is a database (PostgreSQL, MongoDB) or graph (FalkorDB; a Neo4j Enterprise database \
                created beforehand) on the configured server, never the live one. --force restores into a \
                non-empty target, replacing what the dump brings back.
                """
        )

        @OptionGroup var common: CommonOptions
        @Option(help: "postgres, mongodb, neo4j or clickhouse.") var store: String
        @Option(help: "The artifact to restore.") var artifact: String
        @Option(help: "The database or graph to restore into.") var into: String
        @Flag(help: "Restore into a target that is not empty.") var force = false

        func run() async throws {
            let store = try BackupCommand.store(store)
            let check = try await BackupCommand.withRunner(common) {
                try await $0.restore(store, artifact: artifact, into: into, force: force)
            }
            print("restored \(check.artifactPath) into \(check.target)")
            print("  counts match the manifest: \(BackupCommand.summary(check.counts))")
        }
    }
}
