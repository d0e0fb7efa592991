import NIOConcurrencyHelpers
import NIOPosix

/// A connection to a server through a blocking C library (libpq, hiredis).
///
/// Such connections are not thread-safe: the pool hands each one to a single thread at a time.
public protocol BlockingConnection: AnyObject, Sendable {
    /// False once the connection is known to be broken; the pool then closes and replaces it.
    var isUsable: Bool { get }
    /// Frees the C handle. Called exactly once, by the pool.
    func close()
    /// How to stop a call in progress on this connection from another thread; nil when the
    /// library offers no way (the default). Asked at the start of every call: make it once.
    func makeInterrupter() -> (any BlockingCallInterrupter)?
}

extension BlockingConnection {
    public func makeInterrupter() -> (any BlockingCallInterrupter)? { nil }
}

/// Errors of the pool itself, as opposed to the errors of the server behind it.
public struct BlockingPoolError: Error, CustomStringConvertible {
    public let description: String
    public static let shutDown = BlockingPoolError(description: "connection pool is shut down")
}

/// A bounded pool of blocking connections, each used on a thread of the pool's own `NIOThreadPool`.
///
/// The pool owns one thread per connection, so a caller that gets a connection also gets a thread:
/// no thread ever blocks waiting for a connection, and no blocking call runs on Swift's cooperative
/// pool. Callers wait for a free connection by suspending, not by blocking.
public final class BlockingConnectionPool<Connection: BlockingConnection>: Sendable {
    public let maxConnections: Int
    /// How long an interrupted call may take to stop after its cancel request before its socket is
    /// shut down (``BlockingCallInterrupter/forceReturn()``).
    public let interruptGrace: Duration
    private let threadPool: NIOThreadPool
    private let connect: @Sendable () throws -> Connection
    private let ledger: PoolLedger
    /// Call latency, store errors and pool size; nil: not measured.
    public let metrics: StoreCallMetrics?

    /// - Parameters:
    ///   - maxConnections: the most connections open at once, and the number of threads.
    ///   - interruptGrace: how long a cancelled call may take to stop before it is forced to.
    ///   - metrics: the store's call metrics, recorded for every ``withConnection(_:)``.
    ///   - connect: opens one connection; runs on a pool thread and may block.
    public init(
        maxConnections: Int,
        interruptGrace: Duration = .seconds(2),
        metrics: StoreCallMetrics? = nil,
        connect: @escaping @Sendable () throws -> Connection
    ) {
        self.metrics = metrics
        precondition(maxConnections > 0, "a pool needs at least one connection")
        self.maxConnections = maxConnections
        self.interruptGrace = interruptGrace
        self.connect = connect
        self.ledger = PoolLedger(maxConnections: maxConnections, metrics: metrics)
        // Started on first use: every worker process has a client for every store, and most use
        // two or three of them.
        self.threadPool = NIOThreadPool(numberOfThreads: maxConnections)
    }

    /// Runs `body` with a connection, on a pool thread. `body` may block.
    ///
    /// A connection that `body` leaves unusable (see ``BlockingConnection/isUsable``) is closed and
    /// the next caller opens a fresh one: that is how the pool reconnects after a server restart.
    ///
    /// On the thread of a ``BlockingExecutor`` (a job that prefers one), `body` runs right there:
    /// that thread may block, and the hand-off to a pool thread and back would cost two thread
    /// wake-ups per call. The pool's own threads start only when some caller is elsewhere.
    ///
    /// Cancelling the calling task (a job's deadline does) interrupts the call in progress: the
    /// connection's ``BlockingCallInterrupter`` asks the server to stop it at once and, if `body` has
    /// not returned after ``interruptGrace``, shuts the connection's socket down. The connection of an
    /// interrupted call is closed afterwards, never reused. Opening a connection is not interrupted:
    /// the store's connect timeout bounds it. A body that has not started when its caller is
    /// cancelled does not run (`CancellationError`).
    ///
    /// `nonisolated(nonsending)`, as are the lock, client and job functions around it: it runs on
    /// its caller's executor. A plain nonisolated async function switched to the generic executor on
    /// entry, and a job's task (which prefers its executor) paid the runtime's check each time:
    /// about 30 switches of 240 instructions a lock-and-upsert job (callgrind). So do not call it
    /// from an actor in a task that prefers a ``BlockingExecutor``: the store call would run inline
    /// there and hold the actor for its whole length (no code of the fleet does).
    nonisolated(nonsending) public func withConnection<T: Sendable>(
        _ body: @escaping @Sendable (Connection) throws -> T
    ) async throws -> T {
        // Begin and end here rather than through `metrics.measure`: one async frame less per call.
        guard let metrics else { return try await leaseAndRun(body) }
        let call = metrics.begin()
        do {
            let result = try await leaseAndRun(body)
            metrics.end(call, error: nil)
            return result
        } catch {
            metrics.end(call, error: error)
            throw error
        }
    }

