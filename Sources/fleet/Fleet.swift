import ArgumentParser
import FleetApp

@main
struct Fleet: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fleet",
        abstract: "WorkerFleet: run job workers on RabbitMQ and manage their queues.",
        discussion: """
            Servers come from the environment: FLEET_AMQP_URL, FLEET_POSTGRES_URL, FLEET_REDIS_URL, \
            FLEET_MONGODB_URL, FLEET_BOLT_URL (Neo4j 5 or FalkorDB), FLEET_CLICKHOUSE_URL \
            (http://user:password@host:port/database) and FLEET_RABBITMQ_MGMT_URL (`fleet status`, `fleet \
            dashboard`). Each may instead name a file holding the URL: FLEET_AMQP_URL_FILE and so on (one \
            trailing line break is dropped; setting both forms is an error). A command needs only the servers \
            it uses, and an unset one is an error naming the variable, unless FLEET_DEV_MODE=1: then an unset \
            URL means the local services `scripts/services.sh start` starts (\(Self.developmentDefaults)). \
            FLEET_AMQP_URL may list several cluster nodes, comma-separated, \
            and amqps:// connects over TLS (cacertfile, certfile, keyfile, verify, server_name_indication); \
            FLEET_POSTGRES_URL may list several hosts and take libpq parameters (sslmode=verify-full, sslrootcert, \
            target_session_attrs, statement_timeout, ...). Passwords are never printed. \
            A worker connects only to the stores its jobs use. FLEET_LOG_LEVEL sets the \
            log level (trace, debug, info, warning, error; default info for `run`, warning for the others), \
            FLEET_LOG_FORMAT its format (json: one JSON object per line; text; default json when stderr is not \
            a terminal, text on a terminal). \
            Analytics: activity rows are written when FLEET_ANALYTICS_FLUSH_ROWS rows wait (default 5000) or \
            FLEET_ANALYTICS_FLUSH_MS after the oldest (default 1000), whichever comes first. \
            FLEET_PERFORMANCE_METRICS=on|off writes a ClickHouse performance_metrics row per finished job (default: \
            on when FLEET_CLICKHOUSE_URL is set), batched by FLEET_PERFORMANCE_METRICS_FLUSH_ROWS and \
            FLEET_PERFORMANCE_METRICS_FLUSH_MS (same defaults), a due batch waiting for a 10 ms pause between \
            finished jobs (at most 20 ms); when ClickHouse lags, rows beyond 50000 are dropped, \
            never the job slowed. \
            Backups: FLEET_BACKUP_DIR (default <config-dir>/backups), FLEET_BACKUP_KEEP (default 7), \
            FLEET_BACKUP_KEY_FILE (an AES-256 key; unset: plain artifacts); see `fleet backup --help`.
            """,
        subcommands: [
            Run.self, Enqueue.self, Migrate.self, TopologyCommand.self, DeadLetter.self, Status.self,
            Maintenance.self, OutboxCommand.self, ScheduleCommand.self, Docs.self, Demo.self, Bench.self,
            BenchWorkerCommand.self, Chaos.self, BackupCommand.self, DashboardCommand.self,
        ]
    )

    /// The development-mode addresses, without the local services' well-known passwords.
    static var developmentDefaults: String {
        FleetServer.allCases.map(\.developmentDefaultAddress).joined(separator: ", ")
    }
}
