import ClickHouse
import FleetApp
import Foundation

/// What the demo's analytics jobs and every finished job left in ClickHouse.
extension DemoReport {
    /// The demo's `user_activity` rows (picked by their event ids): rows as a reader counts them
    /// (no `FINAL`), distinct event ids, and rows per event type.
    static func printActivity(_ clickhouse: ClickHouseClient, published: Int) async throws {
        struct Total: Decodable {
            let rows: Int
            let events: Int
        }
        struct ByType: Decodable {
            let event_type: String
            let rows: Int
        }
        let demoRows =
            "FROM user_activity WHERE toString(event_id) LIKE "
            + ClickHouseLiteral.string(SampleAnalytics.eventIdPrefix + "%")
        let total = try await clickhouse.query(
            "SELECT count() AS rows, uniqExact(event_id) AS events \(demoRows)",
            as: Total.self
        )
        let byType = try await clickhouse.query(
            "SELECT event_type, count() AS rows \(demoRows) GROUP BY event_type ORDER BY event_type",
            as: ByType.self
        )
        print(
            "user_activity (ClickHouse, the demo's events): \(total.first?.rows ?? 0) rows, "
                + "\(total.first?.events ?? 0) distinct event_ids (\(published) events published)"
        )
        print("  by event_type: \(byType.map { "\($0.event_type)=\($0.rows)" }.joined(separator: " "))")
    }

    /// `performance_metrics` rows written since `since`, per worker: jobs, p50/p99 of
    /// `response_time_ms`, and rows per `status_code`.
    static func printPerformanceMetrics(_ clickhouse: ClickHouseClient, since: Date) async throws {
        struct Worker: Decodable {
            let service_name: String
            let rows: Int
            let p50: Double
            let p99: Double
        }
        struct Status: Decodable {
            let service_name: String
            let status_code: Int
            let rows: Int
        }
        let recent = "FROM performance_metrics WHERE timestamp >= toDateTime(\(Int64(since.timeIntervalSince1970)))"
        let workers = try await clickhouse.query(
            """
            SELECT service_name, count() AS rows, quantile(0.5)(response_time_ms) AS p50,
                   quantile(0.99)(response_time_ms) AS p99
            \(recent) GROUP BY service_name ORDER BY service_name
            """,
            as: Worker.self
        )
        let statuses = try await clickhouse.query(
            "SELECT service_name, status_code, count() AS rows \(recent) GROUP BY service_name, status_code "
                + "ORDER BY service_name, status_code",
            as: Status.self
        )
        print("performance_metrics (ClickHouse, one row per finished job since the demo started):")
        for worker in workers {
            let codes = statuses.filter { $0.service_name == worker.service_name }
                .map { "\($0.status_code)=\($0.rows)" }.joined(separator: " ")
            print(
                "  \(worker.service_name): jobs=\(worker.rows) p50_ms=\(Int(worker.p50.rounded())) "
                    + "p99_ms=\(Int(worker.p99.rounded())) status_code \(codes)"
            )
        }
    }
}
