import AMQP
import Bolt
import ClickHouse
import FleetCore
import FleetJobs
import FleetSigning
import Foundation
import MongoDB
import Postgres
import Redis

/// Where the fleet finds its servers and configuration files. Server URLs come from the
/// environment (`FLEET_AMQP_URL`, `FLEET_POSTGRES_URL`, `FLEET_REDIS_URL`, `FLEET_MONGODB_URL`,
/// `FLEET_BOLT_URL`, `FLEET_CLICKHOUSE_URL`); the defaults are the ports `scripts/services.sh` starts the
/// local services on.
public struct FleetConfiguration: Sendable {
    public static let defaultAMQPURL = "amqp://guest:guest@127.0.0.1:5682/%2f"
    public static let defaultPostgresURL = "postgresql://fleet:fleet@127.0.0.1:55432/fleet"
    public static let defaultRedisURL = "redis://127.0.0.1:56379/0"
    public static let defaultMongoDBURL = "mongodb://127.0.0.1:57017/fleet"
    public static let defaultBoltURL = "bolt://127.0.0.1:17687"
    public static let defaultClickHouseURL = ClickHouseConfiguration.defaultURL

    public var amqp: AMQPConfiguration
    public var postgres: PostgresConfiguration
    public var redis: RedisConfiguration
    public var mongodb: MongoConfiguration
    public var bolt: BoltConfiguration
    /// FalkorDB's own Redis port (`FLEET_GRAPH_REDIS_URL`, optional): only graph migrations use it,
    /// for unique constraints FalkorDB does not accept in Cypher. Neo4j needs none.
    public var graphRedis: RedisConfiguration?
    /// Holds `queues.yaml` and `workers/`.
    public var configDirectory: String
    /// Connections per worker process to PostgreSQL and to Redis.
    public var postgresPoolSize: Int = 16
    public var redisPoolSize: Int = 16
    /// Connections per worker process to MongoDB and to Neo4j; each opens on first use.
    public var mongodbPoolSize: Int = 16
    public var boltPoolSize: Int = 16
    /// ClickHouse (`FLEET_CLICKHOUSE_URL`, `http://127.0.0.1:58123`, database `fleet`, by default).
    public var clickhouse = ClickHouseConfiguration(port: 58123)
    /// When buffered `user_activity` rows are written: `FLEET_ANALYTICS_FLUSH_ROWS` (5000) rows or
    /// `FLEET_ANALYTICS_FLUSH_MS` (1000) ms after the oldest, whichever comes first.
    public var activityFlush = FlushPolicy()
    /// The same for `performance_metrics` rows: `FLEET_PERFORMANCE_METRICS_FLUSH_ROWS`, `…_FLUSH_MS`.
    public var metricsFlush = FlushPolicy()
    /// Whether workers write a `performance_metrics` row per finished job: `FLEET_PERFORMANCE_METRICS`
    /// `on` or `off`; by default on exactly when `FLEET_CLICKHOUSE_URL` is set.
    public var performanceMetrics = false
    /// Backups (`backup.run`, `fleet backup`): where artifacts go (`FLEET_BACKUP_DIR`, default
    /// `<config directory>/backups`), how many per store retention keeps (`FLEET_BACKUP_KEEP`, 7), and
    /// the file of the AES-256-GCM key that seals them (`FLEET_BACKUP_KEY_FILE`; unset: plain).
    public var backupDirectory: String
    public var backupKeep: Int = 7
    public var backupKeyFile: String?
    /// RabbitMQ's management HTTP API (`FLEET_RABBITMQ_MGMT_URL`, `http://user:password@host:port`),
    /// which `fleet status` reads; the vhost is the AMQP URL's.
    public var rabbitManagementURL = defaultRabbitManagementURL
    /// Signed jobs (issue 15): `FLEET_SIGNING_MODE`, `FLEET_SIGNING_KEYS_FILE`, `FLEET_SIGNING_KEY_ID`.
    public var signing = SigningSettings.off
    public static let defaultRabbitManagementURL = "http://guest:guest@127.0.0.1:15682"

