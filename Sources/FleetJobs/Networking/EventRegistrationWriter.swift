import Bolt
import FleetContract
import FleetCore
import FleetStoreKit
import Foundation
import Redis

/// Runs one registration query under the event's lock, with its fence.
///
/// **Durable fencing.** The fence counter lives in Redis, which may lose it; the graph keeps the
/// highest fence that wrote (`e.fleet_fence`). When the graph refuses a lease's fence, the writer
/// reads that stored fence and raises the counter to it (``RedisLock/raiseFence(toAtLeast:)``, which
/// only raises). If the counter was below it, Redis had lost its memory: the writer takes a new
/// lease, whose fence is above the stored one, and runs again at once (at most
/// ``fenceRecoveries`` times per job). If the counter was already at or above it, a newer holder
/// wrote while this lease was running late: `lock_lost`, retried on the schedule as before.
struct EventRegistrationWriter: Sendable {
    typealias Payload = any EventRegistrationJob
    let query: String
    let graph: BoltClient
    let redis: RedisClient
    let lockLease: Duration
    let lockTimeout: Duration
    let fenceRetention: Duration?

    static let fenceRecoveries = 3

    enum Attempt: Sendable {
        case done(JobOutcome)
        case fenceRecovered
    }

    func apply(_ payload: Payload, envelope: JobEnvelope) async throws -> JobOutcome {
        let key = GraphJobClaim.jobKey(envelope)
        let lock = RedisLock(
            client: redis,
            key: "lock:event:\(payload.eventId)",
            lease: lockLease,
            fenceRetention: fenceRetention,
            kind: "event"
        )
        let graph = self.graph
        let query = self.query
        let stamp = NetworkingGraph.stamp(envelope)
        var recoveries = 0
        while true {
            let attempt = try await lock.withLock(timeout: lockTimeout) { lease -> Attempt in
                let result = try await graph.run(
                    query,
                    parameters: [
                        "event": .string(payload.eventId), "user": .string(payload.userId), "key": .string(key),
                        "token": .string(GraphJobClaim.token()), "now": .string(NetworkingGraph.timestamp()),
                        "fence": .integer(lease.fence), "stamp": .string(stamp),
                        "pair": .string("\(payload.eventId) \(payload.userId)"),
                    ]
                )
                if !result.rows.isEmpty { return .done(.applied) }
                return try await explainNoRow(payload, key: key, lease: lease, lock: lock)
            }
            switch attempt {
            case .done(let outcome):
                return outcome
            case .fenceRecovered:
                recoveries += 1
                guard recoveries <= Self.fenceRecoveries else {
                    throw JobError.transient(
                        "lock_lost",
                        "the event's fence was refused after \(Self.fenceRecoveries) repairs of the Redis counter"
                    )
                }
            }
        }
    }

    /// The query matched no row: the job was applied before, the event does not exist, or the graph
    /// refused the fence (Redis lost the counter, or a newer lock holder wrote: our lease expired).
    private func explainNoRow(
        _ payload: Payload,
        key: String,
        lease: LockLease,
        lock: RedisLock
    ) async throws
        -> Attempt
    {
        if try await GraphJobClaim.wasApplied(graph, key: key) { return .done(.alreadyApplied) }
        let event = try await graph.run(
            "MATCH (e:Event {event_id: $event}) RETURN e.fleet_fence AS fence",
            parameters: ["event": .string(payload.eventId)]
        )
        guard let row = event.rows.first else {
            throw JobError.permanent("unknown_event", "event \(payload.eventId) does not exist")
        }
        if let stored = row[0].int, stored > lease.fence, try await lock.raiseFence(toAtLeast: stored) {
            return .fenceRecovered
        }
        throw JobError.transient("lock_lost", "a newer holder of the event's lock wrote first; retrying")
    }

    /// Stamps that stand for registrations and cancellations made before stamps were recorded:
    /// earlier than any job's.
    static let legacyRegister = "0000-00-00T00:00:00.000Z 00000000-0000-0000-0000-000000000000"
    static let legacyCancel = "0000-00-00T00:00:00.000Z 00000000-0000-0000-0000-000000000001"

    static let lockedEvent = """
        MATCH (e:Event {event_id: $event})
        WHERE coalesce(e.fleet_fence, 0) <= $fence
        SET e.fleet_fence = $fence
        WITH e
        \(GraphJobClaim.claimJob)
        WITH e, j
        WHERE j.token = $token
        OPTIONAL MATCH (:User)-[c:REGISTERED_FOR {status: 'confirmed'}]->(e)
        WITH e, count(c) AS confirmed
        """

    /// The recorded stamps of `r` (null when there is no relationship), with `wasActive` and
    /// `previous` (its status before this job).
    static let recorded = """
        WITH *, r.status AS previous, coalesce(r.status, '') IN ['confirmed', 'waitlisted'] AS wasActive,
            coalesce(r.fleet_register_stamps,
                CASE WHEN r.status IS NULL THEN [] ELSE ['\(legacyRegister)'] END) AS oldRegisters,
            coalesce(r.fleet_cancel_stamps,
                CASE WHEN r.status = 'cancelled' THEN ['\(legacyCancel)'] ELSE [] END) AS oldCancels
        """

