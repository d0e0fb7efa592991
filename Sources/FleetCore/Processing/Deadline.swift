import Synchronization

/// Runs `body` but gives up waiting after `deadline` (throwing ``DeadlineExceeded``) or when the
/// calling task is cancelled (throwing `CancellationError`).
///
/// The body is cancelled too, but a blocking store call inside it may only notice when it returns;
/// its result is then ignored. That is safe because handlers are idempotent: a retry of a job whose
/// late first run did commit finds its ledger record and does nothing.
func withDeadline<T: Sendable>(_ deadline: Duration, _ body: @escaping @Sendable () async throws -> T) async throws -> T
{
    let race = DeadlineRace<T>()
    let work = Task { race.finish(await Result { try await body() }) }
    let timer = Task {
        try? await Task.sleep(for: deadline)
        if !Task.isCancelled { race.finish(.failure(DeadlineExceeded(deadline: deadline))) }
    }
    defer {
        work.cancel()
        timer.cancel()
    }
    return try await withTaskCancellationHandler {
        try await withCheckedThrowingContinuation { race.wait(with: $0) }
    } onCancel: {
        race.finish(.failure(CancellationError()))
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

    private let state = Mutex<State>(.empty)

    func finish(_ result: Result<T, Error>) {
        let waiter = state.withLock { state -> CheckedContinuation<T, Error>? in
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
        let early = state.withLock { state -> Result<T, Error>? in
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
