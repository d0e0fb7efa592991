import NIOConcurrencyHelpers
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
/// most of the worker's CPU in the scheduler). On this thread the job makes one hop in and one out.
///
/// A blocking call stalls every task that prefers this executor, so lease it to one job at a time
/// (``BlockingExecutors``). Its thread starts on first use.
public final class BlockingExecutor: TaskExecutor, Sendable {
    private let thread = NIOThreadPool(numberOfThreads: 1)
    private let started = NIOLockedValueBox(false)

    public init() {}

    public func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        startOnce()
        thread.submit { state in
            guard case .active = state else {
                // Shut down: a job must still run, or its task would never finish.
                globalConcurrentExecutor.enqueue(job)
                return
            }
            Self.markCurrentThread()
            job.runSynchronously(on: self.asUnownedTaskExecutor())
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

    private static func markCurrentThread() {
        if pthread_getspecific(threadKey) == nil {
            pthread_setspecific(threadKey, UnsafeRawPointer(bitPattern: 1))
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
