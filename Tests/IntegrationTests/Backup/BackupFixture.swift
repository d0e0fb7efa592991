import Bolt
import FleetApp
import FleetBackup
import FleetJobs
import Foundation
import MongoDB
import Postgres
import Redis

/// Private sources for one backup test: a migrated PostgreSQL database, a MongoDB database and a
/// FalkorDB graph of its own, seeded with awkward data, a temporary backup folder and its own lock
/// prefix; all removed afterwards.
struct BackupFixture {
    let configuration: FleetConfiguration
    let stores: FleetStores
    let folder: String
    let lockPrefix: String
    let name: String

    static func with(_ body: (BackupFixture) async throws -> Void) async throws {
        var configuration = try FleetConfiguration.fromEnvironment(configDirectory: ".")
        let name = "bk_src_\(UInt32.random(in: 0...UInt32.max))"
        let admin = PostgresClient(configuration: configuration.postgres, maxConnections: 1)
        try await admin.query("CREATE DATABASE \(name)")
        configuration.postgres.database = name
        configuration.mongodb.database = name
        configuration.bolt.database = name
        configuration.bolt.falkorDBGraphSelection = configuration.graphRedis != nil
        configuration.postgresPoolSize = 2
        configuration.redisPoolSize = 2
        configuration.mongodbPoolSize = 2
        configuration.boltPoolSize = 2
        let folder = NSTemporaryDirectory() + "fleet-backup-it-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        configuration.backupDirectory = folder
        let stores = FleetStores(configuration: configuration)
        let fixture = BackupFixture(
            configuration: configuration,
            stores: stores,
            folder: folder,
            lockPrefix: "test:\(name):backup:",
            name: name
        )
        var failure: (any Error)?
        do {
            _ = try await PostgresMigrations.migrate(stores.postgres)
            try await body(fixture)
        } catch {
            failure = error
        }
        _ = try? await stores.mongodb.withConnection { try $0.dropDatabase() }
        if let graphRedis = configuration.graphRedis {
            let redis = RedisClient(configuration: graphRedis, maxConnections: 1)
            _ = try? await redis.command(["GRAPH.DELETE", name])
            await redis.shutdown()
        }
        // The lock's fence counters (RedisLock keeps them).
        for store in BackupStore.allCases {
            _ = try? await stores.redis.command(["DEL", fixture.lockPrefix + store.rawValue + ":fence"])
        }
        await stores.shutdown()
        _ = try? await admin.query("DROP DATABASE IF EXISTS \(name) WITH (FORCE)")
        await admin.shutdown()
        try? FileManager.default.removeItem(atPath: folder)
        if let failure { throw failure }
    }

    /// A runner over the private sources; `keyFile` seals artifacts.
    func runner(keep: Int = 7, key: BackupKey? = nil) -> BackupRunner {
        BackupRunner(
            layout: BackupLayout(root: folder),
            keep: keep,
            key: key,
            lock: BackupLock(redis: stores.redis, prefix: lockPrefix),
            sources: FleetBackups.sources(configuration: configuration, stores: stores),
            scratchTag: scratchTag,
            logger: .init(label: "test.backup")
        )
    }

    /// In this test's scratch database names, so the test finds its own among other tests'.
    var scratchTag: String { "t" + name.filter(\.isNumber) }

    /// A restore target name of this test's own.
    func target(_ suffix: String) -> String { "bk_rs_\(suffix)_\(UInt32.random(in: 0...UInt32.max))" }

    // MARK: - Seeding

    static let awkward = ["O'Brien", "say \"hi\"", "back\\slash", "line\nbreak", "Zoë 😀", "tab\there", ""]

    func seedPostgres(users: Int = 60) async throws {
        for i in 0..<users {
            try await stores.postgres.query(
                """
                INSERT INTO users (user_id, email, password_hash, first_name, last_name, last_login, is_active,
                  profile_completion_percentage)
                VALUES ($1, $2, 'x', $3, $4, $5, $6, $7)
                """,
                [
                    UUID(), "user\(i)@example.com", Self.awkward[i % Self.awkward.count],
                    i % 5 == 0 ? nil : "Last \(i)",
                    i % 3 == 0 ? nil : Date(timeIntervalSince1970: 1_700_000_000 + Double(i)),
                    i % 2 == 0, i,
                ]
            )
        }
        try await stores.postgres.query(
            "INSERT INTO courses (course_id, title) VALUES ($1, $2), ($3, $4)",
            [UUID(), "Swift 6", UUID(), "Backups 101"]
        )
    }

