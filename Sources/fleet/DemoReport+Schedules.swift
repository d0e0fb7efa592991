import FleetApp
import Foundation
import Postgres

/// What the scheduler hosted by the demo's `fleet run --with-scheduler` enqueued.
extension DemoReport {
    /// The `schedule_ticks` rows of `schedules` enqueued since `since`: one row per tick, written
    /// by the lease holder in the same transaction as the job's outbox row.
    static func printScheduleTicks(_ postgres: PostgresClient, schedules: [String], since: Date) async throws {
        guard !schedules.isEmpty else { return }
        // A 5-second schedule fires within a few seconds of the fleet's start: wait for a tick if the
        // workload settled before the first one.
        let deadline = Date().addingTimeInterval(12)
        var ticks = try await recentTicks(postgres, schedules: schedules, since: since)
        while ticks.isEmpty && Date() < deadline {
            try await Task.sleep(for: .milliseconds(500))
            ticks = try await recentTicks(postgres, schedules: schedules, since: since)
        }
        print("schedule_ticks (one enqueue per tick, by the lease holder):")
        for tick in ticks {
            print(
                "  \(tick["schedule"] ?? "?") tick \(tick["tick"] ?? "?")Z: job \(tick["job_id"] ?? "?") "
                    + "(lease token \(tick["token"] ?? "?"), enqueued \(tick["late_ms"] ?? "?") ms after the tick)"
            )
        }
        if ticks.isEmpty { print("  (none yet)") }
    }

    private static func recentTicks(
        _ postgres: PostgresClient,
        schedules: [String],
        since: Date
    ) async throws -> PostgresRows {
        try await postgres.query(
            """
            SELECT schedule, to_char(tick AT TIME ZONE 'UTC', 'HH24:MI:SS') AS tick, job_id, token,
                   round(extract(epoch FROM enqueued_at - tick) * 1000) AS late_ms
            FROM schedule_ticks WHERE schedule = ANY($1::text[]) AND enqueued_at >= $2
            ORDER BY tick, schedule
            """,
            ["{\(schedules.joined(separator: ","))}", since]
        )
    }
}
