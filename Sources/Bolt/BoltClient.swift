import BlockingIO
import Logging
import NIOCore
import NIOPosix

/// A bounded pool of ``BoltConnection``s to one server.
///
/// Connections open on demand up to `maxConnections`; further callers wait. A connection the
/// server dropped is replaced on next use; one broken mid-request makes that request fail with a
/// transient ``BoltError`` (code ``BoltError/Code/connection``). Requests are not retried here:
/// a write may have been applied before the connection broke.
///
/// **Parameters only.** Queries are Cypher text plus a parameter map; never splice values into the text.
/// Call ``shutdown()`` before releasing the client.
public final class BoltClient: Sendable {
    /// The server every pooled connection connects to.
    public let configuration: BoltConfiguration
    private let pool: BoltConnectionPool

    /// A client that opens no connection until the first call.
    ///
    /// - Parameters:
    ///   - configuration: the server, credentials and timeouts.
    ///   - maxConnections: the most connections open at once.
    ///   - eventLoopGroup: where the channels run; nil means the process-wide NIO singleton, taken
    ///     at the first connection so that a process that never queries starts no NIO threads.
    ///   - logger: receives connection events at debug level. Defaults to discarding them.
    public init(
        configuration: BoltConfiguration,
        maxConnections: Int = 8,
        eventLoopGroup: (any EventLoopGroup)? = nil,
        logger: Logger = Logger(label: "fleet.bolt", factory: { _ in SwiftLogNoOpLogHandler() })
    ) {
        self.configuration = configuration
        var logger = logger
        logger[metadataKey: "bolt.address"] = "\(configuration.redactedAddress)"
        self.pool = BoltConnectionPool(
            configuration: configuration,
            maxConnections: maxConnections,
            eventLoopGroup: eventLoopGroup,
            logger: logger
        )
    }

    /// Runs `body` with a pooled connection, for several queries that must share one.
    public func withConnection<T>(
        isolation: isolated (any Actor)? = #isolation,
        _ body: (BoltConnection) async throws -> T
    ) async throws -> T {
        let call = pool.metrics.begin()
        let connection: BoltConnection
        do {
            connection = try await pool.checkout()
        } catch {
            pool.metrics.end(call, error: error)
            throw error
        }
        do {
            let result = try await body(connection)
            await pool.checkin(connection)
            pool.metrics.end(call, error: nil)
            return result
        } catch {
            await pool.checkin(connection)
            pool.metrics.end(call, error: error)
            throw error
        }
    }

    /// See ``BoltConnection/run(_:parameters:)``.
    @discardableResult
    public func run(_ query: String, parameters: [String: BoltValue] = [:]) async throws -> BoltResult {
        try await withConnection { try await $0.run(query, parameters: parameters) }
    }

    /// See ``BoltConnection/transaction(isolation:_:)``.
    public func transaction<T>(
        isolation: isolated (any Actor)? = #isolation,
        _ body: (BoltTransaction) async throws -> T
    ) async throws -> T {
        try await withConnection { connection in try await connection.transaction(body) }
    }

    /// Lets in-flight requests finish, then closes every connection. Later calls throw a
    /// ``BoltError/Code/usage`` error.
    public func shutdown() async {
        await pool.shutdown()
    }
}
