import BlockingIO

/// The async face of MongoDB: a bounded pool of ``MongoConnection``s (one `mongoc_client_t` each),
/// each used on a thread of the pool's own, so blocking libmongoc calls never run on Swift's
/// cooperative threads. Call ``shutdown()`` before dropping the client.
public final class MongoClient: Sendable {
    /// The deployment every pooled connection connects to.
    public let configuration: MongoConfiguration
    private let pool: BlockingConnectionPool<MongoConnection>

    /// A client that opens no connection until the first call.
    ///
    /// - Parameter maxConnections: the most connections (and threads) open at once.
    public init(configuration: MongoConfiguration, maxConnections: Int = 8) {
        self.configuration = configuration
        self.pool = BlockingConnectionPool(
            maxConnections: maxConnections,
            metrics: StoreCallMetrics(store: "mongodb") { ($0 as? MongoError)?.isTransient }
        ) {
            try MongoConnection.connect(configuration)
        }
    }

    /// Runs `body` on a pool thread with a connection to itself; `body` may block.
    /// - Throws: `body`'s error, a ``MongoError``, or `BlockingPoolError.shutDown`.
    public func withConnection<T: Sendable>(_ body: @escaping @Sendable (MongoConnection) throws -> T) async throws -> T
    {
        try await pool.withConnection(body)
    }

    /// Runs `body` in a transaction, as ``MongoConnection/withTransaction(_:)`` does.
    public func withTransaction<T: Sendable>(
        _ body: @escaping @Sendable (MongoConnection, MongoSession) throws -> T
    ) async throws -> T {
        try await pool.withConnection { connection in
            try connection.withTransaction { session in try body(connection, session) }
        }
    }

    /// Waits for running bodies, closes every connection and stops the threads.
    public func shutdown() async {
        await pool.shutdown()
    }
}
