import Foundation
import Postgres

/// How long sent outbox rows are kept: each job type's dedup window (`queues.yaml`, 7 days by
/// default). While a row is kept, anyone can see that (and when) its job was published; a copy
/// published again within the window is still a duplicate to the workers.
///
/// Rows the relay marked failed are never pruned: they wait for an operator. Unsent rows are
/// never pruned either.
public struct OutboxRetention: Sendable {
    /// Job type → how long its sent rows are kept.
    public var windows: [String: Duration]
    /// For job types not in ``windows``.
    public var defaultWindow: Duration

    /// Windows per job type, and one for the others (7 days, `queues.yaml`'s default).
    public init(windows: [String: Duration] = [:], defaultWindow: Duration = .seconds(7 * 86_400)) {
        self.windows = windows
        self.defaultWindow = defaultWindow
    }

    /// How long sent rows of `type` are kept.
    public func window(of type: String) -> Duration { windows[type] ?? defaultWindow }

    /// Rows deleted per statement, so that pruning a large backlog never holds many row locks or
    /// one long transaction.
    static let batch = 5000

    /// Deletes the rows sent longer ago than their job type's window before `now`, in batches;
    /// returns how many were deleted per job type (types with none are left out).
    public func prune(_ client: PostgresClient, now: Date = Date()) async throws -> [String: Int] {
        try await client.withConnection { connection in try prune(on: connection, now: now) }
    }

    /// ``prune(_:now:)`` on a connection of the caller's.
    public func prune(on connection: PostgresConnection, now: Date = Date()) throws -> [String: Int] {
        let seconds = JSONValue.object(windows.mapValues { .number($0.totalSeconds) }).jsonText
        // No window is shorter than the shortest listed one: a bound the sent_at index can serve.
        let shortest = ([defaultWindow] + Array(windows.values)).min()!.totalSeconds
        var deleted: [String: Int] = [:]
        while true {
            let rows = try connection.query(
                """
                DELETE FROM fleet_outbox WHERE seq IN (
                    SELECT o.seq FROM fleet_outbox o
                    LEFT JOIN json_each_text($1::json) AS w(job_type, seconds) ON w.job_type = o.job_type
                    WHERE o.sent_at IS NOT NULL
                      AND o.sent_at < $2::timestamptz - make_interval(secs => $3::float8)
                      AND o.sent_at < $2::timestamptz - make_interval(secs => coalesce(w.seconds::float8, $4::float8))
                    LIMIT $5)
                RETURNING job_type
                """,
                [seconds, now, shortest, defaultWindow.totalSeconds, Self.batch]
            )
            for row in rows { deleted[row["job_type"] ?? "", default: 0] += 1 }
            if rows.count < Self.batch { return deleted }
        }
    }
}

extension Duration {
    /// In seconds, for SQL intervals.
    var totalSeconds: Double {
        let (seconds, attoseconds) = components
        return Double(seconds) + Double(attoseconds) / 1e18
    }
}
