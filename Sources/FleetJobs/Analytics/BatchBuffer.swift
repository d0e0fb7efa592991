import Logging
import NIOConcurrencyHelpers

/// A process-wide buffer of rows for one table, written in batches by `write` as ``FlushPolicy``
/// says: one batch at a time, the rows that arrive meanwhile forming the next.
///
/// Two ways in:
/// - ``submit(_:)`` waits until the batch holding the rows is written, and throws that batch's
///   error: every caller in a failed batch fails (the analytics job, so its delivery is not acked).
/// - ``offer(_:)`` returns at once; when ``capacity`` rows already wait, the row is dropped and
///   counted in ``dropped`` instead (performance metrics, which must never slow or block a job).
///   Offered rows of a failed batch are dropped and counted too.
public final class BatchBuffer<Row: Sendable>: Sendable {
    public typealias Write = @Sendable ([Row]) async throws -> Void

    private struct State {
        var rows: [Row] = []
        var waiters: [CheckedContinuation<Void, any Error>] = []
        var oldest: ContinuousClock.Instant?
        var flushing = false
        var timerArmed = false
        /// For the policy's pause (``FlushPolicy/hold(sinceLastRow:sinceDue:)``): when the last row came.
        var lastRowAt: ContinuousClock.Instant?
        /// Calls of ``drain()`` under way: batches are then written without a hold.
        var draining = 0
        var dropped = 0
        var failing = false
    }

    public let policy: FlushPolicy
    /// The most rows ``offer(_:)`` lets wait; ``submit(_:)`` is not limited (its callers wait, and the
    /// consumer's prefetch bounds them).
    public let capacity: Int
    private let write: Write
    private let logger: Logger
    private let state = NIOLockedValueBox(State())

    public init(policy: FlushPolicy, capacity: Int = 100_000, logger: Logger, write: @escaping Write) {
        self.policy = policy
        self.capacity = max(1, capacity)
        self.logger = logger
        self.write = write
    }

    /// Rows dropped so far by ``offer(_:)`` (buffer full, or their batch failed).
    public var dropped: Int { state.withLockedValue { $0.dropped } }

    /// Rows waiting now.
    public var pending: Int { state.withLockedValue { $0.rows.count } }

