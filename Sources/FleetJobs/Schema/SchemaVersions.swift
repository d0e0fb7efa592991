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

    /// Runs `apply` for each step of `service` not yet recorded, then records it; returns the
    /// versions this call recorded. `apply` must be idempotent (see above).
    public static func applyMissing<Step>(
        _ steps: [Step],
        service: String,
        version: (Step) -> String,
        description: (Step) -> String,
        recordingIn postgres: PostgresClient,
        apply: (Step) async throws -> Void
    ) async throws -> [String] {
        let done = try await applied(postgres, service: service)
        var recorded: [String] = []
        for step in steps where !done.contains(version(step)) {
            try await apply(step)
            if try await record(postgres, service: service, version: version(step), description: description(step)) {
                recorded.append(version(step))
            }
        }
        return recorded
    }
}
