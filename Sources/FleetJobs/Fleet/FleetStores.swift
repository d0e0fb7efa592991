import Postgres
import Redis

/// The store clients one worker process shares among its handlers.
public struct FleetStores: Sendable {
    public let postgres: PostgresClient
    public let redis: RedisClient

    public init(configuration: FleetConfiguration) {
        postgres = PostgresClient(configuration: configuration.postgres, maxConnections: configuration.postgresPoolSize)
        redis = RedisClient(configuration: configuration.redis, maxConnections: configuration.redisPoolSize)
    }

    public func shutdown() async {
        await postgres.shutdown()
        await redis.shutdown()
    }
}
