import Dispatch
import NIOConcurrencyHelpers
import NIOPosix
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Stops a blocking call in progress on a connection, from another thread.
///
/// A connection makes one (``BlockingConnection/makeInterrupter()``) when its library can do it:
/// libpq can, with a cancel request and by shutting the socket down. The pool uses it when the task
/// that waits for the call is cancelled (a job's deadline passed, or the caller gave up), so that a
/// hung server costs one connection and its thread for a short while, not the pool for as long as
/// the server hangs.
public protocol BlockingCallInterrupter: Sendable {
    /// Asks the server to stop the call (PostgreSQL's cancel request); the call then fails with the
    /// server's error. May block for as long as the server does: it runs on a thread of its own.
    func requestCancel()
    /// Makes the blocked call return now, leaving the connection broken, by shutting its socket
    /// down (`shutdown(2)`, not `close(2)`: the descriptor stays the connection's). Thread-safe;
    /// frees nothing. Called at most once per call, and only while the call has not returned.
    func forceReturn()
}

/// When the deadline of the current job ends, for store calls that can pass a time limit to the
/// server (MongoDB's `maxTimeMS`). Set by the job runtime; ``BlockingConnectionPool`` carries it
/// onto its threads, so a connection's code reads it there too.
public enum BlockingCallDeadline {
    /// When the current job's deadline ends; nil outside a job with a deadline.
    @TaskLocal public static var current: ContinuousClock.Instant?

    /// The time left before ``current``, at least zero; nil without a deadline.
    public static var remaining: Duration? {
        current.map { max(.zero, $0 - .now) }
    }
}

/// One call of a pool's body, and whether someone interrupted it. The pool retires (closes instead
/// of reusing) the connection of an interrupted call: a late cancel request could otherwise stop the
/// next caller's statement, and a call stopped half-way may leave the connection out of step.
///
/// Its state is a `Mutex` stored inline: one allocation per store call, not two.
final class InterruptibleCall: Sendable {
    private enum State {
        case waiting
        case running((any BlockingCallInterrupter)?)
        case interrupted((any BlockingCallInterrupter)?, forced: Bool)
        case interruptedBeforeStart
        case finished(interrupted: Bool)
    }

    private let state = Mutex(State.waiting)

    /// Called on the thread that runs the body, before it. False when the call was interrupted
    /// before it started: the body must not run.
    func begin(_ interrupter: (any BlockingCallInterrupter)?) -> Bool {
        state.withLock { state in
            guard case .waiting = state else { return false }
            state = .running(interrupter)
            return true
        }
    }

    /// Called after the body; true when the call was interrupted, so its connection must be retired.
    /// After this the interrupter is never used again: the connection may be closed.
    func finish() -> Bool {
        state.withLock { state in
            let interrupted: Bool
            switch state {
            case .interrupted, .interruptedBeforeStart: interrupted = true
            case .finished(let wasInterrupted): interrupted = wasInterrupted
            case .waiting, .running: interrupted = false
            }
            state = .finished(interrupted: interrupted)
            return interrupted
        }
    }

    /// Asks the server to stop the call at once, and forces it to return after `grace` if it has not.
    /// Does not block: safe in a task cancellation handler.
    func interrupt(grace: Duration) {
        let interrupter = state.withLock { state -> (any BlockingCallInterrupter)? in
            switch state {
            case .waiting:
                state = .interruptedBeforeStart
                return nil
            case .running(let interrupter):
                state = .interrupted(interrupter, forced: false)
                return interrupter
            case .interrupted, .interruptedBeforeStart, .finished:
                return nil
            }
        }
        guard let interrupter else { return }
        CancelRequests.shared.send(interrupter)
        DispatchQueue.global().asyncAfter(deadline: .now() + .nanoseconds(Int(grace.wholeNanoseconds))) {
            self.forceIfStillRunning()
        }
    }

    private func forceIfStillRunning() {
        // Under the lock: `finish` waits, so the connection is not closed while its socket is shut down.
        state.withLock { state in
            guard case .interrupted(let interrupter?, forced: false) = state else { return }
            interrupter.forceReturn()
            state = .interrupted(interrupter, forced: true)
        }
    }
}

/// The threads that send cancel requests. A request to a server that is stopped (SIGSTOP) or
/// unreachable blocks until it answers, so their number is bounded, and beyond a backlog a request
/// is skipped: the forced return after the grace period still frees the call.
final class CancelRequests: Sendable {
    static let shared = CancelRequests(threads: 4, backlog: 32)

    private let pool: NIOThreadPool
    private let backlog: Int
    private let pending = NIOLockedValueBox(0)

    private init(threads: Int, backlog: Int) {
        pool = NIOThreadPool(numberOfThreads: threads)
        pool.start()
        self.backlog = backlog
    }

    func send(_ interrupter: any BlockingCallInterrupter) {
        let accepted = pending.withLockedValue { pending in
            guard pending < backlog else { return false }
            pending += 1
            return true
        }
        guard accepted else { return }
        pool.submit { _ in
            interrupter.requestCancel()
            self.pending.withLockedValue { $0 -= 1 }
        }
    }
}

/// The interrupter of a connection whose server has no cancel request (Redis): after the grace
/// period, its socket is shut down so that the blocked call returns with a connection error.
/// PostgreSQL's interrupter does the same after its cancel request.
public struct SocketShutdownInterrupter: BlockingCallInterrupter {
    /// The connection's socket descriptor; it stays the connection's, which closes it.
    public let socket: Int32

    /// An interrupter for the connection that owns `socket`.
    public init(socket: Int32) {
        self.socket = socket
    }

    /// Nothing: the server has no cancel request.
    public func requestCancel() {}

    /// Shuts the socket down for reading and writing.
    public func forceReturn() {
        guard socket >= 0 else { return }
        _ = shutdown(socket, Int32(SHUT_RDWR))
    }
}
