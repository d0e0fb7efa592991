import Bolt
import FleetContract
import FleetCore
import FleetStoreKit

/// `mentorship.start` `{user_id, mentor_user_id}` → Neo4j `(:User)-[:MENTORED_BY {start_date,
/// status: 'active', session_count}]->(:Mentor)`. User and Mentor nodes are MERGEd by `user_id`
/// (the graph may not know them yet).
///
/// **Order.** The mentorship depends only on which start and session jobs arrived, never on the
/// order they ran in: a session that runs before its start counts on a `MENTORED_BY` with status
/// `pending` (no `start_date`), which the start then makes `active`. `start_date` is the earliest
/// start job's `created_at` (its ``JobStamp`` is kept in `fleet_start_stamp`), so a second start
/// changes nothing, whenever it runs.
public struct MentorshipStartHandler: JobHandler {
    let graph: BoltClient

    public init(graph: BoltClient) { self.graph = graph }

    public func handle(_ job: MentorshipStart, context: JobContext) async throws -> JobOutcome {
        let result = try await graph.run(Self.query, parameters: Mentorship.parameters(job, context.envelope))
        return result.rows.isEmpty ? .alreadyApplied : .applied
    }

    /// A mentorship that is active without a stamp was started before stamps were kept: its
    /// `start_date` stays. The first SET write-locks the relationship on Neo4j before the stamp is
    /// read, so two starts running at once cannot both read the old one.
    static let query = """
        \(GraphJobClaim.claimJob)
        WITH j
        WHERE j.token = $token
        MERGE (u:User {user_id: $user})
        MERGE (m:Mentor {user_id: $mentor})
        MERGE (u)-[r:MENTORED_BY]->(m)
        SET r.session_count = coalesce(r.session_count, 0)
        WITH r, coalesce(r.status = 'active' AND r.fleet_start_stamp IS NULL, false) AS legacy,
            CASE WHEN r.fleet_start_stamp IS NOT NULL AND r.fleet_start_stamp <= $stamp
                THEN r.fleet_start_stamp ELSE $stamp END AS first
        SET r.status = 'active',
            r.fleet_start_stamp = CASE WHEN legacy THEN null ELSE first END,
            r.start_date = CASE WHEN legacy THEN r.start_date ELSE substring(first, 0, 24) END
        RETURN r.session_count AS sessions
        """
}
