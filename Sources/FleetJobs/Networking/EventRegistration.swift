import Bolt
import FleetCore
import Foundation
import Redis

/// `event.register` and `event.cancel` `{user_id, event_id}` → Neo4j
/// `(:User)-[:REGISTERED_FOR {registration_date, status}]->(:Event)`, at most one relationship per
/// user and event.
///
/// **Capacity** holds under any race twice over: jobs of one event take a Redis lock
/// (`lock:event:<event_id>`), and the graph write itself counts the confirmed registrations and
/// decides in the same query, refusing a stale lock holder by its fencing token
/// (`e.fleet_fence`; on Neo4j that SET also write-locks the event before the count).
///
/// Register: `confirmed` while confirmed < `max_participants` (no limit when absent), else
/// `waitlisted`; a user with an active registration is left as is; a cancelled one registers
/// again with a new date. Cancel: the active registration becomes `cancelled`, and while fewer
/// than `max_participants` are confirmed the earliest waitlisted one (registration_date, then
/// order of application) is promoted, in the same query. Unknown event: permanent `unknown_event`.
public struct EventRegisterHandler: JobHandler {
    public static let jobType = "event.register"
    let writer: EventRegistrationWriter

    public init(
        graph: BoltClient,
        redis: RedisClient,
        lockLease: Duration = .seconds(30),
        lockTimeout: Duration = .seconds(10)
    ) {
        writer = EventRegistrationWriter(
            query: EventRegistrationWriter.registerQuery,
            graph: graph,
            redis: redis,
            lockLease: lockLease,
            lockTimeout: lockTimeout
        )
    }

    public func parse(_ payload: FieldReader, version: Int) throws(EnvelopeRejection) -> EventRegistrationPayload {
        try EventRegistrationPayload.parse(payload)
    }

    public func handle(_ payload: EventRegistrationPayload, context: JobContext) async throws -> JobOutcome {
        try await writer.apply(payload, envelope: context.envelope)
    }
}

public struct EventCancelHandler: JobHandler {
    public static let jobType = "event.cancel"
    let writer: EventRegistrationWriter

    public init(
        graph: BoltClient,
        redis: RedisClient,
        lockLease: Duration = .seconds(30),
        lockTimeout: Duration = .seconds(10)
    ) {
        writer = EventRegistrationWriter(
            query: EventRegistrationWriter.cancelQuery,
            graph: graph,
            redis: redis,
            lockLease: lockLease,
            lockTimeout: lockTimeout
        )
    }

    public func parse(_ payload: FieldReader, version: Int) throws(EnvelopeRejection) -> EventRegistrationPayload {
        try EventRegistrationPayload.parse(payload)
    }

    public func handle(_ payload: EventRegistrationPayload, context: JobContext) async throws -> JobOutcome {
        try await writer.apply(payload, envelope: context.envelope)
    }
}

/// Runs one registration query under the event's lock, with its fence.
struct EventRegistrationWriter: Sendable {
    typealias Payload = EventRegistrationPayload
    let query: String
    let graph: BoltClient
    let redis: RedisClient
    let lockLease: Duration
    let lockTimeout: Duration

    func apply(_ payload: Payload, envelope: JobEnvelope) async throws -> JobOutcome {
        let key = NetworkingGraph.jobKey(envelope)
        let lock = RedisLock(client: redis, key: "lock:event:\(payload.eventId)", lease: lockLease)
        let graph = self.graph
        let query = self.query
        let applied = try await lock.withLock(timeout: lockTimeout) { lease in
            let result = try await graph.run(
                query,
                parameters: [
                    "event": .string(payload.eventId), "user": .string(payload.userId), "key": .string(key),
                    "token": .string(NetworkingGraph.token()), "now": .string(NetworkingGraph.timestamp()),
                    "fence": .integer(lease.fence),
                ]
            )
            return !result.rows.isEmpty
        }
        if applied { return .applied }
        return try await explainNoRow(payload, key: key)
    }

    /// The query matched no row: the job was applied before, the event does not exist, or a newer
    /// lock holder had already written (our lease expired).
    private func explainNoRow(_ payload: Payload, key: String) async throws -> JobOutcome {
        if try await NetworkingGraph.wasApplied(graph, key: key) { return .alreadyApplied }
        let event = try await graph.run(
            "MATCH (e:Event {event_id: $event}) RETURN count(e) AS n",
            parameters: ["event": .string(payload.eventId)]
        )
        guard (event.first("n")?.int ?? 0) > 0 else {
            throw JobError.permanent("unknown_event", "event \(payload.eventId) does not exist")
        }
        throw JobError.transient("lock_lost", "a newer holder of the event's lock wrote first; retrying")
    }

    static let lockedEvent = """
        MATCH (e:Event {event_id: $event})
        WHERE coalesce(e.fleet_fence, 0) <= $fence
        SET e.fleet_fence = $fence
        WITH e
        \(NetworkingGraph.claimJob)
        WITH e, j
        WHERE j.token = $token
        OPTIONAL MATCH (:User)-[c:REGISTERED_FOR {status: 'confirmed'}]->(e)
        WITH e, count(c) AS confirmed
        """

    static let registerQuery = """
        \(lockedEvent)
        MERGE (u:User {user_id: $user})
        MERGE (u)-[r:REGISTERED_FOR]->(e)
        WITH e, r, confirmed, (r.status IS NULL OR r.status = 'cancelled') AS fresh
        SET r.registration_date = CASE WHEN fresh THEN $now ELSE r.registration_date END,
            r.fleet_order = CASE WHEN fresh THEN $fence ELSE r.fleet_order END,
            r.status = CASE
                WHEN NOT fresh THEN r.status
                WHEN e.max_participants IS NULL OR confirmed < e.max_participants THEN 'confirmed'
                ELSE 'waitlisted' END
        RETURN fresh AS registered, r.status AS status
        """

    // FalkorDB refuses SET on a null alias, hence FOREACH over a list of zero or one relationship.
    static let cancelQuery = """
        \(lockedEvent)
        OPTIONAL MATCH (:User {user_id: $user})-[r:REGISTERED_FOR]->(e)
        WHERE r.status IN ['confirmed', 'waitlisted']
        WITH e, confirmed, r, r.status AS previous
        FOREACH (x IN CASE WHEN r IS NULL THEN [] ELSE [r] END |
            SET x.status = 'cancelled', x.cancelled_at = $now)
        WITH e, previous, confirmed - CASE WHEN previous = 'confirmed' THEN 1 ELSE 0 END AS remaining
        OPTIONAL MATCH (:User)-[w:REGISTERED_FOR {status: 'waitlisted'}]->(e)
        WHERE e.max_participants IS NULL OR remaining < e.max_participants
        WITH previous, w
        ORDER BY w.registration_date, w.fleet_order
        LIMIT 1
        FOREACH (x IN CASE WHEN w IS NULL THEN [] ELSE [w] END |
            SET x.status = 'confirmed', x.promoted_at = $now)
        RETURN previous, w IS NOT NULL AS promoted
        """
}
