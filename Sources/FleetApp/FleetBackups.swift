import Bolt
import FleetBackup
import FleetJobs
import Logging

/// The backup runner of a process: the configured location, retention and key, the per-store lock
/// in the fleet's Redis, and one source per store (PostgreSQL, MongoDB, Neo4j, ClickHouse). The schema
/// versions of PostgreSQL, MongoDB and Neo4j are read from PostgreSQL `schema_versions`; ClickHouse's
/// from its own `schema_versions` table, which its backup carries.
public enum FleetBackups {
    public static func runner(
        configuration: FleetConfiguration,
        stores: FleetStores,
        logger: Logger = Logger(label: "fleet.backup")
    ) throws -> BackupRunner {
        let key = try configuration.backupKeyFile.map { path throws(BackupError) in try BackupKey(file: path) }
        return BackupRunner(
            layout: BackupLayout(root: configuration.backupDirectory),
            keep: configuration.backupKeep,
            key: key,
            lock: BackupLock(redis: stores.redis),
            sources: sources(configuration: configuration, stores: stores),
            logger: logger
        )
    }

    public static func sources(configuration: FleetConfiguration, stores: FleetStores) -> [any BackupSource] {
        let graphRedis = configuration.graphRedis
        return [
            PostgresBackupSource(
                configuration: configuration.postgres,
                client: stores.postgres,
                schemaVersions: SchemaVersionReader(postgres: stores.postgres, service: PostgresMigrations.serviceName)
            ),
            MongoBackupSource(
                configuration: configuration.mongodb,
                schemaVersions: SchemaVersionReader(postgres: stores.postgres, service: MongoMigrations.serviceName)
            ),
            GraphBackupSource(
                configuration: configuration.bolt,
                graphRedis: graphRedis,
                schemaVersions: SchemaVersionReader(postgres: stores.postgres, service: GraphMigrations.serviceName),
                createUnique: { label, property, graph in
                    try await GraphMigrations.createUnique(
                        .init(label: label, property: property),
                        graph: graph,
                        graphRedis: graphRedis
                    )
                }
            ),
            ClickHouseBackupSource(client: stores.clickhouse, schemaService: ClickHouseMigrations.serviceName),
        ]
    }
}
