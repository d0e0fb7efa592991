import Bolt
import ClickHouse
import FleetContract
import FleetCore
import FleetJobs
import Logging
import MongoDB
import Postgres
import Redis

/// The store clients of one process, shared by every worker and handler it runs. Each pool connects
/// on first use, so a process whose jobs never touch a store opens no connection to it and starts no
/// thread for it.
public struct FleetStores: Sendable {
    public let postgres: PostgresClient
    public let redis: RedisClient
    public let mongodb: MongoClient
    public let graph: BoltClient
    /// ClickHouse over HTTP; its connection pool opens on the first request.
    public let clickhouse: ClickHouseClient
    /// The process-wide buffer of `user_activity` rows (``ActivityRecordHandler``), flushed by
    /// ``FleetConfiguration/activityFlush``.
    public let activity: BatchBuffer<ActivityEvent>
    /// The `performance_metrics` writer; nil when ``FleetConfiguration/performanceMetrics`` is off.
    public let performanceMetrics: PerformanceMetrics?
    /// Publishes follow-up jobs to `exchange`; connects to the broker on first use.
    public let followUps: FollowUpPublisher
    /// The configuration the stores were made from (backups read their settings from it).
    public let configuration: FleetConfiguration

    /// Stores with the pool sizes of `configuration` (tools, tests and benchmarks).
    public init(
        configuration: FleetConfiguration,
        exchange: String = "jobs",
        logger: Logger = Logger(label: "fleet.follow-ups")
    ) {
        self.init(
            configuration: configuration,
            poolSizes: StorePoolSizes(connections: [
                "postgres": configuration.postgresPoolSize, "redis": configuration.redisPoolSize,
                "mongodb": configuration.mongodbPoolSize, "neo4j": configuration.boltPoolSize,
            ]),
            exchange: exchange,
            logger: logger
        )
    }

    /// Stores whose pools hold `poolSizes` connections: for a process running workers, the sizes
    /// ``StorePoolSizes/forWorkers(_:topology:cap:)`` derives from their manifests.
    public init(
        configuration: FleetConfiguration,
        poolSizes: StorePoolSizes,
        exchange: String = "jobs",
        logger: Logger = Logger(label: "fleet.follow-ups")
    ) {
        self.configuration = configuration
        postgres = PostgresClient(
            configuration: configuration.postgres,
            maxConnections: poolSizes.maxConnections("postgres")
        )
        redis = RedisClient(configuration: configuration.redis, maxConnections: poolSizes.maxConnections("redis"))
        mongodb = MongoClient(configuration: configuration.mongodb, maxConnections: poolSizes.maxConnections("mongodb"))
        graph = BoltClient(configuration: configuration.bolt, maxConnections: poolSizes.maxConnections("neo4j"))
        // Rows reach ClickHouse in batches, one flush at a time per table: a worker that does not
        // name ClickHouse (its performance_metrics rows only) needs one connection and one thread.
        var clickhouseConfiguration = configuration.clickhouse
        clickhouseConfiguration.maxConnections = min(
            clickhouseConfiguration.maxConnections,
            poolSizes.maxConnections("clickhouse")
        )
        let clickhouse = ClickHouseClient(configuration: clickhouseConfiguration)
        self.clickhouse = clickhouse
        activity = ActivityWriter(clickhouse: clickhouse, redis: redis)
            .buffer(policy: configuration.activityFlush, logger: Logger(label: "fleet.analytics"))
        performanceMetrics =
            configuration.performanceMetrics
            ? PerformanceMetrics(
                clickhouse: clickhouse,
                policy: configuration.metricsFlush,
                logger: Logger(label: "fleet.performance-metrics")
            ) : nil
        followUps = FollowUpPublisher(
            amqp: configuration.amqp,
            exchange: exchange,
            logger: logger,
            signer: configuration.signing.signer
        )
    }

    /// Called once the handlers are done: waits for follow-up confirms first, then closes the stores.
    public func shutdown() async {
        await followUps.shutdown()
        await performanceMetrics?.flush()
        try? await clickhouse.shutdown()
        await postgres.shutdown()
        await redis.shutdown()
        await mongodb.shutdown()
        await graph.shutdown()
    }
}
