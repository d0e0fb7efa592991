import ArgumentParser

@main
struct Fleet: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fleet",
        abstract: "WorkerFleet: run job workers on RabbitMQ and manage their queues.",
        discussion: """
            Servers come from the environment: FLEET_AMQP_URL (default \(FleetDefaults.amqp)), \
            FLEET_POSTGRES_URL (default \(FleetDefaults.postgres)), FLEET_REDIS_URL (default \(FleetDefaults.redis)), \
            FLEET_MONGODB_URL (default \(FleetDefaults.mongodb)), FLEET_BOLT_URL (default \(FleetDefaults.bolt); \
            Neo4j 5 or FalkorDB). FLEET_AMQP_URL may list several cluster nodes, comma-separated; \
            FLEET_POSTGRES_URL may list several hosts and take libpq parameters (sslmode, \
            target_session_attrs, statement_timeout, ...). `scripts/services.sh start` starts all five \
            locally on those ports. A worker connects only to the stores its jobs use. FLEET_LOG_LEVEL sets the \
            log level (trace, debug, info, warning, error; default info for `run`, warning for the others). \
            Backups: FLEET_BACKUP_DIR (default <config-dir>/backups), FLEET_BACKUP_KEEP (default 7), \
            FLEET_BACKUP_KEY_FILE (an AES-256 key; unset: plain artifacts); see `fleet backup --help`.
            """,
        subcommands: [
            Run.self, Enqueue.self, Migrate.self, TopologyCommand.self, DeadLetter.self, Status.self,
            Maintenance.self, OutboxCommand.self, Docs.self, Demo.self, Bench.self, BenchWorkerCommand.self, Chaos.self,
            BackupCommand.self,
        ]
    )
}