    nonisolated(nonsending) private func leaseAndRun<T: Sendable>(
        _ body: @escaping @Sendable (Connection) throws -> T
    ) async throws -> T {
        let leased = try await ledger.acquire().map { unsafeDowncast($0 as AnyObject, to: Connection.self) }
        let call = InterruptibleCall()
        // Cancelling the caller (a job's deadline, or a caller that gives up) interrupts the call
        // in progress: its connection's interrupter asks the server to stop, then forces the call
        // to return, and the connection is retired instead of reused.
        return try await withTaskCancellationHandler {
            if BlockingExecutor.isCurrentThread {
                return try runInline(leased, call, body)
            }
            return try await runOnPoolThread(leased, call, body)
        } onCancel: {
            call.interrupt(grace: interruptGrace)
        }
    }

    private func runOnPoolThread<T: Sendable>(
        _ leased: Connection?,
        _ call: InterruptibleCall,
        _ body: @escaping @Sendable (Connection) throws -> T
    ) async throws -> T {
        ledger.startThreadsOnce { threadPool.start() }
        let deadline = BlockingCallDeadline.current
        let outcome: Result<T, Error>
        do {
            outcome = try await threadPool.runIfActive { () -> Result<T, Error> in
                let connection: Connection
                do {
                    connection = try leased ?? self.connect()
                } catch {
                    self.returnSlot(nil)
                    return .failure(error)
                }
                // The job's deadline, for code on this thread (task-locals do not cross threads by themselves).
                return Result {
                    try self.run(on: connection, call) {
                        try BlockingCallDeadline.$current.withValue(deadline) { try body(connection) }
                    }
                }
            }
        } catch {
            // The thread pool refused the work (it is shutting down, or the task was cancelled): the
            // closure never ran. NIO reports work dropped by its shutdown as a CancellationError, which
            // would mislead a caller that was never cancelled: report the pool's shutdown instead.
            returnSlot(leased)
            if !Task.isCancelled && ledger.isShutDown { throw BlockingPoolError.shutDown }
            throw error
        }
        return try outcome.get()
    }

    /// `withConnection` on a thread that may block: the same bookkeeping, no hand-off.
    private func runInline<T>(
        _ leased: Connection?,
        _ call: InterruptibleCall,
        _ body: (Connection) throws -> T
    ) throws -> T {
        // As the thread pool does: a cancelled caller's work does not start (a lock release that
        // must run anyway catches this CancellationError and retries from a fresh task).
        if Task.isCancelled {
            returnSlot(leased)
            throw CancellationError()
        }
        // Tasks waiting for this thread meanwhile run on Swift's pool (one whose deadline passed
        // must not wait for a call that hangs).
        return try BlockingExecutor.blockingCall {
            let connection: Connection
            do {
                connection = try leased ?? connect()
            } catch {
                returnSlot(nil)
                throw error
            }
            return try run(on: connection, call) { try body(connection) }
        }
    }

    /// Runs `body` as one interruptible call and gives the connection back (retired if interrupted).
    /// Throws rather than returning a `Result`: this code is generic and not specialised for its
    /// callers in other modules, and each `Result<T, Error>` it made looked its metadata up at run
    /// time (about 2,400 instructions a lock-and-upsert job, callgrind).
    private func run<T>(
        on connection: Connection,
        _ call: InterruptibleCall,
        _ invoke: () throws -> T
    ) throws -> T {
        guard call.begin(connection.makeInterrupter()) else {
            _ = call.finish()
            release(connection)
            throw CancellationError()
        }
        defer { release(connection, retire: call.finish()) }
        return try invoke()
    }

    /// Closes idle connections and stops the threads. In-flight callers finish first.
    public func shutdown() async {
        ledger.shutDown { $0.close() }
        try? await threadPool.shutdownGracefully()
    }

    private func release(_ connection: Connection, retire: Bool = false) {
        ledger.giveBack(connection, reusable: !retire && connection.isUsable) { $0.close() }
    }

    /// Gives back a slot whose closure never ran or whose connect failed.
    private func returnSlot(_ leased: Connection?) {
        ledger.giveBack(leased, reusable: true) { $0.close() }
    }
}

