import FleetApp
import Foundation
import Postgres

/// What the scheduler hosted by the demo's `fleet run --with-scheduler` enqueued.
extension DemoReport {
    /// The `schedule_ticks` rows of `schedules` enqueued since `since`: one row per tick, written
    /// by the lease holder in the same transaction as the job's outbox row.
    static func printScheduleTicks(_ postgres: PostgresClient, schedules: [String], since: Date) async throws {
        guard !schedules.isEmpty else { return }
        let ticks = try await postgres.query(
            """
            SELECT schedule, to_char(tick AT TIME ZONE 'UTC', 'HH24:MI:SS') AS tick, job_id, token,
                   round(extract(epoch FROM enqueued_at - tick) * 1000) AS late_ms
            FROM schedule_ticks WHERE schedule = ANY($1::text[]) AND enqueued_at >= $2
            ORDER BY tick, schedule
            """,
            ["{\(schedules.joined(separator: ","))}", since]
        )
        print("schedule_ticks (one enqueue per tick, by the lease holder):")
        for tick in ticks {
            print(
                "  \(tick["schedule"] ?? "?") tick \(tick["tick"] ?? "?")Z: job \(tick["job_id"] ?? "?") "
                    + "(lease token \(tick["token"] ?? "?"), enqueued \(tick["late_ms"] ?? "?") ms after the tick)"
            )
        }
        if ticks.isEmpty { print("  (none yet)") }
    }
}
