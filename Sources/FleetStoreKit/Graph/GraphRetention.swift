import Bolt
import FleetContract
import FleetCore
import Foundation

/// Removes the graph's deduplication records once they are past the dedup window (7 days by
/// default): after that, the same key is a new job (the contract's "Dedup window").
///
/// Deletes in batches of ``batchSize`` nodes, each one statement with two short parameters:
/// FalkorDB crashes on parameters of a few KB, and a huge single delete would hold its write lock.
public enum GraphRetention {
    public static let batchSize = 500
    public static let defaultWindow: Duration = .seconds(7 * 24 * 3600)

    public struct InvalidJobType: Error, CustomStringConvertible {
        public let jobType: String
        public var description: String { "not a job type: \(jobType.prefix(80))" }
    }

    /// Deletes the `FleetAppliedJob` nodes of `jobType` (keys `"<type> …"`) whose `applied_at` is
    /// before `cutoff`, and returns how many it deleted.
    ///
    /// - Throws: ``InvalidJobType`` for anything but lowercase letters, digits, `.` and `_` (the text
    ///   reaches FalkorDB, which splices parameters into the query), or a store error.
    public static func prune(_ graph: BoltClient, jobType: String, olderThan cutoff: Date) async throws -> Int {
        let valid =
            !jobType.isEmpty && jobType.utf8.count <= 100
            && jobType.utf8.allSatisfy { byte in
                (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z"))
                    || (byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9")) || byte == UInt8(ascii: ".")
                    || byte == UInt8(ascii: "_")
            }
        guard valid else { throw InvalidJobType(jobType: jobType) }
        return try await deleteInBatches(
            graph,
            """
            MATCH (j:\(GraphJobClaim.appliedJobLabel))
            WHERE j.key STARTS WITH $prefix AND j.applied_at < $cutoff
            WITH j LIMIT \(batchSize)
            DELETE j
            RETURN count(*) AS n
            """,
            parameters: ["prefix": .string("\(jobType) "), "cutoff": .string(RFC3339.format(cutoff))]
        )
    }

    private static func deleteInBatches(
        _ graph: BoltClient,
        _ query: String,
        parameters: [String: BoltValue]
    ) async throws -> Int {
        var total = 0
        while true {
            let deleted = Int(try await graph.run(query, parameters: parameters).first("n")?.int ?? 0)
            total += deleted
            if deleted < batchSize { return total }
        }
    }
}
