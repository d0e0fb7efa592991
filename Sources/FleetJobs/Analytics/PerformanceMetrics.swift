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
    /// The write closure runs it on a ``DedicatedThread``: on one of Swift's pool threads (two on a
    /// 2-core machine) a batch held up the jobs and acks behind it, and a batch that filled with the
    /// last job of a drain delayed that drain's last ack (see the README's "The last batch off the
    /// jobs' threads").
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

    /// The body's room for `batch`, reserved by the caller: the thread that then writes the rows
    /// allocates nothing large, so the body comes from the caller's malloc arena (a new thread's
    /// first large allocation opened an arena of its own: about 1 MiB more peak RSS under A, measured
    /// 2026-12-03).
    private final class Body: @unchecked Sendable {
        // @unchecked Sendable: handed from the caller to the background thread and back, never shared.
        var rows: RowBinaryWriter

        init(capacityFor count: Int) {
            rows = RowBinaryWriter(table: table, columns: columns, reservingCapacity: count * 96)
        }

        /// The filled body, leaving this box empty (so the writer's storage has one owner when sent).
        func fill(_ batch: [Finished]) -> RowBinaryWriter {
            var filled = rows
            rows = RowBinaryWriter(table: table, columns: columns, reservingCapacity: 0)
            PerformanceMetrics.rows(batch, into: &filled)
            return filled
        }
    }

    private let buffer: BatchBuffer<Finished>

    public init(
        clickhouse: ClickHouseClient,
        policy: FlushPolicy,
        capacity: Int = defaultCapacity,
        logger: Logger
    ) {
        buffer = BatchBuffer(policy: policy, capacity: capacity, logger: logger) { rows in
            let body = Body(capacityFor: rows.count)
            try await clickhouse.insert(await DedicatedThread.run(name: "fleet-metrics") { body.fill(rows) })
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
