import Bolt
import FleetCore

/// `mentorship.start` `{user_id, mentor_user_id}` → Neo4j `(:User)-[:MENTORED_BY {start_date,
/// status: 'active', session_count: 0}]->(:Mentor)`. User and Mentor nodes are MERGEd by
/// `user_id` (the graph may not know them yet); an existing mentorship is left as it is.
/// `start_date` is when the job was applied.
public struct MentorshipStartHandler: JobHandler {
    public static let jobType = "mentorship.start"
    let graph: BoltClient

    public init(graph: BoltClient) { self.graph = graph }

    public func parse(_ payload: FieldReader, version: Int) throws(EnvelopeRejection) -> MentorshipPayload {
        try MentorshipPayload.parse(payload)
    }

    public func handle(_ payload: MentorshipPayload, context: JobContext) async throws -> JobOutcome {
        let result = try await graph.run(Self.query, parameters: Mentorship.parameters(payload, context.envelope))
        return result.rows.isEmpty ? .alreadyApplied : .applied
    }

    static let query = """
        \(NetworkingGraph.claimJob)
        WITH j
        WHERE j.token = $token
        MERGE (u:User {user_id: $user})
        MERGE (m:Mentor {user_id: $mentor})
        MERGE (u)-[r:MENTORED_BY]->(m)
        ON CREATE SET r.start_date = $now, r.status = 'active', r.session_count = 0
        RETURN r.session_count AS sessions
        """
}

/// `mentorship.session_logged` `{user_id, mentor_user_id}`: `session_count` + 1 on the pair's
/// `MENTORED_BY`, once per job. No such mentorship: `unknown_mentorship`, retried for three
/// attempts (the start may still be queued), then permanent.
public struct MentorshipSessionLoggedHandler: JobHandler {
    public static let jobType = "mentorship.session_logged"
    let graph: BoltClient

    public init(graph: BoltClient) { self.graph = graph }

    public func parse(_ payload: FieldReader, version: Int) throws(EnvelopeRejection) -> MentorshipPayload {
        try MentorshipPayload.parse(payload)
    }

    public func handle(_ payload: MentorshipPayload, context: JobContext) async throws -> JobOutcome {
        let key = NetworkingGraph.jobKey(context.envelope)
        let result = try await graph.run(Self.query, parameters: Mentorship.parameters(payload, context.envelope))
        if !result.rows.isEmpty { return .applied }
        if try await NetworkingGraph.wasApplied(graph, key: key) { return .alreadyApplied }
        let message = "user \(payload.userId) has no mentorship with \(payload.mentorUserId)"
        // The mentorship.start job may still be queued or retrying: wait for it a few retries
        // (1 s, 5 s, 30 s on the default schedule) before calling the session a mistake.
        guard context.attempt > Self.attemptsWaitingForStart else {
            throw JobError.transient("unknown_mentorship", message)
        }
        throw JobError.permanent("unknown_mentorship", message)
    }

    static let attemptsWaitingForStart = 3

    // The MATCH comes first: without a mentorship no applied-job node is created.
    static let query = """
        MATCH (:User {user_id: $user})-[r:MENTORED_BY]->(:Mentor {user_id: $mentor})
        WITH r
        LIMIT 1
        \(NetworkingGraph.claimJob)
        WITH r, j
        WHERE j.token = $token
        SET r.session_count = coalesce(r.session_count, 0) + 1, r.last_session_at = $now
        RETURN r.session_count AS sessions
        """
}

enum Mentorship {
    static func parameters(_ payload: MentorshipPayload, _ envelope: JobEnvelope) -> [String: BoltValue] {
        [
            "user": .string(payload.userId), "mentor": .string(payload.mentorUserId),
            "key": .string(NetworkingGraph.jobKey(envelope)), "token": .string(NetworkingGraph.token()),
            "now": .string(NetworkingGraph.timestamp()),
        ]
    }
}
