import ClickHouse
import FleetApp
import FleetContract
import FleetJobs
import Foundation
import Redis
import Testing

/// `ActivityWriter` against the real ClickHouse and Redis: each event_id stored once.
@Suite("Activity writer: each event_id once in ClickHouse")
struct ActivityWriterTests {
    static let environment = ProcessInfo.processInfo.environment

    func events(_ count: Int, session: String) -> [ActivityEvent] {
        (0..<count).map { index in
            ActivityEvent(
                eventId: UUID().uuidString,
                userId: UUID().uuidString,
                sessionId: session,
                eventType: "search",
                timestamp: Date(timeIntervalSince1970: 1_767_400_000 + Double(index)),
                eventAction: "it's \\ \u{0}-free",
                ipAddress: "::1"
            )
        }
    }

    @Test("a batch written again, alone or inside a bigger one, adds only the new events")
    func storedOnce() async throws {
        let clickhouse = ClickHouseClient(
            configuration: try ClickHouseConfiguration(
                url: Self.environment["FLEET_CLICKHOUSE_URL"] ?? FleetConfiguration.defaultClickHouseURL
            )
        )
        let redis = RedisClient(
            configuration: try RedisConfiguration(
                url: Self.environment["FLEET_REDIS_URL"] ?? FleetConfiguration.defaultRedisURL
            ),
            maxConnections: 2
        )
        _ = try await ClickHouseMigrations.migrate(clickhouse)
        let writer = ActivityWriter(clickhouse: clickhouse, redis: redis)
        let session = UUID().uuidString.lowercased()
        let first = events(30, session: session)
        let more = events(20, session: session)
        #expect(try await writer.store(first) == 30)
        #expect(try await writer.store(first) == 0, "a redelivered batch")
        #expect(try await writer.store(first + first + more) == 20, "duplicates within a batch and stored ones")
        let rows = try await clickhouse.count(
            "SELECT count() FROM user_activity WHERE session_id = toUUID(\(ClickHouseLiteral.string(session)))"
        )
        #expect(rows == 50)
        struct Action: Decodable { let event_action: String }
        let actions = try await clickhouse.query(
            "SELECT DISTINCT event_action FROM user_activity WHERE session_id = toUUID(\(ClickHouseLiteral.string(session)))",
            as: Action.self
        )
        #expect(actions.map(\.event_action) == ["it's \\ \u{0}-free"])
        try await clickhouse.shutdown()
        await redis.shutdown()
    }
}
