import FleetContract
import FleetCore

/// `analytics.activity.record` `{events}` → ClickHouse `user_activity`, one row per event.
///
/// The events go into the process-wide buffer (``BatchBuffer``), which writes them with the rows of
/// other jobs when it holds ``FlushPolicy/maxRows`` rows or its oldest row has waited
/// ``FlushPolicy/maxAge``. The handler returns, and the delivery is acked, only once that batch is
/// stored; a failed batch fails every job in it (a transient ClickHouse or Redis error retries them).
/// ``ActivityWriter`` stores each `event_id` once, so a redelivered or twice-published job adds no
/// row. Nothing here logs an event's fields (IP addresses and user agents are personal data).
public struct ActivityRecordHandler: JobHandler {
    let buffer: BatchBuffer<ActivityEvent>

    public init(buffer: BatchBuffer<ActivityEvent>) {
        self.buffer = buffer
    }

    public func handle(_ job: AnalyticsActivityRecord, context: JobContext) async throws -> JobOutcome {
        try await buffer.submit(job.events)
        return .applied
    }
}
