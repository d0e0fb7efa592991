import AMQP
import FleetCore
import Foundation
import Postgres
import Redis

/// Where the fleet finds its servers and configuration files. Server URLs come from the
/// environment (`FLEET_AMQP_URL`, `FLEET_POSTGRES_URL`, `FLEET_REDIS_URL`); the defaults are the
/// ports `scripts/services.sh` starts the local services on.
public struct FleetConfiguration: Sendable {
    public static let defaultAMQPURL = "amqp://guest:guest@127.0.0.1:5682/%2f"
    public static let defaultPostgresURL = "postgresql://fleet:fleet@127.0.0.1:55432/fleet"
    public static let defaultRedisURL = "redis://127.0.0.1:56379/0"

    public var amqp: AMQPConfiguration
    public var postgres: PostgresConfiguration
    public var redis: RedisConfiguration
    /// Holds `queues.yaml` and `workers/`.
    public var configDirectory: String
    /// Connections per worker process to PostgreSQL and to Redis.
    public var postgresPoolSize: Int = 16
    public var redisPoolSize: Int = 16

    public init(
        amqp: AMQPConfiguration,
        postgres: PostgresConfiguration,
        redis: RedisConfiguration,
        configDirectory: String
    ) {
        self.amqp = amqp
        self.postgres = postgres
        self.redis = redis
        self.configDirectory = configDirectory
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
        return FleetConfiguration(
            amqp: try parse("FLEET_AMQP_URL", defaultAMQPURL) { try AMQPConfiguration(url: $0) },
            postgres: try parse("FLEET_POSTGRES_URL", defaultPostgresURL) { try PostgresConfiguration(url: $0) },
            redis: try parse("FLEET_REDIS_URL", defaultRedisURL) { try RedisConfiguration(url: $0) },
            configDirectory: configDirectory
        )
    }

    public var topologyPath: String { "\(configDirectory)/queues.yaml" }
    public var workersDirectory: String { "\(configDirectory)/workers" }

    public func loadTopology() throws -> Topology { try Topology.load(path: topologyPath) }
}
