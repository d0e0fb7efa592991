import FleetContract
import FleetCore
import FleetJobs
import Foundation

/// The workloads, and the messages of A and B (workload C's are ``BenchMixPlan``'s).
public enum BenchWorkload: String, Sendable, CaseIterable {
    /// A: no-op jobs.
    case noop
    /// B: a Redis lock and a PostgreSQL upsert per job, over ``keys`` keys.
    case write
    /// C: the contract's eleven job types in realistic proportions, on their real handlers and
    /// stores (``BenchMix``).
    case mix
    /// Publishing through the producer path with confirms.
    case publish
    /// One event receiving many registrations at once (``BenchHotPlan``).
    case hot

    public static let keys = 1_000
    /// The size of workload A's and B's envelopes, as the issue asks (~200 bytes).
    static let envelopeBytes = 200
    /// Envelope `index` of workload A or B: a valid job padded to ``envelopeBytes``.
    static func envelope(_ workload: BenchWorkload, index: Int) -> JobEnvelope {
        var payload: [String: JSONValue] = ["key": .string(key(index))]
        let type = workload == .write ? CounterWriteJob.jobType : NoOpJob.jobType
        let bare = JobEnvelope(id: id(index), type: type, createdAt: epoch, payload: payload).encoded().count
        // `,"pad":""` costs 9 bytes before the padding itself.
        payload["pad"] = .string(String(repeating: "x", count: max(0, envelopeBytes - bare - 9)))
        return JobEnvelope(id: id(index), type: type, createdAt: epoch, payload: payload)
    }

    static func key(_ index: Int) -> String { String(format: "k-%04d", index % keys) }

    /// Deterministic ids keep runs identical; the fleet does not deduplicate by envelope id.
    static func id(_ index: Int) -> String { String(format: "00000000-0000-4000-a000-%012d", index) }

    static let epoch = Date(timeIntervalSince1970: 1_795_000_000)
}
