import Bolt
import FleetCore
import FleetJobs
import Logging
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
    /// Publishes follow-up jobs to `exchange`; connects to the broker on first use.
    public let followUps: FollowUpPublisher

    public init(
        configuration: FleetConfiguration,
        exchange: String = "jobs",
        logger: Logger = Logger(label: "fleet.follow-ups")
    ) {
        let postgres = PostgresClient(
            configuration: configuration.postgres,
            maxConnections: configuration.postgresPoolSize
        )
        let redis = RedisClient(configuration: configuration.redis, maxConnections: configuration.redisPoolSize)
        let mongodb = MongoClient(configuration: configuration.mongodb, maxConnections: configuration.mongodbPoolSize)
        self.postgres = postgres
        self.redis = redis
        self.mongodb = mongodb
        graph = BoltClient(configuration: configuration.bolt, maxConnections: configuration.boltPoolSize)
        followUps = FollowUpPublisher(
            amqp: configuration.amqp,
            exchange: exchange,
            logger: logger
        )
    }

    /// Called once the handlers are done: waits for follow-up confirms first, then closes the stores.
    public func shutdown() async {
        await followUps.shutdown()
        await postgres.shutdown()
        await redis.shutdown()
        await mongodb.shutdown()
        await graph.shutdown()
    }
}
