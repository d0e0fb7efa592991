import Bolt
import ClickHouse
import FleetApp
import FleetBackup
import Foundation
import MongoDB
import Postgres
import Redis
import Testing

/// Each store backed up, verified and restored against the real servers (PostgreSQL, nx-27017,
/// FalkorDB over Bolt, ClickHouse), from a private seeded source into a private empty target; the target's
/// contents are compared with the source's, not only counted. Then damaged artifacts, retention and
/// the lock (BackupDamageTests.swift). Each fixture tags its scratch names, so the check that no
/// scratch database outlives a verify sees only its own.
@Suite("Backups: back up, verify, restore, damage, retention, lock", .serialized)
struct BackupRestoreTests {
    @Test func postgresRoundTrip() async throws {
        try await BackupFixture.with { fixture in
            try await fixture.seedPostgres()
            let runner = fixture.runner()
            let backup = try await runner.backup(.postgres)
            #expect(backup.manifest.counts["users"] == 60)
            #expect(backup.manifest.counts["courses"] == 2)
            #expect(backup.manifest.schemaVersion != nil)
            #expect(backup.manifest.content == "pg_dump custom")
            #expect(backup.artifactPath.hasPrefix("\(fixture.folder)/postgres/postgres-"))
            #expect(FileManager.default.fileExists(atPath: backup.manifestPath))

            let before = try await Self.scratchDatabases(fixture)
            let check = try await runner.verify(.postgres)
            #expect(check.counts == backup.manifest.counts)
            #expect(check.target.hasPrefix("fleet_verify_\(fixture.scratchTag)"))
            #expect(try await Self.scratchDatabases(fixture) == before, "verify drops its scratch database")

            let target = fixture.target("pg")
            let admin = PostgresClient(configuration: fixture.configuration.postgres, maxConnections: 1)
            do {
                _ = try await runner.restore(.postgres, artifact: backup.artifactPath, into: target, force: false)
                let source = try await BackupFixture.postgresContents(
                    fixture.configuration.postgres,
                    database: fixture.name
                )
                let restored = try await BackupFixture.postgresContents(
                    fixture.configuration.postgres,
                    database: target
                )
                #expect(restored == source)
                #expect(restored["users"]?.count == 60)

                // A non-empty target needs --force; with it, the restore replaces what the dump holds.
                let refused = await #expect(throws: BackupError.self) {
                    try await runner.restore(.postgres, artifact: backup.artifactPath, into: target, force: false)
                }
                #expect(refused?.code == .targetNotEmpty)
                _ = try await runner.restore(.postgres, artifact: backup.artifactPath, into: target, force: true)
                #expect(
                    try await BackupFixture.postgresContents(fixture.configuration.postgres, database: target) == source
                )

                // The live database is never a target.
                await #expect(throws: BackupError.self) {
                    try await runner.restore(.postgres, artifact: backup.artifactPath, into: fixture.name, force: true)
                }
            } catch {
                Issue.record(error)
            }
            _ = try? await admin.query("DROP DATABASE IF EXISTS \(target) WITH (FORCE)")
            await admin.shutdown()
        }
    }

    @Test func mongodbRoundTrip() async throws {
        try await BackupFixture.with { fixture in
            try await fixture.seedMongo()
            let runner = fixture.runner()
            let backup = try await runner.backup(.mongodb)
            #expect(backup.manifest.counts == ["things": 1_203, "labels": 2])
            let scratch = try await Self.scratchDatabases(fixture)
            _ = try await runner.verify(.mongodb)
            #expect(try await Self.scratchDatabases(fixture) == scratch, "verify drops its scratch database")

            let target = fixture.target("mongo")
            var targetConfiguration = fixture.configuration.mongodb
            targetConfiguration.database = target
            let targetClient = MongoClient(configuration: targetConfiguration, maxConnections: 1)
            do {
                _ = try await runner.restore(.mongodb, artifact: backup.artifactPath, into: target, force: false)
                let source = try await BackupFixture.mongoContents(
                    fixture.configuration.mongodb,
                    database: fixture.name
                )
                let restored = try await BackupFixture.mongoContents(fixture.configuration.mongodb, database: target)
                #expect(restored["things"]?.count == 1_203)
                #expect(restored == source)
                // The unique index came back: a duplicate `n` is refused.
                await #expect(throws: MongoError.self) {
                    try await targetClient.withConnection { try $0.collection("things").insertOne(["n": .int32(5)]) }
                }
                let refused = await #expect(throws: BackupError.self) {
                    try await runner.restore(.mongodb, artifact: backup.artifactPath, into: target, force: false)
                }
                #expect(refused?.code == .targetNotEmpty)
                _ = try await runner.restore(.mongodb, artifact: backup.artifactPath, into: target, force: true)
                #expect(
                    try await BackupFixture.mongoContents(fixture.configuration.mongodb, database: target) == source
                )
            } catch {
                Issue.record(error)
            }
            _ = try? await targetClient.withConnection { try $0.dropDatabase() }
            await targetClient.shutdown()
        }
    }

    @Test func neo4jRoundTrip() async throws {
        try await BackupFixture.with { fixture in
            try await fixture.seedGraph()
            let runner = fixture.runner()
            let backup = try await runner.backup(.neo4j)
            #expect(backup.manifest.counts["Person"] == 40)
            #expect(backup.manifest.counts["Mentor"] == 4)
            #expect(backup.manifest.counts["Company"] == 1)
            #expect(backup.manifest.counts["-[WORKS_AT]->"] == 14)
            #expect(backup.manifest.counts["-[KNOWS]->"] == 39)
            let scratch = try await Self.scratchDatabases(fixture)
            _ = try await runner.verify(.neo4j)
            #expect(try await Self.scratchDatabases(fixture) == scratch, "verify drops its scratch graph")

            let target = fixture.target("graph")
            let source = try await GraphSourceAccess.source(fixture)
            do {
                _ = try await runner.restore(.neo4j, artifact: backup.artifactPath, into: target, force: false)
                let before = try await BackupFixture.graphContents(fixture.configuration.bolt, graph: fixture.name)
                let restored = try await BackupFixture.graphContents(fixture.configuration.bolt, graph: target)
                #expect(restored.count == 41 + 14 + 39)
                #expect(restored == before)
                // The unique constraint came back.
                var targetConfiguration = fixture.configuration.bolt
                targetConfiguration.database = target
                targetConfiguration.falkorDBGraphSelection = fixture.configuration.graphRedis != nil
                let graph = Bolt.BoltClient(configuration: targetConfiguration, maxConnections: 1)
                await #expect(throws: (any Error).self) { try await graph.run("CREATE (:Person {n: 3})") }
                await graph.shutdown()
                let refused = await #expect(throws: BackupError.self) {
                    try await runner.restore(.neo4j, artifact: backup.artifactPath, into: target, force: false)
                }
                #expect(refused?.code == .targetNotEmpty)
            } catch {
                Issue.record(error)
            }
            try? await source.drop(target)
        }
    }

    @Test func clickhouseRoundTrip() async throws {
        try await BackupFixture.with { fixture in
            try await fixture.seedClickHouse()
            let runner = fixture.runner()
            let backup = try await runner.backup(.clickhouse)
            #expect(backup.manifest.counts == ["user_activity": 251, "performance_metrics": 41, "schema_versions": 2])
            #expect(backup.manifest.schemaVersion == "0002")
            #expect(backup.manifest.content == "fleet clickhouse tsv v1")
            #expect(backup.artifactPath.hasPrefix("\(fixture.folder)/clickhouse/clickhouse-"))
            let scratch = try await Self.scratchDatabases(fixture)
            let check = try await runner.verify(.clickhouse)
            #expect(check.counts == backup.manifest.counts)
            #expect(check.target.hasPrefix("fleet_verify_\(fixture.scratchTag)"))
            #expect(try await Self.scratchDatabases(fixture) == scratch, "verify drops its scratch database")

            let target = fixture.target("ch")
            let clickhouse = fixture.stores.clickhouse
            do {
                _ = try await runner.restore(.clickhouse, artifact: backup.artifactPath, into: target, force: false)
                let source = try await BackupFixture.clickhouseContents(clickhouse, database: fixture.name)
                let restored = try await BackupFixture.clickhouseContents(clickhouse, database: target)
                #expect(restored["user_activity"]?.count == 251)
                #expect(restored["performance_metrics"]?.count == 41)
                #expect(restored == source)
                // The raw bytes came back as bytes (0xFF is no UTF-8), and nan as nan.
                #expect(
                    restored["user_activity"]?.contains { $0.contains(0xFF) && $0.contains(Array("nan".utf8)) } == true
                )
                // The DDL came back: the same engine and sorting key.
                struct Engine: Decodable, Equatable {
                    let name: String
                    let engine: String
                }
                let engines = { (database: String) in
                    try await clickhouse.query(
                        "SELECT name, engine FROM system.tables WHERE database = \(ClickHouseLiteral.string(database)) ORDER BY name",
                        as: Engine.self
                    )
                }
                #expect(try await engines(target) == engines(fixture.name))

                let refused = await #expect(throws: BackupError.self) {
                    try await runner.restore(.clickhouse, artifact: backup.artifactPath, into: target, force: false)
                }
                #expect(refused?.code == .targetNotEmpty)
                _ = try await runner.restore(.clickhouse, artifact: backup.artifactPath, into: target, force: true)
                #expect(try await BackupFixture.clickhouseContents(clickhouse, database: target) == source)

                // The live database is never a target.
                await #expect(throws: BackupError.self) {
                    try await runner.restore(
                        .clickhouse,
                        artifact: backup.artifactPath,
                        into: fixture.name,
                        force: true
                    )
                }
            } catch {
                Issue.record(error)
            }
            try? await clickhouse.execute("DROP DATABASE IF EXISTS \(target)")
        }
    }

    /// This test's scratch databases and graphs of every store: none may outlive a verify.
    static func scratchDatabases(_ fixture: BackupFixture) async throws -> [String] {
        var names = try await fixture.stores.postgres.query(
            "SELECT datname FROM pg_database WHERE datname LIKE $1 ORDER BY 1",
            ["fleet_verify_\(fixture.scratchTag)%"]
        ).compactMap { $0["datname"] }
        var admin = fixture.configuration.mongodb
        admin.database = "admin"
        let mongo = MongoClient(configuration: admin, maxConnections: 1)
        // nx-27017 answers "disk I/O error" when it opens a database file while another test's
        // dropDatabase removes one; the listing is asked again (the local stand-in's bug, not ours).
        var databases = BSONDocument()
        for attempt in 1...5 {
            do {
                databases = try await mongo.withConnection { try $0.runCommand(["listDatabases": 1]) }
                break
            } catch let error as MongoError where attempt < 5 && "\(error)".contains("disk I/O error") {
                try await Task.sleep(for: .milliseconds(200))
            }
        }
        await mongo.shutdown()
        names += (databases["databases"]?.arrayValue ?? []).compactMap { $0.documentValue?["name"]?.stringValue }
            .filter { $0.hasPrefix("fleet_verify_\(fixture.scratchTag)") }
        if let graphRedis = fixture.configuration.graphRedis {
            let redis = Redis.RedisClient(configuration: graphRedis, maxConnections: 1)
            let graphs = try await redis.command(["GRAPH.LIST"])
            await redis.shutdown()
            names += (graphs.array ?? []).compactMap(\.string).filter {
                $0.hasPrefix("fleet-verify-\(fixture.scratchTag)")
            }
        }
        struct Database: Decodable { let name: String }
        names += try await fixture.stores.clickhouse.query(
            "SELECT name FROM system.databases WHERE startsWith(name, "
                + "\(ClickHouseLiteral.string("fleet_verify_\(fixture.scratchTag)")))",
            as: Database.self
        ).map(\.name)
        return names.sorted()
    }
}

enum GraphSourceAccess {
    static func source(_ fixture: BackupFixture) async throws -> any BackupSource {
        try fixture.runner().source(.neo4j)
    }
}
