import Foundation

/// Runs CPU-bound work that no job waits for (writing a `performance_metrics` batch) on a thread of
/// its own, which the kernel time-slices with the others, instead of on one of Swift's pool threads,
/// which it would hold until done while the jobs and acks queued behind it wait (the pool has one
/// thread per core: two on a 2-core machine).
///
/// A new thread per call: the work is rare (a batch per 5,000 rows or per second), and a thread
/// that ends with its work needs no owner to stop it.
///
/// Not at a lower priority: on Linux a thread started by a thread inherits its nice value, and the
/// work's continuation resumes from this thread, where Swift's pool may start a new thread of its
/// own; one such pool thread at nice +10 delayed a drain's last ack by 220–256 ms in two runs of
/// nine (measured 2026-12-03).
enum DedicatedThread {
    /// The result of `body`, run on a new thread.
    static func run<T: Sendable>(name: String, _ body: @escaping @Sendable () -> T) async -> T {
        await withCheckedContinuation { continuation in
            let thread = Thread { continuation.resume(returning: body()) }
            thread.name = name
            thread.start()
        }
    }
}
