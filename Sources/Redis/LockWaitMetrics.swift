import BlockingIO
import Metrics
import NIOConcurrencyHelpers

/// `fleet_lock_wait_seconds{lock}`: how long ``RedisLock/acquire(timeout:)`` waited, taken or timed
/// out. `lock` is the lock's kind (`event`), never its key: keys carry ids. A lock value is made per
/// job, so the timers live here, one per kind for the process.
enum LockWaitMetrics {
    private static let timers = NIOLockedValueBox<[String: Timer]>([:])

    static func record(kind: String, since start: ContinuousClock.Instant) {
        let waited = ContinuousClock.now - start
        let timer = timers.withLockedValue { timers in
            if let timer = timers[kind] { return timer }
            let timer = Timer(label: "fleet_lock_wait_seconds", dimensions: [("lock", kind)])
            timers[kind] = timer
            return timer
        }
        timer.recordNanoseconds(waited.wholeNanoseconds)
    }
}
