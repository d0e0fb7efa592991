import ClickHouse
import FleetApp
import FleetContract
import FleetJobs
import Foundation
import Testing

/// `analytics.activity.record` through real `fleet run` processes into the shared ClickHouse
/// (`FLEET_CLICKHOUSE_URL`). Rows of each test carry a `session_id` of its own, so concurrent runs
/// never see each other's rows.
@Suite("Analytics end to end: user_activity and performance_metrics in ClickHouse")
struct AnalyticsEndToEndTests {
    static func clickhouse() throws -> ClickHouseClient {
        let url = FleetTestEnvironment.environment["FLEET_CLICKHOUSE_URL"] ?? FleetConfiguration.defaultClickHouseURL
        return ClickHouseClient(configuration: try ClickHouseConfiguration(url: url))
    }

    static func events(
        count: Int,
        session: String,
        ip: String = "198.51.100.23",
        agent: String = "E2E"
    ) -> [ActivityEvent] {
        (0..<count).map { index in
            ActivityEvent(
                eventId: UUID().uuidString,
                userId: UUID().uuidString,
                sessionId: session,
                eventType: AnalyticsActivityRecord.eventTypes[index % AnalyticsActivityRecord.eventTypes.count],
                timestamp: Date(timeIntervalSince1970: 1_767_323_045 + Double(index)),
                eventCategory: "e2e",
                eventValue: Double(index),
                pageURL: "https://careers.example/p/\(index)",
                userAgent: agent,
                ipAddress: ip
            )
        }
    }

    @Test("10,000 events in 500 jobs, 10% published twice, a worker SIGKILLed mid-run: 10,000 rows, no FINAL")
    func exactlyOnceThroughDuplicatesAndAKill() async throws {
        let environment = try await FleetTestEnvironment.make("analytics", workers: ["analytics"])
        let clickhouse = try Self.clickhouse()
        _ = try await ClickHouseMigrations.migrate(clickhouse)
        let session = UUID().uuidString.lowercased()
        let marker = "session_id = toUUID(\(ClickHouseLiteral.string(session)))"
        let jobs = (0..<500).map { _ in AnalyticsActivityRecord(events: Self.events(count: 20, session: session)) }
        // Small, frequent batches: the kill then lands between flushes, with rows stored and unacked.
        let flush = ["FLEET_ANALYTICS_FLUSH_ROWS": "400", "FLEET_ANALYTICS_FLUSH_MS": "200"]
        let first = try environment.startWorker("analytics", environment: flush)
        let second = try environment.startWorker("analytics", environment: flush)
        let (producer, stores) = environment.producer()
        for job in jobs { try await producer.enqueue(job) }
        try await environment.waitUntil("a quarter of the rows stored", timeout: .seconds(120)) {
            try await clickhouse.count("SELECT count() FROM user_activity WHERE \(marker)") >= 2500
        }
        await first.kill()
        let atKill = try await clickhouse.count("SELECT count() FROM user_activity WHERE \(marker)")
        #expect(atKill < 10_000, "the worker was killed mid-run")
        // Every tenth job again, as a new job (another envelope id; only the event ids match), after
        // the originals: most land in a later batch than their first copy, found in ClickHouse.
        for job in jobs.enumerated().filter({ $0.offset % 10 == 0 }).map(\.element) {
            try await producer.enqueue(job)
        }
        try await environment.waitUntil("every row stored", timeout: .seconds(180)) {
            try await clickhouse.count("SELECT count() FROM user_activity WHERE \(marker)") >= 10_000
        }
        try await environment.waitUntil("the queue drained", timeout: .seconds(120)) {
            try await environment.queueDepth("fleet.analytics") == 0
        }
        // Redeliveries of the killed worker's unacked jobs have run by now; give late batches time.
        try await Task.sleep(for: .seconds(2))
        #expect(try await clickhouse.count("SELECT count() FROM user_activity WHERE \(marker)") == 10_000)
        #expect(try await clickhouse.count("SELECT uniqExact(event_id) FROM user_activity WHERE \(marker)") == 10_000)
        #expect(try await environment.deadLetters("fleet.analytics").isEmpty)
        await second.stop()
        await producer.shutdown()
        await stores.shutdown()
        try await clickhouse.shutdown()
        await environment.tearDown()
    }

    @Test("performance_metrics gets a row per finished job; no IP address or user agent in the logs")
    func performanceMetricsAndLogPrivacy() async throws {
        let environment = try await FleetTestEnvironment.make("perfmetrics", workers: ["analytics"])
        let clickhouse = try Self.clickhouse()
        _ = try await ClickHouseMigrations.migrate(clickhouse)
        let started = Int64(Date().timeIntervalSince1970) - 1
        let session = UUID().uuidString.lowercased()
        let ip = "203.0.113.177"
        let agent = "PrivacyProbe/\(UUID().uuidString.prefix(8))"
        // Debug logging: the most a worker ever logs.
        let worker = try environment.startWorker(
            "analytics",
            environment: ["FLEET_PERFORMANCE_METRICS": "on", "FLEET_LOG_LEVEL": "debug"]
        )
        let (producer, stores) = environment.producer()
        for _ in 0..<10 {
            try await producer.enqueue(
                AnalyticsActivityRecord(events: Self.events(count: 3, session: session, ip: ip, agent: agent))
            )
        }
        // An invalid job (unknown event_type) carrying the same IP and agent: rejected, 400.
        var invalid = AnalyticsActivityRecord(events: Self.events(count: 1, session: session, ip: ip, agent: agent))
            .payload
        if case .array(var events) = invalid["events"], case .object(var event) = events[0] {
            event["event_type"] = "not_a_type"
            events[0] = .object(event)
            invalid["events"] = .array(events)
        }
        let envelope = JobEnvelope(
            id: UUID().uuidString.lowercased(),
            type: AnalyticsActivityRecord.jobType,
            createdAt: Date(),
            payload: invalid
        )
        try await environment.publishRaw(
            envelope.encoded(),
            to: "fleet.analytics",
            type: AnalyticsActivityRecord.jobType
        )
        let recent =
            "FROM performance_metrics WHERE service_name = 'analytics' AND endpoint = 'analytics.activity.record' "
            + "AND timestamp >= toDateTime(\(started))"
        try await environment.waitUntil("the activity rows", timeout: .seconds(60)) {
            try await clickhouse.count(
                "SELECT count() FROM user_activity WHERE session_id = toUUID(\(ClickHouseLiteral.string(session)))"
            ) == 30
        }
        try await environment.waitUntil("a 200 row per applied job and a 400 row", timeout: .seconds(60)) {
            let applied = try await clickhouse.count("SELECT count() \(recent) AND status_code = 200")
            let rejected = try await clickhouse.count(
                "SELECT count() \(recent) AND status_code = 400 AND error_message = 'invalid_payload'"
            )
            return applied >= 10 && rejected >= 1
        }
        #expect(try await clickhouse.count("SELECT count() \(recent) AND response_time_ms < 0") == 0)
        let log = await worker.stop()
        #expect(log.contains("fleet.job"), "the capture holds the worker's job logs")
        #expect(!log.contains(ip), "an IP address was logged")
        #expect(!log.contains(agent), "a user agent was logged")
        await producer.shutdown()
        await stores.shutdown()
        try await clickhouse.shutdown()
        await environment.tearDown()
    }
}
