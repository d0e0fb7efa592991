import ClickHouse
import FleetContract
import FleetCore
import Foundation
import Logging

/// One `performance_metrics` row per finished job, written in batches to ClickHouse without ever
/// slowing the job: ``record(_:service:)`` only appends to a bounded ``BatchBuffer`` (``BatchBuffer/offer(_:)``);
/// when ClickHouse is down or slow and the buffer is full, rows are dropped and counted
/// (``dropped``), and a failed batch is dropped too. Rows are best-effort: no dedup, no retry.
public final class PerformanceMetrics: Sendable {
    public static let table = "performance_metrics"
    /// The most rows that wait for ClickHouse before new ones are dropped.
    public static let defaultCapacity = 50_000

    /// The HTTP-like status of an outcome: 200 applied, 208 already applied (a duplicate), 400
    /// rejected before running (invalid envelope or payload, unknown type), 422 dead-lettered by a
    /// permanent failure (a store refused the job), 500 failed transiently and retried, 503
    /// dead-lettered after the last attempt (`max_attempts`), 504 deadline exceeded (retried or not).
    public static func statusCode(_ job: FinishedJob) -> Int16 {
        if job.reason == "deadline_exceeded" { return 504 }
        switch job.outcome {
        case .applied: return 200
        case .alreadyApplied: return 208
        case .rejected: return 400
        case .retried: return 500
        case .deadLettered: return job.reason == "max_attempts" ? 503 : 422
        }
    }

    /// What the job path hands over: the row is built (a UUID drawn, text copied) at flush time.
    struct Finished: Sendable {
        let job: FinishedJob
        let service: String
        let at: Int64
    }

    /// The seed's columns, in the order ``rows(_:into:)`` writes each row's values.
    static let columns = [
        "metric_id", "service_name", "endpoint", "response_time_ms", "status_code", "error_message", "timestamp",
    ]

    /// The batch as one `RowBinary` body, written by hand: with `JSONEncoder` the encoding alone took
    /// a noticeable share of the CPU at no-op job rates (tens of thousands of rows a second).
    ///
    /// The write closure runs it on a ``DedicatedThread`` rather than on one of Swift's pool threads
    /// (two on a 2-core machine), which a batch held for its whole length while the jobs and acks
    /// behind it waited (see the README's "The last batch off the jobs' threads").
    static func rows(_ batch: [Finished], into rows: inout RowBinaryWriter) {
        for finished in batch {
            let job = finished.job
            let ms =
                job.duration.components.seconds * 1000 + job.duration.components.attoseconds / 1_000_000_000_000_000
            rows.randomUUID()
            rows.string(finished.service)
            rows.string(job.type)
            rows.int32(Int32(clamping: ms))
            rows.int16(statusCode(job))
            // The reason only (a kind of failure, at most 100 characters), never the error's text,
            // which may quote payload data.
            rows.string(String((job.reason ?? "").prefix(100)))
            rows.dateTime(UInt32(clamping: finished.at))
            rows.endRow()
        }
    }

    /// The body's room for `batch`, reserved by the caller, so that the thread that then writes the
    /// rows does not grow it: a new thread's allocations come from a malloc arena of its own, and a
    /// batch's body grown there added about 1 MiB to peak RSS under A (23.4 MiB median of nine runs,
    /// 22.7 with the room reserved; 2026-12-03).
    private final class Body: @unchecked Sendable {
        // @unchecked Sendable: handed from the caller to the writing thread and back, never shared.
        var rows: RowBinaryWriter

        init(capacityFor batch: [Finished]) {
            rows = RowBinaryWriter(
                table: table,
                columns: columns,
                reservingCapacity: PerformanceMetrics.bytes(of: batch)
            )
        }

        /// The filled body, leaving this box empty (so the writer's storage has one owner when sent).
        func fill(_ batch: [Finished]) -> RowBinaryWriter {
            var filled = rows
            rows = RowBinaryWriter(table: table, columns: columns, reservingCapacity: 0)
            PerformanceMetrics.rows(batch, into: &filled)
            return filled
        }
    }

    /// The bytes ``rows(_:into:)`` writes for `batch`, at most: per row 16 (UUID) + 4 + 2 + 4 (the
    /// integers and the time), and each of the three strings with a length of at most 3 bytes (a
    /// reason of 100 characters is at most 400 bytes).
    static func bytes(of batch: [Finished]) -> Int {
        batch.reduce(0) { total, finished in
            let reason = min(finished.job.reason?.utf8.count ?? 0, 400)
            return total + 26 + 9 + finished.service.utf8.count + finished.job.type.utf8.count + reason
        }
    }

    /// The default policy of `performance_metrics` rows: a due batch waits for a 10 ms pause in
    /// finished jobs, at most 20 ms: at the end of a burst its write (the body built here, the insert
    /// in ClickHouse) would otherwise take the CPU while the last acks reach the broker (see the
    /// README's "The last batch after the burst").
    public static let defaultPolicy = FlushPolicy(pause: .milliseconds(10), maxHold: .milliseconds(20))

    private let buffer: BatchBuffer<Finished>

    public init(
        clickhouse: ClickHouseClient,
        policy: FlushPolicy,
        capacity: Int = defaultCapacity,
        logger: Logger
    ) {
        buffer = BatchBuffer(policy: policy, capacity: capacity, logger: logger) { rows in
            let body = Body(capacityFor: rows)
            try await clickhouse.insert(await DedicatedThread.run { body.fill(rows) })
        }
    }

    /// Queues the row of `job` run by the worker `service`; returns at once.
    public func record(_ job: FinishedJob, service: String) {
        buffer.offer(Finished(job: job, service: service, at: Int64(Date().timeIntervalSince1970)))
    }

    /// Rows dropped so far (buffer full or batch failed).
    public var dropped: Int { buffer.dropped }

    /// Writes what waits now; for a clean shutdown.
    public func flush() async {
        await buffer.drain()
    }
}
