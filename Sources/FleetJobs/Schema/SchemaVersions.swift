import Postgres

/// The seed's `schema_versions` table as the record of every store's migrations, not only
/// PostgreSQL's: MongoDB and Neo4j steps are recorded under their own `service_name`.
///
/// Those steps (index and constraint creation) are idempotent, so two migrators racing may both
/// apply one; only one records it.
public enum SchemaVersions {
    /// Versions recorded for `service`. Needs ``PostgresMigrations/migrate(_:)`` to have run.
    public static func applied(_ postgres: PostgresClient, service: String) async throws -> Set<String> {
        let rows = try await postgres.query(
            "SELECT version FROM schema_versions WHERE service_name = $1",
            [service]
        )
        return Set(rows.compactMap { $0["version"] })
    }

    /// Records `version` unless a concurrent migrator already did; true when this call recorded it.
    @discardableResult
    public static func record(
        _ postgres: PostgresClient,
        service: String,
        version: String,
        description: String
    ) async throws -> Bool {
        try await postgres.withTransaction { connection in
            try connection.query("SELECT pg_advisory_xact_lock($1)", [PostgresMigrations.advisoryLock])
            let rows = try connection.query(
                """
                INSERT INTO schema_versions (service_name, version, description)
                SELECT $1::varchar, $2::varchar, $3::text
                WHERE NOT EXISTS (
                    SELECT 1 FROM schema_versions WHERE service_name = $1::varchar AND version = $2::varchar
                )
                """,
                [service, version, description]
            )
            return rows.affectedRows == 1
        }
    }

    /// Runs `apply` for every step, then records the ones not yet recorded; returns the versions
    /// this call recorded. Every step runs, recorded or not: the record lives in PostgreSQL, and the
    /// MongoDB database or graph it describes may be a new one (a restored or fresh server, another
    /// database name) that a skipped step would leave without its unique indexes. So `apply` must
    /// be idempotent (index and constraint creation are).
    public static func applyAll<Step>(
        _ steps: [Step],
        service: String,
        version: (Step) -> String,
        description: (Step) -> String,
        recordingIn postgres: PostgresClient,
        apply: (Step) async throws -> Void
    ) async throws -> [String] {
        let done = try await applied(postgres, service: service)
        var recorded: [String] = []
        for step in steps {
            try await apply(step)
            guard !done.contains(version(step)) else { continue }
            if try await record(postgres, service: service, version: version(step), description: description(step)) {
                recorded.append(version(step))
            }
        }
        return recorded
    }
}
