import Bolt
import FleetCore
import Foundation

/// What the networking jobs share: the applied-job record, payload rules and timestamps.
///
/// **Exactly once.** Each job's effect is ONE Cypher query that also MERGEs a
/// `(:FleetAppliedJob {key})` node (unique, see ``GraphMigrations``) with a token fresh to this
/// attempt, and continues only `WHERE j.token = $token`. A redelivered job finds the node holding
/// an earlier token, so the query matches no row and changes nothing. One auto-commit query is one
/// transaction on Neo4j 5 and is applied atomically on FalkorDB (which ignores ROLLBACK, so
/// multi-query transactions would not be safe there).
///
/// **Data only.** The query text is fixed; parameters are UUIDs checked by ``FieldReader/uuid(_:)``,
/// job keys made safe and short by ``jobKey(_:)``, job stamps (an RFC 3339 time and the envelope's
/// validated id), timestamps and integers made here, all together well under 1 KB. FalkorDB splices
/// string parameters into the query text without escaping and crashes on parameters of a few KB, so
/// no payload text other than a validated UUID may ever reach it.
///
/// **Dates** are RFC 3339 UTC strings with milliseconds (`2026-11-25T20:31:02.123Z`), fixed width,
/// so they sort as text: FalkorDB has no `datetime()` and crashes on temporal values in results.
public enum NetworkingGraph {
    public static let appliedJobLabel = "FleetAppliedJob"
    /// Cancellations that found no registration yet, one node per user and event.
    public static let registrationCancelsLabel = "FleetRegistrationCancels"

    /// How long an event's Redis fence counter outlives its last use: as long as the dedup window.
    /// Losing it is harmless (the graph keeps the fence and the counter is raised back on the first
    /// refusal, see ``EventRegisterHandler``), so an idle event's counter need not live forever.
    public static let eventFenceRetention: Duration = .seconds(7 * 24 * 3600)

    /// The applied-job key: the type and the envelope's deduplication key (idempotency key or id),
    /// made safe and small by ``graphSafe(_:)``.
    public static func jobKey(_ envelope: JobEnvelope) -> String {
        "\(envelope.type) \(graphSafe(envelope.deduplicationKey))"
    }

    /// Keys up to this many UTF-8 bytes keep a readable form; longer ones are hashed.
    static let longestReadableKey = 100

    /// A deduplication key as the graph may see it. Idempotency keys are free text from the producer
    /// (up to 200 code points, 800 UTF-8 bytes), and FalkorDB splices string parameters into the
    /// query text and crashes on parameters of a few KB. So:
    /// - up to 100 bytes of only hex digits and dashes (a UUID): as is;
    /// - other keys up to 100 bytes: `hex:` and their UTF-8 bytes in hex (at most 204 characters);
    /// - longer keys: `sha256:` and the SHA-256 of their UTF-8 bytes (71 characters).
    ///
    /// Each form is one key per job and nothing FalkorDB could execute. The first two are what
    /// earlier versions stored, so records made before the hashing still match.
    static func graphSafe(_ key: String) -> String {
        let bytes = key.utf8
        guard bytes.count <= longestReadableKey else { return "sha256:" + SHA256.hex(bytes) }
        let plain = bytes.allSatisfy { byte in
            (byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9"))
                || (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "f")) || byte == UInt8(ascii: "-")
        }
        if plain { return key }
        let digits = Array("0123456789abcdef".utf8)
        var hex: [UInt8] = Array("hex:".utf8)
        for byte in bytes {
            hex.append(digits[Int(byte >> 4)])
            hex.append(digits[Int(byte & 0x0f)])
        }
        return String(decoding: hex, as: UTF8.self)
    }

    /// The job's place in the order that decides between it and its undo, as fixed-width text
    /// (``JobStamp/text``: an RFC 3339 time and a validated UUID, so safe as a parameter).
    static func stamp(_ envelope: JobEnvelope) -> String { JobStamp(envelope).text }

    static func timestamp(_ date: Date = Date()) -> String { RFC3339.format(date) }

    static func token() -> String { UUID().uuidString.lowercased() }

    /// The common opening of each write: record the job or stop. Expects `$key`, `$token`, `$now`.
    static let claimJob = """
        MERGE (j:FleetAppliedJob {key: $key})
        ON CREATE SET j.token = $token, j.applied_at = $now
        """

    /// After a query returned no row: had this job already been applied?
    static func wasApplied(_ graph: BoltClient, key: String) async throws -> Bool {
        let result = try await graph.run(
            "MATCH (j:FleetAppliedJob {key: $key}) RETURN count(j) AS n",
            parameters: ["key": .string(key)]
        )
        return (result.first("n")?.int ?? 0) > 0
    }
}

/// `{user_id, event_id}` of `event.register` and `event.cancel`.
public struct EventRegistrationPayload: Sendable, Equatable {
    public let userId: String
    public let eventId: String

    public init(userId: String, eventId: String) {
        self.userId = userId
        self.eventId = eventId
    }

    public static func parse(_ payload: FieldReader) throws(EnvelopeRejection) -> EventRegistrationPayload {
        EventRegistrationPayload(userId: try payload.uuid("user_id"), eventId: try payload.uuid("event_id"))
    }
}

/// `{user_id, mentor_user_id}` of `mentorship.start` and `mentorship.session_logged`.
public struct MentorshipPayload: Sendable, Equatable {
    public let userId: String
    public let mentorUserId: String

    public init(userId: String, mentorUserId: String) {
        self.userId = userId
        self.mentorUserId = mentorUserId
    }

    /// A user cannot mentor themselves.
    public static func parse(_ payload: FieldReader) throws(EnvelopeRejection) -> MentorshipPayload {
        let parsed = MentorshipPayload(
            userId: try payload.uuid("user_id"),
            mentorUserId: try payload.uuid("mentor_user_id")
        )
        guard parsed.userId != parsed.mentorUserId else {
            throw payload.invalid("mentor_user_id", "must differ from user_id")
        }
        return parsed
    }
}
