import NIOConcurrencyHelpers
import NIOCore
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// Runs tasks on an ``AMQPClient``'s connection thread, between its passes over the socket: a
/// consumer whose slots prefer it reads a delivery, runs its job and queues the ack on one thread,
/// as the C consumer does, instead of handing each delivery to Swift's pool and its ack back.
///
/// Why: on the no-op drain about half of the worker's CPU went to those hand-offs (pool tasks
/// resumed, threads parked and woken by the kernel), not to the jobs (README, "What the passes say").
///
/// Each pass runs the jobs queued when it starts; those they enqueue wait for the next pass, so the
/// socket (deliveries in, acks out) gets its turn between them. A job is only as long as the code
/// between two suspensions: a task that does CPU work or blocks there holds up the connection,
/// so only consumers whose jobs never block use it (``AMQPClient/executor``).
///
/// While the thread is not serving a connection (connecting, waiting to reconnect, exited), or waits
/// for a broker's reply (cancelling a consumer, looking for a missing queue), tasks that would run
/// here run on Swift's global executor, those already queued too, so that no task waits for a
/// broker to come back or to answer.
public final class ConnectionThreadExecutor: TaskExecutor, Sendable {
    private struct State {
        var jobs = CircularBuffer<UnownedJob>(initialCapacity: 64)
        /// The thread serves a connection and runs the queue between its passes.
        var attended = false
        /// The thread sleeps in `poll`: a job enqueued now must wake it.
        var threadAsleep = false
        /// Tasks that stepped aside for a pass (``waitForNextPass()``), resumed when the next begins.
        var waitingForPass: [UnsafeContinuation<Void, Never>] = []
    }

    private let state = NIOLockedValueBox(State())
    /// Wakes the connection thread's `poll` (the client's eventfd).
    private let wakeThread: @Sendable () -> Void
    /// A job queued a command that asked for the thread's pass (an ack that fills a batch or settles
    /// every delivery, a reject): ``AMQPClient/yieldToConnection()``.
    private let turnWanted = Atomic<Bool>(false)
    /// The connection thread (`pthread_self`), 0 until it starts.
    private let thread = Atomic<UInt>(0)
    /// Mirrors `State.attended`, for ``runsElsewhere`` without the lock.
    private let serving = Atomic<Bool>(false)

    init(wakeThread: @escaping @Sendable () -> Void) {
        self.wakeThread = wakeThread
    }

    public func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        switch arrive({ $0.jobs.append(job) }) {
        case .queued: break
        case .wake: wakeThread()
        case .notServing: globalConcurrentExecutor.enqueue(job)
        }
    }

    private enum Arrival { case queued, wake, notServing }

    /// Under the lock: while the thread serves, lets `add` queue something for its next pass and
    /// says whether the thread must be woken for it (it sleeps); otherwise adds nothing.
    private func arrive(_ add: (inout State) -> Void) -> Arrival {
        state.withLockedValue { state in
            guard state.attended else { return .notServing }
            add(&state)
            guard state.threadAsleep else { return .queued }
            state.threadAsleep = false
            return .wake
        }
    }

    /// Whether the caller runs on the connection thread.
    public var isCurrentThread: Bool { thread.load(ordering: .relaxed) == UInt(pthread_self()) }

    /// Asks the job running now to let the thread take its pass (see ``turnRequested``).
    func requestTurn() { turnWanted.store(true, ordering: .relaxed) }

    /// Whether a job running here should suspend so the thread can take a pass.
    var turnRequested: Bool { turnWanted.load(ordering: .relaxed) && isCurrentThread }

    /// Whether the thread serves a connection but the caller runs elsewhere: a task that prefers
    /// this executor keeps running where it is until it suspends, so one that started while the
    /// thread did not serve (before the first connection, after a lost one) and never waits for a
    /// delivery would stay on Swift's pool.
    var runsElsewhere: Bool { serving.load(ordering: .relaxed) && !isCurrentThread }

    // MARK: - On the connection thread

    /// The thread starts serving a connection: tasks run here from now on.
    func attend() {
        thread.store(UInt(pthread_self()), ordering: .relaxed)
        state.withLockedValue { $0.attended = true }
        serving.store(true, ordering: .relaxed)
    }

    /// The thread ended: its id may be reused by a new thread.
    func threadEnded() {
        thread.store(0, ordering: .relaxed)
    }

    /// The thread stops serving: what is queued, and what comes later, runs on the global executor.
    func leave() {
        serving.store(false, ordering: .relaxed)
        let (queued, waiting) = state.withLockedValue { state in
            state.attended = false
            state.threadAsleep = false
            defer {
                state.jobs.removeAll()
                state.waitingForPass = []
            }
            return (state.jobs, state.waitingForPass)
        }
        for job in queued { globalConcurrentExecutor.enqueue(job) }
        for continuation in waiting { continuation.resume() }
    }

    /// Suspends the calling task until the thread's next pass begins (at once when the thread does
    /// not serve); a task that prefers this executor then runs on the thread. `Task.yield()` would
    /// not do: it sends the task to the global executor.
    func waitForNextPass() async {
        await withUnsafeContinuation { (continuation: UnsafeContinuation<Void, Never>) in
            switch arrive({ $0.waitingForPass.append(continuation) }) {
            case .queued: break
            case .wake: wakeThread()
            case .notServing: continuation.resume()
            }
        }
    }

    /// Runs the jobs queued now, not those they enqueue; first resumes the tasks that waited for
    /// this pass, which run in it.
    func runQueued() {
        turnWanted.store(false, ordering: .relaxed)
        let waiting = state.withLockedValue { state -> [UnsafeContinuation<Void, Never>] in
            guard !state.waitingForPass.isEmpty else { return [] }
            defer { state.waitingForPass = [] }
            return state.waitingForPass
        }
        for continuation in waiting { continuation.resume() }
        var remaining = state.withLockedValue { $0.jobs.count }
        while remaining > 0, let job = state.withLockedValue({ $0.jobs.popFirst() }) {
            remaining -= 1
            job.runSynchronously(on: asUnownedTaskExecutor())
        }
    }

    /// Before the thread sleeps: false (do not sleep) when jobs wait, or tasks wait for the next
    /// pass; otherwise a job enqueued from now on wakes it.
    func maySleep() -> Bool {
        state.withLockedValue { state in
            guard state.jobs.isEmpty, state.waitingForPass.isEmpty else { return false }
            state.threadAsleep = true
            return true
        }
    }

    /// The thread woke up.
    func woke() {
        state.withLockedValue { $0.threadAsleep = false }
    }
}
