extension Duration {
    /// The duration in whole nanoseconds (truncated), for timers and metrics that take integers.
    /// Reads `components` once: each read divides a 128-bit count, and the job path converts
    /// several durations a job (store calls, lock waits, job timers).
    package var wholeNanoseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1_000_000_000 + attoseconds / 1_000_000_000
    }
}