    /// From `registers` and `cancels` (lists of stamp texts): `active`, `opening` (first register of
    /// the latest run of registers), `closing` (first cancel after the latest register, or null).
    static let decide = """
        WITH *, reduce(m = '', s IN registers | CASE WHEN s > m THEN s ELSE m END) AS lastRegister,
            reduce(m = '', s IN cancels | CASE WHEN s > m THEN s ELSE m END) AS lastCancel
        WITH *, lastRegister > lastCancel AS active,
            reduce(m = '', s IN cancels | CASE WHEN s < lastRegister AND s > m THEN s ELSE m END) AS cancelBefore,
            reduce(m = null, s IN cancels |
                CASE WHEN s > lastRegister AND (m IS NULL OR s < m) THEN s ELSE m END) AS closing
        WITH *, reduce(m = lastRegister, s IN registers |
                CASE WHEN s > cancelBefore AND s < m THEN s ELSE m END) AS opening
        """

    /// The dates from the decision; legacy stamps keep the stored dates.
    static let dates = """
        WITH *, CASE WHEN opening = '\(legacyRegister)' THEN r.registration_date
                ELSE substring(opening, 0, 24) END AS registrationDate,
            CASE WHEN active THEN null WHEN closing = '\(legacyCancel)' THEN r.cancelled_at
                ELSE substring(closing, 0, 24) END AS cancelledAt
        """

    static let registerQuery = """
        \(lockedEvent)
        OPTIONAL MATCH (t:FleetRegistrationCancels {key: $pair})
        WITH e, confirmed, t, coalesce(t.stamps, []) AS early
        MERGE (u:User {user_id: $user})
        MERGE (u)-[r:REGISTERED_FOR]->(e)
        WITH e, confirmed, t, early, r
        \(recorded)
        WITH *, CASE WHEN $stamp IN oldRegisters THEN oldRegisters ELSE oldRegisters + [$stamp] END AS registers,
            oldCancels + [s IN early WHERE NOT s IN oldCancels] AS cancels
        \(decide)
        \(dates)
        SET r.fleet_register_stamps = registers, r.fleet_cancel_stamps = cancels,
            r.registration_date = registrationDate, r.cancelled_at = cancelledAt,
            r.fleet_order = CASE WHEN active AND NOT wasActive THEN $fence ELSE r.fleet_order END,
            r.status = CASE
                WHEN NOT active THEN 'cancelled'
                WHEN wasActive THEN r.status
                WHEN e.max_participants IS NULL OR confirmed < e.max_participants THEN 'confirmed'
                ELSE 'waitlisted' END
        FOREACH (x IN CASE WHEN t IS NULL THEN [] ELSE [t] END | DELETE x)
        RETURN previous, r.status AS status
        """

    // FalkorDB refuses SET on a null alias, hence FOREACH over a list of zero or one element.
    static let cancelQuery = """
        \(lockedEvent)
        OPTIONAL MATCH (:User {user_id: $user})-[r:REGISTERED_FOR]->(e)
        WITH e, confirmed, r
        \(recorded)
        WITH *, oldRegisters AS registers,
            CASE WHEN $stamp IN oldCancels THEN oldCancels ELSE oldCancels + [$stamp] END AS cancels
        \(decide)
        \(dates)
        FOREACH (x IN CASE WHEN r IS NULL THEN [] ELSE [r] END |
            SET x.fleet_cancel_stamps = cancels, x.registration_date = registrationDate,
                x.cancelled_at = cancelledAt, x.status = CASE WHEN active THEN x.status ELSE 'cancelled' END)
        FOREACH (x IN CASE WHEN r IS NULL THEN [1] ELSE [] END |
            MERGE (t:FleetRegistrationCancels {key: $pair})
            ON CREATE SET t.event_id = $event, t.user_id = $user, t.stamps = [$stamp], t.updated_at = $now
            ON MATCH SET t.stamps = CASE WHEN $stamp IN t.stamps THEN t.stamps ELSE t.stamps + [$stamp] END,
                t.updated_at = $now)
        WITH e, previous, confirmed - CASE WHEN previous = 'confirmed' AND NOT active THEN 1 ELSE 0 END AS remaining
        OPTIONAL MATCH (:User)-[w:REGISTERED_FOR {status: 'waitlisted'}]->(e)
        WHERE e.max_participants IS NULL OR remaining < e.max_participants
        WITH previous, w
        ORDER BY w.fleet_order, w.registration_date
        LIMIT 1
        FOREACH (x IN CASE WHEN w IS NULL THEN [] ELSE [w] END |
            SET x.status = 'confirmed', x.promoted_at = $now)
        RETURN previous, w IS NOT NULL AS promoted
        """
}
