import BlockingIO
import NIOConcurrencyHelpers

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
/// concurrency 1 runs its whole loop there): when the caller runs there too, the body waits in the
/// thread's queue and starts without a wake-up. A body stuck in a blocking call does not hold up the
/// caller: while the call lasts, the executor sends the caller's resumption to Swift's pool.
func withDeadline<T: Sendable>(
    _ deadline: Duration,
    on executors: BlockingExecutors? = nil,
    held: BlockingExecutor? = nil,
    _ body: @escaping @Sendable () async throws -> T
) async throws -> T {
    let race = DeadlineRace<T>()
    let work: Task<Void, Never>
    // Store calls read it to give the server the job's remaining time.
    let ends = ContinuousClock.now + deadline
    let bounded: @Sendable () async throws -> T = {
        try await BlockingCallDeadline.$current.withValue(ends) { try await body() }
    }
    if let held {
        work = Task(executorPreference: held) { race.finish(await Result { try await bounded() }) }
    } else if let executors, let executor = executors.lease() {
        work = Task(executorPreference: executor) {
            race.finish(await Result { try await bounded() })
            executors.giveBack(executor)
        }
    } else {
        // Immediate: the body runs on this thread up to its first suspension, not after a scheduling hop.
        work = Task.immediate { race.finish(await Result { try await bounded() }) }
    }
    let watch = DeadlineWatchdog.shared.watch(until: ends) {
        race.finish(.failure(DeadlineExceeded(deadline: deadline)))
    }
    defer {
        work.cancel()
        DeadlineWatchdog.shared.forget(watch)
    }
    return try await withTaskCancellationHandler {
        try await withCheckedThrowingContinuation { race.wait(with: $0) }
    } onCancel: {
        race.finish(.failure(CancellationError()))
    }
}

/// Calls the expiry action of every watched deadline that has passed, within one ``tick``. Its
/// task runs only while something is watched.
final class DeadlineWatchdog: Sendable {
    static let shared = DeadlineWatchdog()
    static let tick = Duration.milliseconds(20)

    private struct Watched {
        var until: ContinuousClock.Instant
        var onExpiry: @Sendable () -> Void
    }

    private struct State {
        var watched: [UInt64: Watched] = [:]
        var nextID: UInt64 = 0
        var checking = false
    }

    private let state = NIOLockedValueBox(State())

    func watch(until: ContinuousClock.Instant, onExpiry: @escaping @Sendable () -> Void) -> UInt64 {
        let (id, start) = state.withLockedValue { state in
            state.nextID += 1
            state.watched[state.nextID] = Watched(until: until, onExpiry: onExpiry)
            defer { state.checking = true }
            return (state.nextID, !state.checking)
        }
        if start { Task.detached { await self.check() } }
        return id
    }

    func forget(_ id: UInt64) {
        _ = state.withLockedValue { $0.watched.removeValue(forKey: id) }
    }

    private func check() async {
        while true {
            try? await Task.sleep(for: Self.tick)
            let now = ContinuousClock.now
            let (expired, idle) = state.withLockedValue { state in
                let expired = state.watched.filter { $0.value.until <= now }
                for id in expired.keys { state.watched[id] = nil }
                // Stop under the lock: a watch that comes after this starts a new check.
                if state.watched.isEmpty { state.checking = false }
                return (expired.values.map(\.onExpiry), state.watched.isEmpty)
            }
            for onExpiry in expired { onExpiry() }
            if idle { return }
        }
    }
}

/// The first result wins; it may come before or after the waiter arrives.
private final class DeadlineRace<T: Sendable>: Sendable {
    private enum State {
        case empty
        case waiting(CheckedContinuation<T, Error>)
        case finished(Result<T, Error>)
        case delivered
    }

    private let state = NIOLockedValueBox<State>(.empty)

    func finish(_ result: Result<T, Error>) {
        let waiter = state.withLockedValue { state -> CheckedContinuation<T, Error>? in
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

    func wait(with continuation: CheckedContinuation<T, Error>) {
        let early = state.withLockedValue { state -> Result<T, Error>? in
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
