import Postgres

/// Reads a store's newest version from the seed's `schema_versions` table in PostgreSQL (every
/// store's migrations are recorded there, each under its own `service_name`).
public struct SchemaVersionReader: Sendable {
    public let postgres: PostgresClient
    /// `workerfleet.postgres`, `workerfleet.mongodb`, `workerfleet.neo4j`, ...
    public let service: String

    public init(postgres: PostgresClient, service: String) {
        self.postgres = postgres
        self.service = service
    }

    /// The greatest recorded version (versions are zero-padded, so text order is numeric order), or
    /// nil when none is recorded.
    public func latest() async throws -> String? {
        let rows = try await postgres.query(
            "SELECT max(version) AS version FROM schema_versions WHERE service_name = $1",
            [service]
        )
        return rows.first?["version"]
    }
}
