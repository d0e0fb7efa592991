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

    /// Rows written between two yields of the flush to the jobs waiting for a thread.
    static let rowsBetweenYields = 256

    /// The batch as one `JSONEachRow` body, written by hand: with `JSONEncoder` the encoding alone
    /// took a noticeable share of the CPU at no-op job rates (tens of thousands of rows a second).
    ///
    /// It yields every ``rowsBetweenYields`` rows. A full batch (5,000 rows) takes about 6 ms to
    /// write, and without the yields held one of Swift's pool threads (two on a 2-core machine) for
    /// all of it: when a flush started with the last job of a 20,000-job drain, the jobs queued behind
    /// it settled late and the last ack reached the socket 1.4–3.7 ms after the last job's effect.
    static func rows(_ batch: [Finished]) async -> JSONEachRowWriter {
        var rows = JSONEachRowWriter(table: table, reservingCapacity: 64 + batch.count * 200)
        for (index, finished) in batch.enumerated() {
            if index > 0, index.isMultiple(of: rowsBetweenYields) { await Task.yield() }
            let job = finished.job
            let ms =
                job.duration.components.seconds * 1000 + job.duration.components.attoseconds / 1_000_000_000_000_000
            rows.beginRow()
            rows.field("metric_id", randomUUID: ())
            rows.field("service_name", string: finished.service)
            rows.field("endpoint", string: job.type)
            rows.field("response_time_ms", integer: Int64(Int32(clamping: ms)))
            rows.field("status_code", integer: Int64(statusCode(job)))
            // The reason only (a kind of failure, at most 100 characters), never the error's text,
            // which may quote payload data.
            rows.field("error_message", string: String((job.reason ?? "").prefix(100)))
            rows.field("timestamp", integer: finished.at)
            rows.endRow()
        }
        return rows
    }

    private let buffer: BatchBuffer<Finished>

    public init(
        clickhouse: ClickHouseClient,
        policy: FlushPolicy,
        capacity: Int = defaultCapacity,
        logger: Logger
    ) {
        buffer = BatchBuffer(policy: policy, capacity: capacity, logger: logger) { rows in
            try await clickhouse.insert(await Self.rows(rows))
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