/// A pool's leasing bookkeeping: idle connections, how many are open, and who waits for one.
///
/// Not generic, unlike the pool: the pool's callers are in other modules, where generic code that
/// is not specialised looked up its types' metadata at every lock (profiled at concurrency 1: the
/// pool's bookkeeping was about a tenth of a worker's CPU). Connections are kept as existentials.
final class PoolLedger: Sendable {
    private struct State {
        var idle: [any BlockingConnection] = []
        var open = 0
        var waiters: [CheckedContinuation<Void, Never>] = []
        var isShutDown = false
        var threadsStarted = false
        var recorded = RecordedPoolSize()

        /// `fleet_store_pool_connections` and `fleet_store_pool_waiters`, when measured and changed
        /// since last recorded.
        mutating func recordSize(to metrics: StoreCallMetrics?) {
            recorded.update(open: open, waiting: waiters.count, to: metrics)
        }
    }

    /// What `acquire` does next.
    private enum Decision {
        case reuse(any BlockingConnection)
        case connect, wait, shutDown
    }

    private let maxConnections: Int
    private let metrics: StoreCallMetrics?
    private let state = NIOLockedValueBox(State())

    init(maxConnections: Int, metrics: StoreCallMetrics?) {
        self.maxConnections = maxConnections
        self.metrics = metrics
    }

    var isShutDown: Bool { state.withLockedValue { $0.isShutDown } }

    /// Runs `start` once, under the lock, so no caller runs work on threads still starting, and
    /// none start after shutdown.
    func startThreadsOnce(_ start: () -> Void) {
        state.withLockedValue { state in
            guard !state.threadsStarted && !state.isShutDown else { return }
            state.threadsStarted = true
            start()
        }
    }

    /// Returns an idle connection, or nil when the caller holds a fresh slot and must connect.
    nonisolated(nonsending) func acquire() async throws -> (any BlockingConnection)? {
        while true {
            let decision = state.withLockedValue { state -> Decision in
                if state.isShutDown { return .shutDown }
                if let connection = state.idle.popLast() { return .reuse(connection) }
                if state.open < maxConnections {
                    state.open += 1
                    state.recordSize(to: metrics)
                    return .connect
                }
                return .wait
            }
            switch decision {
            case .reuse(let connection): return connection
            case .connect: return nil
            case .shutDown: throw BlockingPoolError.shutDown
            case .wait:
                await withCheckedContinuation { continuation in
                    let resumeNow = state.withLockedValue { state -> Bool in
                        // Re-check under the lock: a release may have happened in between.
                        if state.isShutDown || !state.idle.isEmpty || state.open < maxConnections { return true }
                        state.waiters.append(continuation)
                        state.recordSize(to: metrics)
                        return false
                    }
                    if resumeNow { continuation.resume() }
                }
            }
        }
    }

    /// Gives a slot back: parks `connection` when it is `reusable` and the pool is not shut down;
    /// otherwise frees the slot and closes `connection`, if any, with `close` (once it is idle,
    /// `shutDown` owns closing it; after shutdown nobody else would, and it would leak). A waiter is
    /// woken after the close: it may open a connection in the slot, and the pool never holds more
    /// than its maximum open at once.
    func giveBack(
        _ connection: (any BlockingConnection)?,
        reusable: Bool,
        closing close: (any BlockingConnection) -> Void
    ) {
        // Decide under the same lock that parks the connection: checking `isShutDown` again later
        // could close a connection that `shutDown` closes too.
        let (waiter, orphan) = state.withLockedValue {
            state -> (CheckedContinuation<Void, Never>?, (any BlockingConnection)?) in
            var orphan: (any BlockingConnection)?
            if let connection, reusable, !state.isShutDown {
                state.idle.append(connection)
            } else {
                state.open -= 1
                orphan = connection
            }
            defer { state.recordSize(to: metrics) }
            return (state.waiters.isEmpty ? nil : state.waiters.removeFirst(), orphan)
        }
        if let orphan { close(orphan) }
        waiter?.resume()
    }

    /// Marks the pool shut down, closes the idle connections with `close`, then wakes every waiter.
    func shutDown(closing close: (any BlockingConnection) -> Void) {
        let (idle, waiters) = state.withLockedValue {
            state -> ([any BlockingConnection], [CheckedContinuation<Void, Never>]) in
            state.isShutDown = true
            defer {
                state.open -= state.idle.count
                state.idle = []
                state.waiters = []
                state.recordSize(to: metrics)
            }
            return (state.idle, state.waiters)
        }
        for connection in idle { close(connection) }
        for waiter in waiters { waiter.resume() }
    }
}
