import Bolt
import FleetContract
import Foundation

/// The graph side of exactly-once: each job's effect is one Cypher query that also MERGEs a
/// `(:FleetAppliedJob {key})` node (unique) holding a token fresh to the attempt, and continues only
/// `WHERE j.token = $token`. A redelivered job finds the node holding an earlier token, so its query
/// matches no row and changes nothing. One auto-commit query is one transaction on Neo4j 5 and is
/// applied atomically on FalkorDB (which ignores ROLLBACK, so multi-query transactions would not be
/// safe there).
public enum GraphJobClaim {
    public static let appliedJobLabel = "FleetAppliedJob"

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

    public static func token() -> String { UUID().uuidString.lowercased() }

    /// The common opening of each write: record the job or stop. Expects `$key`, `$token`, `$now`.
    public static let claimJob = """
        MERGE (j:FleetAppliedJob {key: $key})
        ON CREATE SET j.token = $token, j.applied_at = $now
        """

    /// After a query returned no row: had this job already been applied?
    public static func wasApplied(_ graph: BoltClient, key: String) async throws -> Bool {
        let result = try await graph.run(
            "MATCH (j:FleetAppliedJob {key: $key}) RETURN count(j) AS n",
            parameters: ["key": .string(key)]
        )
        return (result.first("n")?.int ?? 0) > 0
    }
}
