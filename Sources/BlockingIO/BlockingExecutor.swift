import NIOConcurrencyHelpers
import NIOCore
import NIOPosix

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A task executor backed by one thread that may block: a job whose tasks prefer it runs its
/// async code there, and ``BlockingConnectionPool`` runs its store calls right there too, instead
/// of handing each call to a pool thread and back.
///
/// Why: a job of lock, upsert and release made three such round trips, each two thread wake-ups
/// (measured at concurrency 1: about 19 context switches per job against the C writer's 5, and
/// most of the worker's CPU in the scheduler). On this thread the job makes one hop in and one out,
/// or none when the consumer's one slot runs here (concurrency 1, ``QueueConsumer``).
///
/// While its thread is inside a blocking call (``blockingCall(_:)``), tasks that would run here run
/// on Swift's global executor instead, and so do those already waiting: a store call that hangs
/// until its job's deadline never holds up another task, such as the job's own settlement once the
/// deadline has passed. They come back here at their next suspension once the call returned.
///
/// A blocking call still holds the thread, so lease it to one job at a time (``BlockingExecutors``).
/// Its thread starts on first use.
public final class BlockingExecutor: TaskExecutor, Sendable {
    private struct RunQueue {
        var jobs = CircularBuffer<UnownedJob>()
        /// A drain of `jobs` is submitted to the thread or running there.
        var draining = false
        /// Blocking calls in progress on the thread (nested ones count too): while above zero, jobs
        /// go to the global executor.
        var blocking = 0
    }

    private let thread = NIOThreadPool(numberOfThreads: 1)
    private let started = NIOLockedValueBox(false)
    private let runQueue = NIOLockedValueBox(RunQueue())

    public init() {}

    public func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        // One submission to the thread pool per busy stretch, not per job: a job enqueued while the
        // thread runs (a job's body, or its task resuming after the body) costs no wake-up.
        let submit = runQueue.withLockedValue { queue -> Bool? in
            if queue.blocking > 0 { return nil }
            queue.jobs.append(job)
            defer { queue.draining = true }
            return !queue.draining
        }
        switch submit {
        case nil:
            globalConcurrentExecutor.enqueue(job)
        case true?:
            startOnce()
            thread.submit { state in
                // Shut down: a job must still run, or its task would never finish.
                guard case .active = state else { return self.drain(elsewhere: true) }
                Self.markCurrentThread(self)
                self.drain(elsewhere: false)
            }
        case false?:
            break
        }
    }

    /// Runs the queued jobs until none is left (or hands them to the global executor).
    private func drain(elsewhere: Bool) {
        while true {
            let next = runQueue.withLockedValue { queue -> UnownedJob? in
                guard let job = queue.jobs.popFirst() else {
                    queue.draining = false
                    return nil
                }
                return job
            }
            guard let next else { return }
            if elsewhere {
                globalConcurrentExecutor.enqueue(next)
            } else {
                next.runSynchronously(on: asUnownedTaskExecutor())
            }
        }
    }

    /// Waits for what runs on the thread, then stops it.
    public func shutdown() async {
        let wasStarted = started.withLockedValue { started in
            defer { started = true }  // no start after this
            return started
        }
        if wasStarted { try? await thread.shutdownGracefully() }
    }

    private func startOnce() {
        let start = started.withLockedValue { started in
            defer { started = true }
            return !started
        }
        if start { thread.start() }
    }

    // MARK: - Which threads may block

    /// True on the thread of a ``BlockingExecutor``: code there may block, and pools run their
    /// bodies inline.
    public static var isCurrentThread: Bool { pthread_getspecific(threadKey) != nil }

    /// Runs `body`, which may block, on this thread. On a ``BlockingExecutor``'s thread, tasks
    /// waiting to run there, and those enqueued before `body` returns, run on the global executor.
    public static func blockingCall<T>(_ body: () throws -> T) rethrows -> T {
        guard let raw = pthread_getspecific(threadKey) else { return try body() }
        let executor = Unmanaged<BlockingExecutor>.fromOpaque(raw).takeUnretainedValue()
        // Usually nothing waits: then no copy of the queue (removing all from a copied buffer
        // allocated a new one on every store call).
        let waiting = executor.runQueue.withLockedValue { queue -> CircularBuffer<UnownedJob>? in
            queue.blocking += 1
            guard !queue.jobs.isEmpty else { return nil }
            defer { queue.jobs = CircularBuffer(initialCapacity: queue.jobs.count) }
            return queue.jobs
        }
        if let waiting { for job in waiting { globalConcurrentExecutor.enqueue(job) } }
        defer { executor.runQueue.withLockedValue { $0.blocking -= 1 } }
        return try body()
    }

    /// The thread belongs to the executor, which outlives it (``shutdown()`` stops the thread).
    private static func markCurrentThread(_ executor: BlockingExecutor) {
        if pthread_getspecific(threadKey) == nil {
            pthread_setspecific(threadKey, Unmanaged.passUnretained(executor).toOpaque())
        }
    }

    private static let threadKey: pthread_key_t = {
        var key = pthread_key_t()
        precondition(pthread_key_create(&key, nil) == 0, "pthread_key_create failed")
        return key
    }()
}

/// Up to `limit` ``BlockingExecutor``s, each leased to one job at a time and created on first need.
///
/// A job whose deadline passed while its thread is stuck in a store call keeps its executor until
/// the call returns; meanwhile ``lease()`` may find none free and returns nil, and that job runs
/// on Swift's pool, its store calls on the pools' threads, as before.
public final class BlockingExecutors: Sendable {
    private struct State {
        var idle: [BlockingExecutor] = []
        var all: [BlockingExecutor] = []
        var isShutDown = false
    }

    public let limit: Int
    private let state = NIOLockedValueBox(State())

    public init(limit: Int) {
        self.limit = max(0, limit)
    }

    /// An executor for one job, or nil when all `limit` are leased (or after shutdown).
    public func lease() -> BlockingExecutor? {
        state.withLockedValue { state in
            if state.isShutDown { return nil }
            if let executor = state.idle.popLast() { return executor }
            guard state.all.count < limit else { return nil }
            let executor = BlockingExecutor()
            state.all.append(executor)
            return executor
        }
    }

    /// Gives back an executor once no task of its job runs on it any more.
    public func giveBack(_ executor: BlockingExecutor) {
        state.withLockedValue { state in state.idle.append(executor) }
    }

    /// Stops every thread, after what runs on them.
    public func shutdown() async {
        let all = state.withLockedValue { state in
            state.isShutDown = true
            return state.all
        }
        for executor in all { await executor.shutdown() }
    }
}
