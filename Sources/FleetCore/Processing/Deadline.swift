import BlockingIO
import NIOConcurrencyHelpers
import Synchronization

/// Runs `body` but gives up waiting after `deadline` (throwing ``DeadlineExceeded``) or when the
/// calling task is cancelled (throwing `CancellationError`).
///
/// The body is cancelled too, and with it the store call it is blocked in: a
/// ``BlockingConnectionPool`` sends the call's cancel request (PostgreSQL) and, if the call has not
/// returned within its grace period, shuts the connection's socket down, and retires the connection.
/// A call that cannot be interrupted (MongoDB, whose server-side limit is the job's remaining time,
/// ``BlockingCallDeadline``) ends by its own timeouts, and its connection is retired too. Either way
/// its result is ignored. That is safe because handlers are idempotent: a retry of a job whose late
/// first run did commit finds its ledger record and does nothing.
///
/// Deadlines are checked by ``DeadlineWatchdog`` every ``DeadlineWatchdog/tick``, not by a timer
/// per job, which cost a task and a timer registration for every job on the hot path.
///
/// With `executors`, the body runs on a leased ``BlockingExecutor`` when one is free: its store calls
/// then run on that thread without a hand-off each. The executor is given back when the body ends,
/// not when the deadline passes: a body stuck in a blocking call keeps its thread until it returns.
///
/// With `held`, the body runs on that executor, which the caller holds for longer (a consumer at
/// concurrency 1 runs its one slot there): when the caller runs there too, the body waits in the
/// thread's queue and starts without a wake-up. A body stuck in a blocking call does not hold up the
/// caller: while the call lasts, the executor sends the caller's resumption to Swift's pool.
nonisolated(nonsending) func withDeadline<T: Sendable>(
    _ deadline: Duration,
    on executors: BlockingExecutors? = nil,
    held: BlockingExecutor? = nil,
    _ body: @escaping @Sendable () async throws -> T
) async throws -> T {
    // Store calls read it to give the server the job's remaining time.
    let ends = ContinuousClock.now + deadline
    let race = DeadlineRace(ends: ends, deadline: deadline)
    let work: Task<Void, Never>
    let bounded: @Sendable () async throws -> T = {
        try await BlockingCallDeadline.$current.withValue(ends) { try await body() }
    }
    if let held {
        work = Task(executorPreference: held) { race.finish(await Result { try await bounded() as any Sendable }) }
    } else if let executors, let executor = executors.lease() {
        work = Task(executorPreference: executor) {
            race.finish(await Result { try await bounded() as any Sendable })
            executors.giveBack(executor)
        }
    } else {
        // Immediate: the body runs on this thread up to its first suspension, not after a scheduling hop.
        work = Task.immediate { race.finish(await Result { try await bounded() as any Sendable }) }
    }
    DeadlineWatchdog.shared.watch(race)
    defer { work.cancel() }
    let value = try await withTaskCancellationHandler {
        try await withUnsafeThrowingContinuation { race.wait(with: $0) }
    } onCancel: {
        race.finish(.failure(CancellationError()))
    }
    // Only `body`'s own result is ever a success.
    return value as! T
}

/// What ``DeadlineWatchdog`` watches: a race it ends with ``DeadlineExceeded`` once due.
protocol DeadlineWatched: AnyObject, Sendable {
    var ends: ContinuousClock.Instant { get }
    /// Whether a result has won already, so the watchdog can drop it.
    var isSettled: Bool { get }
    func expire()
}

/// Ends every watched race whose deadline has passed, within one ``tick``. Its task runs only while
/// something is watched.
///
/// A race is not taken out when it settles: the next tick drops it. So a job pays one append to an
/// array for its deadline, not a dictionary insert and remove, nor a closure.
final class DeadlineWatchdog: Sendable {
    static let shared = DeadlineWatchdog()
    static let tick = Duration.milliseconds(20)

    private struct State {
        var watched: [any DeadlineWatched] = []
        var checking = false
    }

    private let state = NIOLockedValueBox(State())

    func watch(_ race: any DeadlineWatched) {
        let start = state.withLockedValue { state in
            state.watched.append(race)
            defer { state.checking = true }
            return !state.checking
        }
        if start { Task.detached { await self.check() } }
    }

    /// How many races it holds, settled ones included until the next tick (for tests).
    var watchedCount: Int { state.withLockedValue { $0.watched.count } }

    private func check() async {
        while true {
            try? await Task.sleep(for: Self.tick)
            let now = ContinuousClock.now
            let (expired, idle) = state.withLockedValue { state in
                var expired: [any DeadlineWatched] = []
                state.watched.removeAll { race in
                    if race.isSettled { return true }
                    guard race.ends <= now else { return false }
                    expired.append(race)
                    return true
                }
                // Stop under the lock: a watch that comes after this starts a new check.
                if state.watched.isEmpty { state.checking = false }
                return (expired, state.watched.isEmpty)
            }
            for race in expired { race.expire() }
            if idle { return }
        }
    }
}

/// The first result wins; it may come before or after the waiter arrives. Its lock is taken by the
/// job's two tasks and, at most once a tick, the watchdog: never contended for long, so the
/// standard library's `Mutex`, stored inline (one allocation per job, not two).
///
/// Not generic: the result travels as `any Sendable` and ``withDeadline(_:on:held:_:)`` casts it
/// back. A generic class had its metadata and its `Mutex`'s and `Result`'s looked up at run time,
/// about 15 lookups and 5,000 instructions a job (callgrind).
private final class DeadlineRace: DeadlineWatched {
    private enum State {
        case empty
        case waiting(UnsafeContinuation<any Sendable, Error>)
        case finished(Result<any Sendable, Error>)
        case delivered
    }

    let ends: ContinuousClock.Instant
    private let deadline: Duration
    private let state = Mutex<State>(.empty)

    init(ends: ContinuousClock.Instant, deadline: Duration) {
        self.ends = ends
        self.deadline = deadline
    }

    var isSettled: Bool {
        state.withLock { state in
            switch state {
            case .empty, .waiting: false
            case .finished, .delivered: true
            }
        }
    }

    func expire() {
        finish(.failure(DeadlineExceeded(deadline: deadline)))
    }

    func finish(_ result: Result<any Sendable, Error>) {
        let waiter = state.withLock { state -> UnsafeContinuation<any Sendable, Error>? in
            switch state {
            case .empty:
                state = .finished(result)
                return nil
            case .waiting(let continuation):
                state = .delivered
                return continuation
            case .finished, .delivered:
                return nil
            }
        }
        waiter?.resume(with: result)
    }

    func wait(with continuation: UnsafeContinuation<any Sendable, Error>) {
        let early = state.withLock { state -> Result<any Sendable, Error>? in
            if case .finished(let result) = state {
                state = .delivered
                return result
            }
            state = .waiting(continuation)
            return nil
        }
        if let early { continuation.resume(with: early) }
    }
}

extension Result where Failure == Error {
    init(catching body: () async throws -> Success) async {
        do { self = .success(try await body()) } catch { self = .failure(error) }
    }
}
