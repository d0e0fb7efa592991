import ClickHouse
import Foundation

/// The ClickHouse tables: the seed's `user_activity` and `performance_metrics`, recorded in a
/// `schema_versions` table of ClickHouse's own (service `workerfleet.clickhouse`), so a backup of the
/// ClickHouse database carries its schema version with it.
///
/// The DDL is what ClickHouse 18.16 (the test server) and current ClickHouse both accept:
/// `ENGINE = …MergeTree() ORDER BY (…)` with no `PARTITION BY` and no old-style `MergeTree(date, …)`
/// arguments. Every step is `CREATE TABLE IF NOT EXISTS` and runs every time (as the MongoDB and
/// Neo4j steps do), so a new database behind an up-to-date record still gets its tables.
public enum ClickHouseMigrations {
    public struct Step: Sendable {
        public let version: String
        public let description: String
        let sql: String
    }

    public static let serviceName = "workerfleet.clickhouse"

    /// The record of applied steps. ReplacingMergeTree on (service_name, version): two migrators
    /// racing may both record a step; a merge (or `SELECT DISTINCT`) keeps one.
    static let schemaVersions = """
        CREATE TABLE IF NOT EXISTS schema_versions (
            service_name String,
            version String,
            applied_at DateTime,
            description String
        ) ENGINE = ReplacingMergeTree()
        ORDER BY (service_name, version)
        """

    public static let steps: [Step] = [
        Step(
            version: "0001",
            description: "user_activity (seed columns; ReplacingMergeTree ordered by timestamp, user_id, event_id)",
            sql: userActivity
        ),
        Step(version: "0002", description: "performance_metrics (seed columns)", sql: performanceMetrics),
    ]

    /// The seed's columns. The engine is ReplacingMergeTree and `event_id` ends the sorting key (after
    /// the seed's `timestamp, user_id`, which still serve its queries): the analytics writer inserts an
    /// event_id at most once (it checks under a lock), and should two flushes ever race, merges
    /// collapse the copies and `FINAL` hides them before then. See `ActivityWriter`.
    static let userActivity = """
        CREATE TABLE IF NOT EXISTS user_activity (
            event_id UUID,
            user_id UUID,
            event_type String,
            event_category String,
            event_action String,
            event_value Float64,
            page_url String,
            referrer_url String,
            user_agent String,
            ip_address String,
            timestamp DateTime,
            session_id UUID
        ) ENGINE = ReplacingMergeTree()
        ORDER BY (timestamp, user_id, event_id)
        """

    /// The seed's table as written: one row per finished job, written best-effort (no dedup).
    static let performanceMetrics = """
        CREATE TABLE IF NOT EXISTS performance_metrics (
            metric_id UUID,
            service_name String,
            endpoint String,
            response_time_ms Int32,
            status_code Int16,
            error_message String,
            timestamp DateTime
        ) ENGINE = MergeTree()
        ORDER BY (timestamp, service_name)
        """

    /// Creates `schema_versions`, runs every step, records the unrecorded ones; returns those.
    public static func migrate(_ clickhouse: ClickHouseClient) async throws -> [String] {
        try await clickhouse.execute(schemaVersions)
        let done = try await applied(clickhouse)
        var recorded: [String] = []
        for step in steps {
            try await clickhouse.execute(step.sql)
            guard !done.contains(step.version) else { continue }
            try await clickhouse.insert(
                table: "schema_versions",
                rows: [
                    VersionRow(
                        service_name: serviceName,
                        version: step.version,
                        applied_at: Int64(Date().timeIntervalSince1970),
                        description: step.description
                    )
                ]
            )
            recorded.append(step.version)
        }
        return recorded
    }

    /// The versions recorded in ClickHouse's `schema_versions`.
    public static func applied(_ clickhouse: ClickHouseClient) async throws -> Set<String> {
        struct Version: Decodable { let version: String }
        let rows = try await clickhouse.query(
            "SELECT DISTINCT version FROM schema_versions WHERE service_name = "
                + ClickHouseLiteral.string(serviceName),
            as: Version.self
        )
        return Set(rows.map(\.version))
    }

    private struct VersionRow: Encodable {
        let service_name: String
        let version: String
        /// Unix seconds: JSONEachRow reads a number into a DateTime whatever the server's time zone.
        let applied_at: Int64
        let description: String
    }
}
