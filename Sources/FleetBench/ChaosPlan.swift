import FleetContract
import Foundation

/// What the chaos suite publishes: workload C's jobs (``BenchMixPlan``, checked afterwards by
/// ``BenchMixCheck``), 10% duplicates and 5% malformed jobs, interleaved. Made again identically
/// from a ``ChaosState`` by each step of the suite (prepare, publish, verify).
///
/// Duplicates come in two kinds, alternating: the same message again (same id), and a new id
/// carrying the original's `idempotency_key` (the original is then published with that key). A
/// duplicate follows its original by a few dozen messages, so the two often run at the same time.
struct ChaosPlan: Sendable {
    static let duplicatePercent = 10
    static let malformedPercent = 5
    /// How many messages after its original a duplicate is published.
    static let duplicateLag = 37

    let mix: BenchMixPlan
    /// Every message, in publishing order.
    let messages: [ChaosMessage]
    /// Message id → the reason its dead letter must carry.
    let malformed: [String: String]
    /// How many of the messages are duplicates of a valid job.
    let duplicates: Int

    var valid: Int { mix.envelopes.count }

    /// The split of `total` messages: valid jobs, duplicates, malformed jobs.
    static func split(total: Int) -> (valid: Int, duplicates: Int, malformed: Int) {
        let malformed = total * malformedPercent / 100
        let duplicates = total * duplicatePercent / 100
        return (total - malformed - duplicates, duplicates, malformed)
    }

    init(state: ChaosState) {
        let benchMix = BenchMix(namespace: state.namespace)
        let (validCount, duplicateCount, malformedCount) = Self.split(total: state.total)
        mix = BenchMixPlan(mix: benchMix, run: state.run, count: validCount, base: state.baseDate)
        duplicates = duplicateCount
        // Duplicate k copies valid job k·V/D: spread evenly over the run and over the job types.
        var keyed = Set<Int>()
        var sources: [Int] = []
        for k in 0..<duplicateCount {
            let source = k * validCount / max(1, duplicateCount)
            sources.append(source)
            if k % 2 == 1 { keyed.insert(source) }
        }
        var originals = mix.envelopes
        for index in keyed {
            let envelope = originals[index]
            originals[index] = JobEnvelope(
                id: envelope.id,
                type: envelope.type,
                version: envelope.version,
                createdAt: envelope.createdAt,
                // Hex digits and dashes only: the graph keeps such keys readable, so the check still
                // finds the run's prefix in its applied-job records.
                idempotencyKey: "\(envelope.id)-d0",
                notBefore: envelope.notBefore,
                payload: envelope.payload
            )
        }
        var ordered: [(position: Double, message: ChaosMessage)] = originals.enumerated().map {
            (
                Double($0.offset),
                ChaosMessage(routingKey: $0.element.type, messageId: $0.element.id, body: $0.element.encoded())
            )
        }
        for (k, source) in sources.enumerated() {
            var copy = originals[source]
            if k % 2 == 1 {
                copy = JobEnvelope(
                    id: benchMix.keyDuplicateId(k),
                    type: copy.type,
                    version: copy.version,
                    createdAt: copy.createdAt,
                    idempotencyKey: copy.idempotencyKey,
                    notBefore: copy.notBefore,
                    payload: copy.payload
                )
            }
            let message = ChaosMessage(routingKey: copy.type, messageId: copy.id, body: copy.encoded())
            ordered.append((Double(source + Self.duplicateLag) + 0.5, message))
        }
        var reasons: [String: String] = [:]
        for j in 0..<malformedCount {
            let kind = ChaosMalformed.kind(ofIndex: j)
            let id = benchMix.malformedId(100 + j)
            reasons[id] = kind.reason
            let message = kind.message(id: id, mix: benchMix, createdAt: state.baseDate)
            ordered.append((Double(j * validCount / max(1, malformedCount)) + 0.25, message))
        }
        messages = ordered.sorted { $0.position < $1.position }.map(\.message)
        malformed = reasons
    }
}

extension BenchMix {
    /// The new id of key duplicate `k` (the idempotency key says it is a duplicate, not the id).
    func keyDuplicateId(_ k: Int) -> String { String(format: "\(namespace)-fffe-4000-a000-%012d", k) }
}

/// What every step of one chaos run shares, in a small JSON file: enough to make the plan again.
struct ChaosState: Codable, Sendable, Equatable {
    var namespace: String
    var run: Int
    /// Messages published: valid jobs, duplicates and malformed ones.
    var total: Int
    /// The valid jobs' first `created_at`, in Unix milliseconds.
    var baseMilliseconds: Int64

    var baseDate: Date { Date(timeIntervalSince1970: Double(baseMilliseconds) / 1000) }

    static func load(_ path: String) throws -> ChaosState {
        try JSONDecoder().decode(ChaosState.self, from: Data(contentsOf: URL(fileURLWithPath: path)))
    }

    func save(_ path: String) throws {
        try JSONEncoder().encode(self).write(to: URL(fileURLWithPath: path))
    }
}
