import FleetApp
import FleetContract
import FleetCore
import Foundation
import Postgres
import Testing

/// The scheduler's fence against the real PostgreSQL, in a database of its own: a replica whose
/// lease was taken over (a stale token) or expired enqueues nothing; the holder enqueues a tick
/// once, with its job in the outbox in the same transaction.
@Suite("Schedule ledger", .timeLimit(.minutes(2)))
struct ScheduleLedgerTests {
    static let schedule = Schedule(
        name: "it-ledger",
        cron: try! CronExpression("*/5 * * * * *"),
        timeZone: .gmt,
        jobType: MaintenanceRun.jobType,
        payload: [:],
        missed: .skip
    )

    static func counts(_ client: PostgresClient) async throws -> (ticks: Int, outbox: Int) {
        let row = try await client.query(
            "SELECT (SELECT count(*) FROM schedule_ticks) AS ticks, (SELECT count(*) FROM fleet_outbox) AS outbox"
        ).first
        return (row?.int("ticks") ?? -1, row?.int("outbox") ?? -1)
    }

    @Test("A paused replica's stale token is refused; the new holder enqueues each tick exactly once")
    func staleTokenIsRefused() async throws {
        try await FreshDatabase.with("it_schedule_ledger") { client, applied in
            #expect(applied.contains("0008"))
            // A lease long enough that B's first attempt comes before it ends on a loaded machine.
            let paused = ScheduleLedger(holder: "replica-a", leaseTTL: .seconds(4))
            let other = ScheduleLedger(holder: "replica-b", leaseTTL: .seconds(30))
            let tick = RFC3339.parse("2026-11-30T12:00:05Z")!

            let first = try await client.withConnection { try paused.acquire(on: $0) }
            #expect(first == 1)
            // While A holds it, B cannot take it.
            #expect(try await client.withConnection { try other.acquire(on: $0) } == nil)
            // A "pauses" past its TTL; B takes over with the next token.
            try await Task.sleep(for: .milliseconds(4500))
            let second = try await client.withConnection { try other.acquire(on: $0) }
            #expect(second == 2)

            // A resumes and tries to enqueue with its old token: refused, nothing written.
            let stale = try await client.withConnection {
                try paused.enqueue(Self.schedule, tick: tick, token: first!, on: $0)
            }
            #expect(stale == .notLeader)
            #expect(try await Self.counts(client) == (0, 0))
            // Nor can A renew (the lease is B's, unexpired).
            #expect(try await client.withConnection { try paused.acquire(on: $0) } == nil)
            // B with a wrong token is refused too.
            #expect(
                try await client.withConnection { try other.enqueue(Self.schedule, tick: tick, token: 1, on: $0) }
                    == .notLeader
            )

            // B enqueues the tick once: schedule_ticks and the outbox row in one transaction.
            let enqueued = try await client.withConnection {
                try other.enqueue(Self.schedule, tick: tick, token: second!, on: $0)
            }
            guard case .enqueued(let jobId) = enqueued else {
                Issue.record("expected an enqueue, got \(enqueued)")
                return
            }
            #expect(
                try await client.withConnection { try other.enqueue(Self.schedule, tick: tick, token: second!, on: $0) }
                    == .alreadyEnqueued
            )
            #expect(try await Self.counts(client) == (1, 1))
            let row = try #require(
                try await client.query(
                    """
                    SELECT t.job_id::text AS job_id, t.token, t.holder, o.envelope_id::text AS envelope_id, o.envelope
                    FROM schedule_ticks t JOIN fleet_outbox o ON o.envelope_id = t.job_id
                    """
                ).first
            )
            #expect(row["job_id"] == jobId)
            #expect(row.int("token") == 2)
            #expect(row["holder"] == "replica-b")
            #expect(
                row["envelope"]?.contains(#""idempotency_key":"schedule:it-ledger:2026-11-30T12:00:05.000Z""#) == true
            )

            // An expired lease fences too, even for its own holder's token until renewed.
            let short = ScheduleLedger(holder: "replica-c", leaseTTL: .seconds(1))
            try await client.query("UPDATE scheduler_lease SET expires_at = clock_timestamp() - interval '1 second'")
            let third = try await client.withConnection { try short.acquire(on: $0) }
            #expect(third == 3)
            try await Task.sleep(for: .milliseconds(1500))
            let late = RFC3339.parse("2026-11-30T12:00:10Z")!
            #expect(
                try await client.withConnection { try short.enqueue(Self.schedule, tick: late, token: third!, on: $0) }
                    == .notLeader
            )
            #expect(try await Self.counts(client) == (1, 1))
        }
    }
}
