import NIOConcurrencyHelpers

/// Open while the broker accepts this consumer's publishes, closed while it blocks them
/// (`connection.blocked`). Jobs whose retry, dead-letter or delay copy cannot be published wait
/// here, off the worker's concurrency slots, and go on when it opens again.
final class PublishGate: Sendable {
    private struct State {
        var open = true
        var waiters: [Int: CheckedContinuation<Void, Error>] = [:]
        var nextId = 0
    }

    private let state = NIOLockedValueBox(State())

    var isOpen: Bool { state.withLockedValue { $0.open } }

    func setOpen(_ open: Bool) {
        let waiters = state.withLockedValue { state -> [CheckedContinuation<Void, Error>] in
            state.open = open
            guard open else { return [] }
            defer { state.waiters = [:] }
            return Array(state.waiters.values)
        }
        for waiter in waiters { waiter.resume() }
    }

    /// Returns once the gate is open; throws `CancellationError` when the task is cancelled first.
    func waitUntilOpen() async throws {
        let id = state.withLockedValue { state in
            defer { state.nextId += 1 }
            return state.nextId
        }
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, Error>) in
                let resumeNow: Error?? = state.withLockedValue { state in
                    if Task.isCancelled { return .some(CancellationError()) }
                    if state.open { return .some(nil) }
                    state.waiters[id] = continuation
                    return .none
                }
                switch resumeNow {
                case .some(.some(let error)): continuation.resume(throwing: error)
                case .some(.none): continuation.resume()
                case .none: break
                }
            }
        } onCancel: {
            let waiter = state.withLockedValue { $0.waiters.removeValue(forKey: id) }
            waiter?.resume(throwing: CancellationError())
        }
    }
}