    func seedMongo(documents: Int = 1_203) async throws {
        try await stores.mongodb.withConnection { connection in
            var batch: [BSONDocument] = []
            for i in 0..<documents {
                batch.append([
                    "_id": .objectId(ObjectId()),
                    "n": .int32(Int32(i)),
                    "big": .int64(Int64(i) << 40),
                    "score": .double(Double(i) / 7),
                    "name": .string(Self.awkward[i % Self.awkward.count]),
                    "tags": .array([.string("a"), .int32(Int32(i % 3))]),
                    "nested": .document(["flag": .bool(i % 2 == 0), "none": .null]),
                ])
                if batch.count == 500 {
                    try connection.collection("things").insertMany(batch)
                    batch = []
                }
            }
            if !batch.isEmpty { try connection.collection("things").insertMany(batch) }
            try connection.collection("things").createIndexes([MongoIndex(keys: ["n": 1], unique: true)])
            try connection.collection("labels").insertMany([["_id": "a", "v": 1], ["_id": "b", "v": 2]])
        }
    }

    func seedGraph() async throws {
        let graph = stores.graph
        for i in 0..<40 {
            let name = BackupTestCypher.literal("person \(i) \(Self.awkward[i % Self.awkward.count])")
            let labels = i % 10 == 0 ? "Person:Mentor" : "Person"
            try await graph.run(
                "CREATE (:\(labels) {name: \(name), n: \(i), score: \(Double(i) / 4), active: \(i % 2 == 0), tags: ['x', 'y']})"
            )
        }
        try await graph.run("CREATE (:Company {name: 'Acme', founded: 1999})")
        try await graph.run(
            "MATCH (p:Person), (c:Company) WHERE p.n % 3 = 0 CREATE (p)-[:WORKS_AT {since: p.n, role: 'dev \\'ops\\''}]->(c)"
        )
        try await graph.run("MATCH (a:Person), (b:Person) WHERE b.n = a.n + 1 CREATE (a)-[:KNOWS]->(b)")
        try await graph.run("CREATE INDEX FOR (n:Company) ON (n.name)")
        try await GraphMigrations.createUnique(
            .init(label: "Person", property: "n"),
            graph: graph,
            graphRedis: configuration.graphRedis
        )
    }

    // MARK: - Contents, for comparing a restore with its source

    /// Every row of every public table as text, sorted, per table.
    static func postgresContents(
        _ configuration: PostgresConfiguration,
        database: String
    ) async throws -> [String: [String]] {
        var configuration = configuration
        configuration.database = database
        let client = PostgresClient(configuration: configuration, maxConnections: 1)
        defer { Task { await client.shutdown() } }
        var contents: [String: [String]] = [:]
        let tables = try await client.query("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
        for table in tables.compactMap({ $0["tablename"] }) {
            let rows = try await client.query("SELECT t::text AS r FROM \"\(table)\" t ORDER BY 1")
            contents[table] = rows.map { $0["r"] ?? "NULL" }
        }
        return contents
    }

    static func mongoContents(
        _ configuration: MongoConfiguration,
        database: String
    ) async throws -> [String: [BSONDocument]] {
        var configuration = configuration
        configuration.database = database
        let client = MongoClient(configuration: configuration, maxConnections: 1)
        let contents = try await client.withConnection { connection -> [String: [BSONDocument]] in
            var contents: [String: [BSONDocument]] = [:]
            for name in ["things", "labels"] {
                contents[name] = try connection.collection(name).find([:], options: MongoFindOptions(sort: ["_id": 1]))
            }
            return contents
        }
        await client.shutdown()
        return contents
    }

    /// Nodes as (labels, properties) and relationships as (start name, type, properties, end name), sorted.
    static func graphContents(_ configuration: BoltConfiguration, graph: String) async throws -> [String] {
        var configuration = configuration
        configuration.database = graph
        let client = BoltClient(configuration: configuration, maxConnections: 1)
        defer { Task { await client.shutdown() } }
        var lines: [String] = []
        for row in try await client.run("MATCH (n) RETURN n").rows {
            guard let node = row.first?.node else { continue }
            lines.append("node \(node.labels.sorted()) \(node.properties.sorted { $0.key < $1.key })")
        }
        for row in try await client.run("MATCH (a)-[r]->(b) RETURN a.name, r, b.name").rows {
            guard let r = row[1].relationship else { continue }
            lines.append("rel \(row[0]) \(r.type) \(r.properties.sorted { $0.key < $1.key }) \(row[2])")
        }
        return lines.sorted()
    }
}

enum BackupTestCypher {
    static func literal(_ text: String) -> String {
        "'"
            + text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "'", with: "\\'")
            .replacingOccurrences(of: "\"", with: "\\\"").replacingOccurrences(of: "\n", with: "\\n")
            .replacingOccurrences(of: "\t", with: "\\t") + "'"
    }
}
