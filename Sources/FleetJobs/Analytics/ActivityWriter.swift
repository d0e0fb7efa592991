import BlockingIO
import ClickHouse
import FleetContract
import Foundation
import Logging
import Redis

/// Writes `user_activity` rows so that each `event_id` is stored once, however often its job is
/// delivered: the process-wide ``BatchBuffer`` collects the rows of many jobs, and each batch is
/// written by ``store(_:)``:
///
/// 1. under the fleet's Redis lock on `lock:clickhouse:user_activity` (one writer at a time across
///    every process; a 10 s lease, so a killed writer holds it up for at most that long, and every
///    request under it times out a second before the lease ends),
/// 2. it asks ClickHouse which of the batch's `event_id`s are already stored (within the batch's
///    time range, which the sorting key's leading `timestamp` makes cheap),
/// 3. inserts the others with one `INSERT … FORMAT JSONEachRow`, then releases the lock.
///
/// A worker killed after the INSERT but before its ack leaves rows whose job comes back: the second
/// look finds them and inserts nothing. So `SELECT count() FROM user_activity` (no `FINAL`) counts
/// each event once. Should the lock ever be lost mid-write (a process paused past the lease), two
/// writers could insert one event twice; the table is a ReplacingMergeTree keyed by
/// `(timestamp, user_id, event_id)`, so merges remove such a copy and `FINAL` hides it before then.
/// An `event_id` is one event: a second event reusing an id with another timestamp or user is a
/// different row.
public struct ActivityWriter: Sendable {
    public static let table = "user_activity"
    public static let lockKey = "lock:clickhouse:user_activity"
    /// At most this many ids per existence query (ClickHouse caps a query's text at 256 KiB).
    static let lookupChunk = 1000

    let clickhouse: ClickHouseClient
    let redis: RedisClient
    let lockLease: Duration
    let lockTimeout: Duration

    public init(
        clickhouse: ClickHouseClient,
        redis: RedisClient,
        lockLease: Duration = .seconds(10),
        lockTimeout: Duration = .seconds(30)
    ) {
        self.clickhouse = clickhouse
        self.redis = redis
        self.lockLease = lockLease
        self.lockTimeout = lockTimeout
    }

    /// A buffer that writes through this writer.
    public func buffer(policy: FlushPolicy, logger: Logger) -> BatchBuffer<ActivityEvent> {
        BatchBuffer(policy: policy, logger: logger) { events in try await self.store(events) }
    }

    /// Stores the events not stored yet; returns how many rows it inserted.
    @discardableResult
    public func store(_ events: [ActivityEvent]) async throws -> Int {
        // One row per event_id within the batch (a job published twice may land in one batch).
        var seen = Set<String>()
        let unique = events.filter { seen.insert($0.eventId).inserted }
        guard !unique.isEmpty else { return 0 }
        let lock = RedisLock(client: redis, key: Self.lockKey, lease: lockLease, kind: "activity")
        return try await lock.withLock(timeout: lockTimeout) { lease in
            // Every request under the lock times out a second before the lease ends, so a slow
            // ClickHouse cannot keep a write going after another process may have taken the lock.
            try await BlockingCallDeadline.$current.withValue(lease.expiresAt - .seconds(1)) {
                let stored = try await storedIds(of: unique)
                let rows = unique.filter { !stored.contains($0.eventId) }.map(ActivityRow.init)
                try await clickhouse.insert(table: Self.table, rows: rows)
                return rows.count
            }
        }
    }

    /// The `event_id`s of `events` that `user_activity` holds already.
    func storedIds(of events: [ActivityEvent]) async throws -> Set<String> {
        let times = events.map(\.timestamp)
        guard let earliest = times.min(), let latest = times.max() else { return [] }
        var stored = Set<String>()
        var start = 0
        while start < events.count {
            let chunk = events[start..<min(start + Self.lookupChunk, events.count)]
            start += Self.lookupChunk
            let ids = chunk.compactMap { UUID(uuidString: $0.eventId) }
            guard !ids.isEmpty else { continue }
            struct Stored: Decodable { let id: String }
            let rows = try await clickhouse.query(
                """
                SELECT DISTINCT toString(event_id) AS id FROM \(Self.table)
                WHERE timestamp BETWEEN \(ClickHouseLiteral.dateTime(earliest)) AND \(ClickHouseLiteral.dateTime(latest))
                  AND event_id IN \(ClickHouseLiteral.uuidList(ids))
                """,
                as: Stored.self
            )
            for row in rows { stored.insert(row.id.lowercased()) }
        }
        return stored
    }
}
