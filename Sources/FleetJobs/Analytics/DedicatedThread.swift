#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Runs CPU-bound work that no job waits for (writing a `performance_metrics` batch) on a thread of
/// its own, which the kernel time-slices with the others, instead of on one of Swift's pool threads,
/// which it would hold until done while the jobs and acks queued behind it wait (the pool has one
/// thread per core: two on a 2-core machine).
///
/// A new thread per call: the work is rare (a batch per 5,000 rows or per second), and a thread
/// that ends with its work needs no owner to stop it. When no thread can be started (a process or
/// pids limit), the work runs on the caller's thread instead, so that the caller never waits for a
/// thread that does not exist.
///
/// Not at a lower priority: on Linux a thread started by a thread inherits its nice value, and the
/// work's continuation resumes from this thread, where Swift's pool may start a new thread of its
/// own; one such pool thread at nice +10 delayed a drain's last ack by 220–256 ms in two runs of
/// nine (measured 2026-12-03).
enum DedicatedThread {
    /// The result of `body`, run on a new thread (or on this one when none can be started).
    static func run<T: Sendable>(_ body: @escaping @Sendable () -> T) async -> T {
        await withCheckedContinuation { continuation in
            if !start({ continuation.resume(returning: body()) }) { continuation.resume(returning: body()) }
        }
    }

    /// Starts a detached thread that runs `work`; false when the system refused to start one.
    private static func start(_ work: @escaping @Sendable () -> Void) -> Bool {
        let box = Unmanaged.passRetained(Work(work))
        var thread = pthread_t()
        let started = pthread_create(
            &thread,
            nil,
            { raw in
                #if canImport(Darwin)
                let work = Unmanaged<Work>.fromOpaque(raw).takeRetainedValue()
                #else
                let work = Unmanaged<Work>.fromOpaque(raw!).takeRetainedValue()
                #endif
                work.run()
                return nil
            },
            box.toOpaque()
        )
        guard started == 0 else {
            box.release()
            return false
        }
        pthread_detach(thread)
        return true
    }

    private final class Work: Sendable {
        let run: @Sendable () -> Void
        init(_ run: @escaping @Sendable () -> Void) { self.run = run }
    }
}