    public init(
        amqp: AMQPConfiguration,
        postgres: PostgresConfiguration,
        redis: RedisConfiguration,
        mongodb: MongoConfiguration,
        bolt: BoltConfiguration,
        configDirectory: String
    ) {
        self.amqp = amqp
        self.postgres = postgres
        self.redis = redis
        self.mongodb = mongodb
        self.bolt = bolt
        self.configDirectory = configDirectory
        self.backupDirectory = "\(configDirectory)/backups"
    }

    /// Reads the environment; a malformed URL is an error naming the variable.
    public static func fromEnvironment(
        configDirectory: String,
        environment: [String: String] = ProcessInfo.processInfo.environment
    )
        throws -> FleetConfiguration
    {
        func url(_ name: String, _ fallback: String) -> String { environment[name] ?? fallback }
        func parse<T>(_ name: String, _ fallback: String, _ make: (String) throws -> T) throws -> T {
            do {
                return try make(url(name, fallback))
            } catch {
                throw ConfigurationError(file: "environment", path: name, problem: "\(error)")
            }
        }
        var configuration = FleetConfiguration(
            amqp: try parse("FLEET_AMQP_URL", defaultAMQPURL) { try AMQPConfiguration(url: $0) },
            postgres: try parse("FLEET_POSTGRES_URL", defaultPostgresURL) { try PostgresConfiguration(url: $0) },
            redis: try parse("FLEET_REDIS_URL", defaultRedisURL) { try RedisConfiguration(url: $0) },
            mongodb: try parse("FLEET_MONGODB_URL", defaultMongoDBURL) { try MongoConfiguration(url: $0) },
            bolt: try parse("FLEET_BOLT_URL", defaultBoltURL) { try BoltConfiguration(url: $0) },
            configDirectory: configDirectory
        )
        configuration.clickhouse = try parse("FLEET_CLICKHOUSE_URL", defaultClickHouseURL) {
            try ClickHouseConfiguration(url: $0)
        }
        for (prefix, keyPath) in [
            ("ANALYTICS", \FleetConfiguration.activityFlush), ("PERFORMANCE_METRICS", \FleetConfiguration.metricsFlush),
        ] {
            switch FlushPolicy.fromEnvironment(prefix: prefix, environment) {
            case .success(let policy): configuration[keyPath: keyPath] = policy
            case .failure(let error):
                throw ConfigurationError(file: "environment", path: error.variable, problem: error.problem)
            }
        }
        switch environment["FLEET_PERFORMANCE_METRICS"] {
        case nil, "": configuration.performanceMetrics = environment["FLEET_CLICKHOUSE_URL"] != nil
        case "on": configuration.performanceMetrics = true
        case "off": configuration.performanceMetrics = false
        case let other?:
            throw ConfigurationError(
                file: "environment",
                path: "FLEET_PERFORMANCE_METRICS",
                problem: "expected on or off, got \(String(reflecting: String(other.prefix(20))))"
            )
        }
        if environment["FLEET_GRAPH_REDIS_URL"] != nil {
            configuration.graphRedis = try parse("FLEET_GRAPH_REDIS_URL", "") { try RedisConfiguration(url: $0) }
        }
        if let directory = environment["FLEET_BACKUP_DIR"], !directory.isEmpty {
            configuration.backupDirectory = directory
        }
        if let keep = environment["FLEET_BACKUP_KEEP"] {
            guard let count = Int(keep), count >= 1 else {
                throw ConfigurationError(
                    file: "environment",
                    path: "FLEET_BACKUP_KEEP",
                    problem: "must be an integer >= 1"
                )
            }
            configuration.backupKeep = count
        }
        if let keyFile = environment["FLEET_BACKUP_KEY_FILE"], !keyFile.isEmpty {
            configuration.backupKeyFile = keyFile
        }
        if let managementURL = environment["FLEET_RABBITMQ_MGMT_URL"], !managementURL.isEmpty {
            configuration.rabbitManagementURL = managementURL
        }
        // Signing: the mode and the keys file's keys; errors never show a secret.
        do {
            configuration.signing = try SigningSettings.fromEnvironment(environment)
        } catch {
            throw ConfigurationError(file: "environment", path: "FLEET_SIGNING_*", problem: error.description)
        }
        return configuration
    }

    public var topologyPath: String { "\(configDirectory)/queues.yaml" }
    public var workersDirectory: String { "\(configDirectory)/workers" }

    public func loadTopology() throws -> Topology { try Topology.load(path: topologyPath) }
}
