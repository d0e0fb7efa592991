import Bolt
import ClickHouse
import FleetApp
import FleetBackup
import FleetJobs
import Foundation
import MongoDB
import Postgres
import Redis
import Synchronization

/// Private sources for one backup test: a migrated PostgreSQL database, a MongoDB database, a
/// FalkorDB graph and a ClickHouse database of its own, seeded with awkward data, a temporary backup folder and its own lock
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
        let clickhouseAdmin = ClickHouseClient(configuration: configuration.clickhouse)
        try await clickhouseAdmin.execute("CREATE DATABASE \(name)")
        configuration.clickhouse.database = name
        configuration.bolt.falkorDBGraphSelection = configuration.graphRedis != nil
        // FalkorDB runs commands one at a time: under CI's parallel suites a GRAPH.LIST waited over
        // 5 s behind other suites' graph queries (stop 24's CI), so these listings get more room.
        configuration.graphRedis?.timeoutSeconds = 30
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
        try? await clickhouseAdmin.execute("DROP DATABASE IF EXISTS \(name)")
        try? await clickhouseAdmin.shutdown()
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

    /// The seed's `user_activity` and `performance_metrics` (migrated, so `schema_versions` holds
    /// 0001 and 0002): `activities` rows with unique event ids (ReplacingMergeTree would merge
    /// duplicates) and awkward strings, `metrics` rows, and one raw row per table whose strings hold
    /// bytes no JSON insert can carry (0xFF, NUL) and whose Float64 is nan.
    func seedClickHouse(activities: Int = 250, metrics: Int = 40) async throws {
        let clickhouse = stores.clickhouse
        _ = try await ClickHouseMigrations.migrate(clickhouse)
        let values: [Double] = [1.0 / 3, -0.0, 1e-300, 1.7976931348623157e308, 0.1]
        let activityRows = (0..<activities).map { (i: Int) -> BackupActivityRow in
            BackupActivityRow(
                event_id: UUID().uuidString.lowercased(),
                user_id: UUID().uuidString.lowercased(),
                event_type: Self.awkward[i % Self.awkward.count],
                event_category: "cat \(i % 4)",
                event_action: "action'\\\t\(i)",
                event_value: i % 10 == 9 ? Double(i) / 7 : values[i % values.count],
                page_url: "https://example.com/p?\(i)&q='x'",
                referrer_url: i % 2 == 0 ? "" : "line\nbreak",
                user_agent: "agent \(Self.awkward[(i + 3) % Self.awkward.count])",
                ip_address: "10.0.\(i / 256).\(i % 256)",
                timestamp: 1_700_000_000 + Int64(i * 37),
                session_id: UUID().uuidString.lowercased()
            )
        }
        try await clickhouse.insert(table: "user_activity", rows: activityRows)
        let metricRows = (0..<metrics).map { (i: Int) -> BackupMetricRow in
            BackupMetricRow(
                metric_id: UUID().uuidString.lowercased(),
                service_name: "worker \(i % 3)",
                endpoint: "job.type.\(i)",
                response_time_ms: Int32(i * 13),
                status_code: Int16(i % 7 == 0 ? -1 : 200),
                error_message: Self.awkward[i % Self.awkward.count],
                timestamp: 1_700_000_000 + Int64(i)
            )
        }
        try await clickhouse.insert(table: "performance_metrics", rows: metricRows)
        func uuid() -> String { UUID().uuidString.lowercased() }
        let bytes: [UInt8] = [0x00, 0xFF, 0xFE, 0x27, 0x5C, 0x09, 0x0A]
        let raw = bytes.map { "\\x" + String(format: "%02X", $0) }.joined()
        try await clickhouse.execute(
            "INSERT INTO user_activity FORMAT TabSeparated",
            data: Array(
                ([uuid(), uuid(), raw, "c", "a", "nan", raw, "", "", "", "1700000001", uuid()].joined(separator: "\t")
                    + "\n").utf8
            )
        )
        try await clickhouse.execute(
            "INSERT INTO performance_metrics FORMAT TabSeparated",
            data: Array(
                ([uuid(), "s", "e", "-2147483648", "-32768", raw, "0000000000"].joined(separator: "\t") + "\n").utf8
            )
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

extension BackupFixture {
    /// Every row of every table of a ClickHouse database as TabSeparated bytes (DateTimes as Unix
    /// times), sorted, per table.
    static func clickhouseContents(_ client: ClickHouseClient, database: String) async throws -> [String: [[UInt8]]] {
        struct Table: Decodable { let name: String }
        let tables = try await client.query(
            "SELECT name FROM system.tables WHERE database = \(ClickHouseLiteral.string(database))",
            as: Table.self
        )
        var contents: [String: [[UInt8]]] = [:]
        for table in tables {
            struct Column: Decodable {
                let name: String
                let type: String
            }
            let columns = try await client.query(
                "SELECT name, type FROM system.columns WHERE database = \(ClickHouseLiteral.string(database)) "
                    + "AND table = \(ClickHouseLiteral.string(table.name))",
                as: Column.self
            )
            let select = columns.map { $0.type == "DateTime" ? "toUnixTimestamp(`\($0.name)`)" : "`\($0.name)`" }
            let streamed = Mutex<[UInt8]>([])
            try await client.stream(
                "SELECT \(select.joined(separator: ", ")) FROM `\(database)`.`\(table.name)` FORMAT TabSeparated"
            ) { chunk in streamed.withLock { $0 += chunk.readableBytesView } }
            let bytes = streamed.withLock { $0 }
            contents[table.name] = bytes.split(separator: 0x0A).map(Array.init).sorted {
                $0.lexicographicallyPrecedes($1)
            }
        }
        return contents
    }
}

struct BackupActivityRow: Encodable {
    let event_id: String
    let user_id: String
    let event_type: String
    let event_category: String
    let event_action: String
    let event_value: Double
    let page_url: String
    let referrer_url: String
    let user_agent: String
    let ip_address: String
    let timestamp: Int64
    let session_id: String
}

struct BackupMetricRow: Encodable {
    let metric_id: String
    let service_name: String
    let endpoint: String
    let response_time_ms: Int32
    let status_code: Int16
    let error_message: String
    let timestamp: Int64
}

enum BackupTestCypher {
    static func literal(_ text: String) -> String {
        "'"
            + text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "'", with: "\\'")
            .replacingOccurrences(of: "\"", with: "\\\"").replacingOccurrences(of: "\n", with: "\\n")
            .replacingOccurrences(of: "\t", with: "\\t") + "'"
    }
}
