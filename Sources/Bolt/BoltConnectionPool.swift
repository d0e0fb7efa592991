import BlockingIO
import Logging
import NIOCore
import NIOPosix

/// The bookkeeping of ``BoltClient``: idle connections, how many are open, who waits for one.
///
/// A connection is checked before reuse and replaced when the server has dropped it, so a restart
/// costs at most one transient failure per connection that was mid-request.
actor BoltConnectionPool {
    private let configuration: BoltConfiguration
    private let maxConnections: Int
    private let eventLoopGroup: (any EventLoopGroup)?
    private let logger: Logger
    private var idle: [BoltConnection] = []
    private var open = 0
    private var waiters: [CheckedContinuation<Void, Never>] = []
    private var isShutDown = false
    private var drained: CheckedContinuation<Void, Never>?
    /// Recorded only when it changes: every checkin passes through ``wakeOne()``.
    private var recorded = RecordedPoolSize()
    /// `fleet_store_pool_connections{store="neo4j"}` and its waiters; call metrics are BoltClient's.
    let metrics = StoreCallMetrics(store: "neo4j") { ($0 as? BoltError)?.isTransient }

    init(
        configuration: BoltConfiguration,
        maxConnections: Int,
        eventLoopGroup: (any EventLoopGroup)?,
        logger: Logger
    ) {
        precondition(maxConnections > 0, "maxConnections must be positive")
        self.configuration = configuration
        self.maxConnections = maxConnections
        self.eventLoopGroup = eventLoopGroup
        self.logger = logger
    }

    func checkout() async throws -> BoltConnection {
        while true {
            guard !isShutDown else {
                throw BoltError(
                    code: .shutDown,
                    message: "the client is shut down",
                    address: configuration.redactedAddress
                )
            }
            if let connection = idle.popLast() {
                if await connection.isUsable { return connection }
                logger.debug("bolt connection dropped by the server; replacing it")
                await discard(connection)
                continue
            }
            if open < maxConnections {
                open += 1
                recordSize()
                do {
                    return try await connectRetryingADroppedHandshake()
                } catch {
                    open -= 1
                    wakeOne()
                    throw error
                }
            }
            await withCheckedContinuation {
                waiters.append($0)
                recordSize()
            }
        }
    }

    /// FalkorDB 4.16 now and then closes a connection it has just accepted, after the version
    /// handshake and before HELLO is answered, while it is busy elsewhere. The client then sees
    /// "I/O on closed channel", the close, or a reset (when HELLO reached the closed socket). No
    /// request was sent yet, so a connection dropped that way is tried twice more before the
    /// caller sees an error.
    private func connectRetryingADroppedHandshake() async throws -> BoltConnection {
        let group = eventLoopGroup ?? MultiThreadedEventLoopGroup.singleton
        for pause in [50, 200] {
            do {
                return try await BoltConnection.connect(configuration, eventLoopGroup: group, logger: logger)
            } catch let error as BoltError where error.droppedDuringHandshake {
                logger.debug(
                    "bolt connection dropped during its handshake; connecting again",
                    metadata: [
                        "error": "\(error.message)"
                    ]
                )
                try await Task.sleep(for: .milliseconds(pause))
            }
        }
        return try await BoltConnection.connect(configuration, eventLoopGroup: group, logger: logger)
    }

    func checkin(_ connection: BoltConnection) async {
        if !isShutDown, await connection.isUsable {
            idle.append(connection)
            wakeOne()
        } else {
            await discard(connection)
        }
    }

    /// Closes idle connections now and the others as they come back; returns when all are closed.
    func shutdown() async {
        isShutDown = true
        for waiter in waiters { waiter.resume() }
        waiters = []
        recordSize()
        let closing = idle
        idle = []
        for connection in closing { await discard(connection) }
        if open > 0 { await withCheckedContinuation { drained = $0 } }
    }

    private func discard(_ connection: BoltConnection) async {
        await connection.close()
        open -= 1
        wakeOne()
        if isShutDown, open == 0, let drained {
            self.drained = nil
            drained.resume()
        }
    }

    private func wakeOne() {
        if !waiters.isEmpty { waiters.removeFirst().resume() }
        recordSize()
    }

    private func recordSize() { recorded.update(open: open, waiting: waiters.count, to: metrics) }
}
