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
/// `FLEET_BOLT_URL`, `FLEET_CLICKHOUSE_URL`, `FLEET_RABBITMQ_MGMT_URL`, each also as `…_FILE`); only in
/// development mode (`FLEET_DEV_MODE=1`) does an unset one default to the port `scripts/services.sh`
/// starts the local service on. See ``FleetServer``.
public struct FleetConfiguration: Sendable {
    /// The development-mode defaults (``FleetServer/developmentDefault``).
    public static let defaultAMQPURL = FleetServer.amqp.developmentDefault
    public static let defaultPostgresURL = FleetServer.postgres.developmentDefault
    public static let defaultRedisURL = FleetServer.redis.developmentDefault
    public static let defaultMongoDBURL = FleetServer.mongodb.developmentDefault
    public static let defaultBoltURL = FleetServer.bolt.developmentDefault
    public static let defaultClickHouseURL = FleetServer.clickhouse.developmentDefault

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
    /// The same for `performance_metrics` rows: `FLEET_PERFORMANCE_METRICS_FLUSH_ROWS`, `…_FLUSH_MS`;
    /// a due batch also waits for a 10 ms pause in finished jobs, at most 20 ms
    /// (``PerformanceMetrics/defaultPolicy``).
    public var metricsFlush = PerformanceMetrics.defaultPolicy
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
    public static let defaultRabbitManagementURL = FleetServer.rabbitManagement.developmentDefault
    /// `FLEET_DEV_MODE=1`: unset server URLs take the local services' defaults.
    public var developmentMode = false
    /// The servers whose URL was unset outside development mode: they hold a placeholder, and
    /// ``require(_:)`` fails for them.
    public var unsetServers: Set<FleetServer> = []

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
        // Server URLs: from the variable or its _FILE form; unset, the development default or a
        // placeholder recorded in unsetServers (see FleetServer).
        let secrets = EnvironmentSecrets(environment)
        let developmentMode = try developmentMode(environment)
        var unset: Set<FleetServer> = []
        func url(_ server: FleetServer) throws -> String {
            if let value = try secrets.value(server.variable) { return value }
            if developmentMode { return server.developmentDefault }
            unset.insert(server)
            return server.placeholder
        }
        // The clients' URL errors name the part at fault and never quote the URL.
        func parse<T>(_ server: FleetServer, _ make: (String) throws -> T) throws -> T {
            try parseURL(server.variable, try url(server), make)
        }
        var configuration = FleetConfiguration(
            amqp: try parse(.amqp) { try AMQPConfiguration(url: $0) },
            postgres: try parse(.postgres) { try PostgresConfiguration(url: $0) },
            redis: try parse(.redis) { try RedisConfiguration(url: $0) },
            mongodb: try parse(.mongodb) { try MongoConfiguration(url: $0) },
            bolt: try parse(.bolt) { try BoltConfiguration(url: $0) },
            configDirectory: configDirectory
        )
        configuration.clickhouse = try parse(.clickhouse) { try ClickHouseConfiguration(url: $0) }
        configuration.rabbitManagementURL = try url(.rabbitManagement)
        if let graphRedis = try secrets.value("FLEET_GRAPH_REDIS_URL") {
            configuration.graphRedis = try parseURL("FLEET_GRAPH_REDIS_URL", graphRedis) {
                try RedisConfiguration(url: $0)
            }
        }
        configuration.developmentMode = developmentMode
        configuration.unsetServers = unset
        for (prefix, keyPath) in [
            ("ANALYTICS", \FleetConfiguration.activityFlush), ("PERFORMANCE_METRICS", \FleetConfiguration.metricsFlush),
        ] {
            switch FlushPolicy.fromEnvironment(prefix: prefix, environment, defaults: configuration[keyPath: keyPath]) {
            case .success(let policy): configuration[keyPath: keyPath] = policy
            case .failure(let error):
                throw ConfigurationError(file: "environment", path: error.variable, problem: error.problem)
            }
        }
        switch environment["FLEET_PERFORMANCE_METRICS"] {
        case nil, "": configuration.performanceMetrics = secrets.isSet(FleetServer.clickhouse.variable)
        case "on": configuration.performanceMetrics = true
        case "off": configuration.performanceMetrics = false
        case let other?:
            throw ConfigurationError(
                file: "environment",
                path: "FLEET_PERFORMANCE_METRICS",
                problem: "expected on or off, got \(String(reflecting: String(other.prefix(20))))"
            )
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
        // Signing: the mode and the keys file's keys; errors never show a secret.
        do {
            configuration.signing = try SigningSettings.fromEnvironment(environment)
        } catch {
            throw ConfigurationError(file: "environment", path: "FLEET_SIGNING_*", problem: error.description)
        }
        return configuration
    }

    /// Fails, naming each variable and its `_FILE` form, when one of `servers` was left unset
    /// outside development mode. Commands call it first with the servers they use.
    public func require(_ servers: some Sequence<FleetServer>) throws {
        let missing = Set(servers).intersection(unsetServers).sorted()
        guard !missing.isEmpty else { return }
        let names = missing.map { "\($0.variable) (or \(EnvironmentSecrets.fileVariable($0.variable)))" }
        throw ConfigurationError(
            file: "environment",
            path: missing.map(\.variable).joined(separator: ", "),
            problem: "not set: \(names.joined(separator: ", ")); this command needs "
                + (missing.count == 1 ? "it. Set it" : "them. Set them")
                + ", or FLEET_DEV_MODE=1 for the local services' defaults (scripts/services.sh)"
        )
    }

    public func require(_ servers: FleetServer...) throws { try require(servers) }

    /// `FLEET_DEV_MODE`: `1` on; unset, empty or `0` off; anything else an error.
    static func developmentMode(_ environment: [String: String]) throws -> Bool {
        switch environment["FLEET_DEV_MODE"] {
        case nil, "", "0": return false
        case "1": return true
        case let other?:
            throw ConfigurationError(
                file: "environment",
                path: "FLEET_DEV_MODE",
                problem: "expected 1 or 0, got \(String(reflecting: String(other.prefix(20))))"
            )
        }
    }

    /// Parses a URL variable's value, turning the client's error into one naming the variable.
    static func parseURL<T>(_ variable: String, _ text: String, _ make: (String) throws -> T) throws -> T {
        do {
            return try make(text)
        } catch {
            throw ConfigurationError(file: "environment", path: variable, problem: "\(error)")
        }
    }

    public var topologyPath: String { "\(configDirectory)/queues.yaml" }
    public var workersDirectory: String { "\(configDirectory)/workers" }

    public func loadTopology() throws -> Topology { try Topology.load(path: topologyPath) }
}
