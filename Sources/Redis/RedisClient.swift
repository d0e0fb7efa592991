import BlockingIO
import Logging

/// The async face of Redis: a bounded pool of ``RedisConnection``s, each used on its own thread.
///
/// Commands suspend the calling task, never block it. A connection left broken by a failure is
/// replaced on next use, so after a server restart the first command fails with a transient
/// ``RedisError`` and a retry succeeds. Commands are not retried here: not all of them are idempotent.
/// Call ``shutdown()`` before releasing the client.
public final class RedisClient: Sendable {
    /// The server every pooled connection connects to.
    public let configuration: RedisConfiguration
    private let pool: BlockingConnectionPool<RedisConnection>
    /// This client's tasks waiting for ``RedisLock`` keys, queued in memory.
    let lockQueue = LockQueue(instance: RedisLock.randomToken())

    /// - Parameters:
    ///   - maxConnections: the most connections (and threads) open at once; further callers wait.
    ///   - logger: receives connection events at debug level. Defaults to discarding them.
    public init(
        configuration: RedisConfiguration,
        maxConnections: Int = 8,
        logger: Logger = Logger(label: "fleet.redis", factory: { _ in SwiftLogNoOpLogHandler() })
    ) {
        self.configuration = configuration
        var logger = logger
        logger[metadataKey: "redis.address"] = "\(configuration.redactedAddress)"
        self.pool = BlockingConnectionPool(
            maxConnections: maxConnections,
            metrics: StoreCallMetrics(store: "redis") { ($0 as? RedisError)?.isTransient }
        ) { [logger] in
            do {
                let connection = try RedisConnection.connect(configuration)
                logger.debug("redis connection opened")
                return connection
            } catch {
                logger.debug("redis connection failed", metadata: ["redis.error": "\(error)"])
                throw error
            }
        }
    }

    /// Runs `body` with a pooled connection on a pool thread, where it may block.
    /// Use it for several commands that must share one connection (`WATCH`/`MULTI`, `SELECT`...).
    public func withConnection<T: Sendable>(
        _ body: @escaping @Sendable (RedisConnection) throws -> T
    ) async throws -> T {
        try await pool.withConnection(body)
    }

    /// See ``RedisConnection/command(_:)``.
    @discardableResult
    nonisolated(nonsending) public func command(_ arguments: [String]) async throws -> RedisValue {
        try await withConnection { try $0.command(arguments) }
    }

    /// See ``RedisConnection/pipeline(_:)``.
    nonisolated(nonsending) public func pipeline(_ commands: [[String]]) async throws -> [RedisValue] {
        try await withConnection { try $0.pipeline(commands) }
    }

    /// See ``RedisConnection/eval(_:keys:arguments:)``.
    nonisolated(nonsending) public func eval(
        _ script: RedisScript,
        keys: [String],
        arguments: [String]
    ) async throws -> RedisValue {
        try await withConnection { try $0.eval(script, keys: keys, arguments: arguments) }
    }

    /// Lets in-flight commands finish, then closes every connection and stops the threads.
    /// Later calls throw `BlockingPoolError.shutDown`.
    public func shutdown() async {
        await pool.shutdown()
    }
}
