import BlockingIO

/// The async face of PostgreSQL: a bounded pool of ``PostgresConnection``s, each used on a thread of
/// the pool's own, so blocking libpq calls never run on Swift's cooperative threads.
///
/// Connections open lazily, on demand. One that a failure leaves unusable is dropped when its body
/// ends, and the next caller opens a fresh one: so after a server restart or a killed backend, the
/// first statement on each stale connection fails with a transient ``PostgresError`` and later ones
/// succeed. Call ``shutdown()`` before dropping the client.
public final class PostgresClient: Sendable {
    /// Where and as whom every pooled connection connects.
    public let configuration: PostgresConfiguration
    private let pool: BlockingConnectionPool<PostgresConnection>

    /// A client that opens no connection until the first call.
    ///
    /// - Parameter maxConnections: the most connections (and threads) open at once.
    public init(configuration: PostgresConfiguration, maxConnections: Int = 8) {
        self.configuration = configuration
        self.pool = BlockingConnectionPool(
            maxConnections: maxConnections,
            metrics: StoreCallMetrics(store: "postgres") { ($0 as? PostgresError)?.isTransient }
        ) {
            try PostgresConnection.connect(configuration)
        }
    }

    /// Runs `body` on a pool thread with a connection to itself; `body` may block.
    ///
    /// Leave the connection as found: one left inside a transaction is closed, not reused.
    /// - Throws: `body`'s error, a ``PostgresError`` if connecting fails, or `BlockingPoolError.shutDown`.
    public func withConnection<T: Sendable>(
        _ body: @escaping @Sendable (PostgresConnection) throws -> T
    ) async throws -> T {
        try await pool.withConnection(body)
    }

    /// Runs `body` in a transaction, as ``PostgresConnection/transaction(_:)`` does.
    public func withTransaction<T: Sendable>(
        _ body: @escaping @Sendable (PostgresConnection) throws -> T
    ) async throws -> T {
        try await pool.withConnection { connection in try connection.transaction(body) }
    }

    /// Runs one parameterized statement on any pooled connection.
    @discardableResult
    nonisolated(nonsending) public func query(
        _ sql: String,
        _ parameters: [PostgresBindable?] = []
    ) async throws -> PostgresRows {
        try await pool.withConnection { connection in try connection.query(sql, parameters) }
    }

    /// Waits for running bodies, closes every connection and stops the threads.
    public func shutdown() async {
        await pool.shutdown()
    }
}
