import FleetCore
import FleetOutbox
import Foundation
import Postgres

/// The scheduler's state in PostgreSQL, which is also its fence (tables of migration step 0008).
///
/// **The lease.** One row, `scheduler_lease (id = 1, holder, token, acquired_at, expires_at)`. A
/// replica takes or renews it with one upsert that succeeds only when the lease is its own or has
/// expired (by the database's clock, so replicas' clocks do not matter); `token` grows by one at
/// each change of holder.
///
/// **A tick** is enqueued in one transaction: lock the lease row `FOR UPDATE` if it is still this
/// replica's, with its token, unexpired (else enqueue nothing); insert `(schedule, tick)` into
/// `schedule_ticks` (primary key: a tick already there is not enqueued again); write the job into
/// `fleet_outbox` (`Outbox`), which a relay publishes only once this commits. A replica paused past
/// its lease resumes with a token that is no longer the row's, or an expired lease: its
/// transaction finds no row and writes nothing. While a tick transaction holds the row lock, a
/// takeover waits for its commit, so a fenced enqueue always commits before the next holder's
/// token exists. Each transaction sets `idle_in_transaction_session_timeout` (the lease TTL), so a
/// replica frozen inside one is disconnected by the server and its lock released.
public struct ScheduleLedger: Sendable {
    /// What enqueuing one tick did.
    public enum TickResult: Sendable, Equatable {
        /// Written to `schedule_ticks` and the outbox, with this job id.
        case enqueued(jobId: String)
        /// The tick was already in `schedule_ticks` (another replica, or an earlier pass).
        case alreadyEnqueued
        /// This replica does not hold the lease with this token: nothing was written.
        case notLeader
    }

    /// This replica's name in `scheduler_lease.holder` and `schedule_ticks.holder`.
    public let holder: String
    public let leaseTTL: Duration
    let outbox: Outbox

    public init(holder: String, leaseTTL: Duration, outbox: Outbox = Outbox()) {
        self.holder = holder
        self.leaseTTL = leaseTTL
        self.outbox = outbox
    }

    var ttlMilliseconds: Int { Int(leaseTTL.timeInterval * 1000) }

    /// Bounds this transaction: a frozen replica is disconnected, a stuck statement cancelled.
    private func limitTransaction(_ connection: PostgresConnection) throws {
        let limit = "\(max(ttlMilliseconds, 1000))ms"
        try connection.query(
            "SELECT set_config('idle_in_transaction_session_timeout', $1, true), set_config('statement_timeout', $1, true)",
            [limit]
        )
    }

    /// Takes or renews the lease; returns its token when this replica holds it, nil otherwise.
    public func acquire(on connection: PostgresConnection) throws -> Int64? {
        try connection.transaction { connection in
            try limitTransaction(connection)
            let rows = try connection.query(
                """
                INSERT INTO scheduler_lease AS lease (id, holder, token, acquired_at, expires_at)
                VALUES (1, $1, 1, clock_timestamp(), clock_timestamp() + $2::bigint * interval '1 millisecond')
                ON CONFLICT (id) DO UPDATE SET
                    token = CASE WHEN lease.holder = EXCLUDED.holder THEN lease.token ELSE lease.token + 1 END,
                    acquired_at = CASE WHEN lease.holder = EXCLUDED.holder THEN lease.acquired_at
                                       ELSE EXCLUDED.acquired_at END,
                    holder = EXCLUDED.holder,
                    expires_at = EXCLUDED.expires_at
                WHERE lease.holder = EXCLUDED.holder OR lease.expires_at < clock_timestamp()
                RETURNING token
                """,
                [holder, ttlMilliseconds]
            )
            return rows.first?.int("token").map(Int64.init)
        }
    }

    /// Gives the lease up (on shutdown), so another replica takes over without waiting for it to expire.
    public func release(on connection: PostgresConnection, token: Int64) throws {
        try connection.query(
            "UPDATE scheduler_lease SET expires_at = clock_timestamp() - interval '1 second' "
                + "WHERE id = 1 AND holder = $1 AND token = $2",
            [holder, Int(token)]
        )
    }

    /// The newest tick of `schedule` enqueued so far, by any replica.
    public func lastTick(of schedule: String, on connection: PostgresConnection) throws -> Date? {
        try connection.query("SELECT max(tick) AS last FROM schedule_ticks WHERE schedule = $1", [schedule])
            .first?.date("last")
    }

    /// Enqueues one tick of `schedule`, fenced by `token` (see the type's documentation).
    public func enqueue(
        _ schedule: Schedule,
        tick: Date,
        token: Int64,
        on connection: PostgresConnection,
        now: Date = Date()
    ) throws -> TickResult {
        // Built and validated before the transaction: a bad payload writes nothing.
        let envelope = schedule.envelope(tick: tick, now: now)
        let statement = try outbox.statement(for: envelope)
        return try connection.transaction { connection in
            try limitTransaction(connection)
            let fence = try connection.query(
                """
                SELECT token FROM scheduler_lease
                WHERE id = 1 AND holder = $1 AND token = $2 AND expires_at > clock_timestamp()
                FOR UPDATE
                """,
                [holder, Int(token)]
            )
            guard !fence.isEmpty else { return .notLeader }
            let inserted = try connection.query(
                """
                INSERT INTO schedule_ticks (schedule, tick, job_id, token, holder, enqueued_at)
                VALUES ($1, $2, $3::uuid, $4, $5, clock_timestamp())
                ON CONFLICT (schedule, tick) DO NOTHING
                RETURNING job_id
                """,
                [schedule.name, tick, envelope.id, Int(token), holder]
            )
            guard !inserted.isEmpty else { return .alreadyEnqueued }
            try connection.query(statement.sql, statement.parameters)
            return .enqueued(jobId: envelope.id)
        }
    }
}