    /// Adds `rows` and returns once the batch holding them is written; throws its error.
    public func submit(_ rows: [Row]) async throws {
        guard !rows.isEmpty else { return }
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            let step = state.withLockedValue { state in
                if state.oldest == nil { state.oldest = .now }
                state.rows += rows
                state.waiters.append(continuation)
                return nextStep(&state)
            }
            perform(step)
        }
    }

    /// Adds `row` without waiting; false (and counted in ``dropped``) when the buffer is full.
    @discardableResult
    public func offer(_ row: Row) -> Bool {
        // One lock round and no array of its own per offer: this runs on every finished job.
        let step = state.withLockedValue { state -> Step? in
            guard state.rows.count < capacity else {
                state.dropped += 1
                return nil
            }
            if state.oldest == nil { state.oldest = .now }
            if policy.pause > .zero { state.lastRowAt = .now }
            state.rows.append(row)
            return nextStep(&state)
        }
        guard let step else { return false }
        perform(step)
        return true
    }

    /// Writes whatever waits now, whatever the policy says, and returns once nothing waits or is
    /// being written (at most 50 rounds): for a clean shutdown.
    public func drain() async {
        state.withLockedValue { $0.draining += 1 }
        defer { state.withLockedValue { $0.draining -= 1 } }
        for _ in 0..<50 {
            let idle = state.withLockedValue { !$0.flushing && $0.rows.isEmpty }
            if idle { return }
            startFlushIfIdle()
            try? await Task.sleep(for: .milliseconds(20))
        }
    }

    private func startFlushIfIdle() {
        let batch = state.withLockedValue { state -> ([Row], [CheckedContinuation<Void, any Error>])? in
            guard !state.flushing, !state.rows.isEmpty else { return nil }
            return takeBatch(&state)
        }
        if let (rows, waiters) = batch { Task.detached { await self.flush(rows, waiters: waiters) } }
    }

    /// Under the lock: hands the waiting rows and their jobs to a flush, and empties the buffer.
    private func takeBatch(_ state: inout State) -> ([Row], [CheckedContinuation<Void, any Error>]) {
        state.flushing = true
        defer {
            state.rows = []
            state.waiters = []
            state.oldest = nil
        }
        return (state.rows, state.waiters)
    }

    /// Starts a flush, or arms the timer for the oldest row's age, as the policy says.
    private enum Step {
        case none
        case flush([Row], [CheckedContinuation<Void, any Error>])
        case arm(Duration)
    }

    private func advance() {
        perform(state.withLockedValue { nextStep(&$0) })
    }

    /// Under the lock: what the policy says now.
    private func nextStep(_ state: inout State) -> Step {
        guard !state.flushing, !state.rows.isEmpty else { return .none }
        // An armed timer already covers the age: only the row count can make the batch due sooner.
        if state.timerArmed && state.rows.count < policy.maxRows { return .none }
        let age = state.oldest.map { ContinuousClock.now - $0 }
        switch policy.decide(rows: state.rows.count, oldestAge: age) {
        case .idle:
            return .none
        case .flushNow:
            let (rows, waiters) = takeBatch(&state)
            return .flush(rows, waiters)
        case .wait(let wait):
            guard !state.timerArmed else { return .none }
            state.timerArmed = true
            return .arm(wait)
        }
    }

    private func perform(_ step: Step) {
        switch step {
        case .none:
            break
        case .arm(let wait):
            // Detached: a batch belongs to many jobs, so it must not inherit the task-locals (trace span,
            // deadline) of the one job whose row happened to start it.
            Task.detached {
                try? await Task.sleep(for: wait)
                self.state.withLockedValue { $0.timerArmed = false }
                self.advance()
            }
        case .flush(let rows, let waiters):
            let taken = ContinuousClock.now
            Task.detached {
                await self.holdForAPause(rows: waiters.isEmpty, since: taken)
                await self.flush(rows, waiters: waiters)
            }
        }
    }

    /// Before writing a batch nobody waits for: sleeps until the policy's pause between rows (those
    /// that come meanwhile form the next batch), at most its `maxHold`. The batch is taken first, so
    /// that it does not grow meanwhile (it did, holding 100 ms made A's batches twice as large).
    private func holdForAPause(rows nobodyWaits: Bool, since due: ContinuousClock.Instant) async {
        guard nobodyWaits, policy.pause > .zero else { return }
        while true {
            let (lastRow, draining) = state.withLockedValue { ($0.lastRowAt ?? due, $0.draining > 0) }
            if draining { return }
            let now = ContinuousClock.now
            guard let wait = policy.hold(sinceLastRow: now - lastRow, sinceDue: now - due) else { return }
            try? await Task.sleep(for: wait)
        }
    }

    private func flush(_ rows: [Row], waiters: [CheckedContinuation<Void, any Error>]) async {
        let result: Result<Void, any Error>
        do {
            try await write(rows)
            result = .success(())
        } catch {
            result = .failure(error)
        }
        let firstFailure = state.withLockedValue { state -> Bool in
            state.flushing = false
            switch result {
            case .success:
                state.failing = false
                return false
            case .failure:
                if waiters.isEmpty { state.dropped += rows.count }
                defer { state.failing = true }
                return !state.failing
            }
        }
        if case .failure(let error) = result, firstFailure {
            // Once per run of failures: a server that is down would otherwise log every flush.
            logger.warning(
                "batch write failed",
                metadata: ["rows": "\(rows.count)", "error": "\(error)", "waiting_jobs": "\(waiters.count)"]
            )
        }
        for waiter in waiters { waiter.resume(with: result) }
        advance()
    }
}
