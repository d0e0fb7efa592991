import Bolt
import FleetContract
import FleetCore
import FleetStoreKit

/// `mentorship.session_logged` `{user_id, mentor_user_id}`: `session_count` + 1 on the pair's
/// `MENTORED_BY`, once per job, and `last_session_at` = the latest session job's `created_at`.
/// Before the mentorship's start has run, the session is counted on a `pending` mentorship that the
/// start makes active (see ``MentorshipStartHandler``): never retried or dead-lettered for that.
public struct MentorshipSessionLoggedHandler: JobHandler {
    let graph: BoltClient

    public init(graph: BoltClient) { self.graph = graph }

    public func handle(_ job: MentorshipSessionLogged, context: JobContext) async throws -> JobOutcome {
        let result = try await graph.run(Self.query, parameters: Mentorship.parameters(job, context.envelope))
        return result.rows.isEmpty ? .alreadyApplied : .applied
    }

    static let query = """
        \(GraphJobClaim.claimJob)
        WITH j
        WHERE j.token = $token
        MERGE (u:User {user_id: $user})
        MERGE (m:Mentor {user_id: $mentor})
        MERGE (u)-[r:MENTORED_BY]->(m)
        ON CREATE SET r.status = 'pending', r.session_count = 0
        SET r.session_count = coalesce(r.session_count, 0) + 1,
            r.last_session_at = CASE WHEN r.last_session_at IS NOT NULL AND r.last_session_at >= $created
                THEN r.last_session_at ELSE $created END
        RETURN r.session_count AS sessions
        """
}
