import Bolt
import FleetContract
import FleetCore
import FleetStoreKit

/// The mentorship jobs (``MentorshipStartHandler``, ``MentorshipSessionLoggedHandler``): one graph
/// query each, which also claims the job (``GraphJobClaim``); a query that matches no row means the
/// job was already applied.
public struct MentorshipHandler<Job: MentorshipJob & MentorshipQuery>: JobHandler {
    let graph: BoltClient

    public init(graph: BoltClient) { self.graph = graph }

    public func handle(_ job: Job, context: JobContext) async throws -> JobOutcome {
        let result = try await graph.run(Job.graphQuery, parameters: Self.parameters(job, context.envelope))
        return result.rows.isEmpty ? .alreadyApplied : .applied
    }

    static func parameters(_ payload: some MentorshipJob, _ envelope: JobEnvelope) -> [String: BoltValue] {
        let stamp = JobStamp(envelope)
        return [
            "user": .string(payload.userId), "mentor": .string(payload.mentorUserId),
            "key": .string(GraphJobClaim.jobKey(envelope)), "token": .string(GraphJobClaim.token()),
            "now": .string(NetworkingGraph.timestamp()), "stamp": .string(stamp.text),
            "created": .string(RFC3339.format(stamp.createdAt)),
        ]
    }
}

/// `mentorship.start` `{user_id, mentor_user_id}` → Neo4j `(:User)-[:MENTORED_BY {start_date,
/// status: 'active', session_count}]->(:Mentor)`. User and Mentor nodes are MERGEd by `user_id`
/// (the graph may not know them yet).
///
/// **Order.** The mentorship depends only on which start and session jobs arrived, never on the
/// order they ran in: a session that runs before its start counts on a `MENTORED_BY` with status
/// `pending` (no `start_date`), which the start then makes `active`. `start_date` is the earliest
/// start job's `created_at` (its ``JobStamp`` is kept in `fleet_start_stamp`), so a second start
/// changes nothing, whenever it runs.
public typealias MentorshipStartHandler = MentorshipHandler<MentorshipStart>

/// `mentorship.session_logged` `{user_id, mentor_user_id}`: `session_count` + 1 on the pair's
/// `MENTORED_BY`, once per job, and `last_session_at` = the latest session job's `created_at`.
/// Before the mentorship's start has run, the session is counted on a `pending` mentorship that the
/// start makes active (see ``MentorshipStartHandler``): never retried or dead-lettered for that.
public typealias MentorshipSessionLoggedHandler = MentorshipHandler<MentorshipSessionLogged>

/// The graph write of a mentorship job.
public protocol MentorshipQuery {
    /// The Cypher text; its parameters are ``MentorshipHandler``'s.
    static var graphQuery: String { get }
}

extension MentorshipStart: MentorshipQuery {
    /// A mentorship that is active without a stamp was started before stamps were kept: its
    /// `start_date` stays. The first SET write-locks the relationship on Neo4j before the stamp is
    /// read, so two starts running at once cannot both read the old one.
    public static let graphQuery = """
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

extension MentorshipSessionLogged: MentorshipQuery {
    /// Counts the session once; creates a `pending` mentorship when the start has not run yet.
    public static let graphQuery = """
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
