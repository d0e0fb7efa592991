import Bolt
import MongoDB
import Postgres
import Redis

/// The store clients one worker process shares among its handlers. Each pool connects on first
/// use, so a worker whose jobs never touch a store opens no connection to it.
public struct FleetStores: Sendable {
    public let postgres: PostgresClient
    public let redis: RedisClient
    public let mongodb: MongoClient
    public let graph: BoltClient

    public init(configuration: FleetConfiguration) {
        postgres = PostgresClient(configuration: configuration.postgres, maxConnections: configuration.postgresPoolSize)
        redis = RedisClient(configuration: configuration.redis, maxConnections: configuration.redisPoolSize)
        mongodb = MongoClient(configuration: configuration.mongodb, maxConnections: configuration.mongodbPoolSize)
        graph = BoltClient(configuration: configuration.bolt, maxConnections: configuration.boltPoolSize)
    }

    public func shutdown() async {
        await postgres.shutdown()
        await redis.shutdown()
        await mongodb.shutdown()
        await graph.shutdown()
    }
}
