import FleetContract
import FleetCore
import FleetJobs
import FleetStoreKit
import Foundation

/// The hot-entity workload: `count` `event.register` jobs for ONE event with `capacity` seats, all
/// queued before the worker starts, so every job of the run contends for the same event (its Redis
/// lock `lock:event:<id>` and its graph node). Measures what the lock costs under contention.
///
/// The check: exactly `min(count, capacity)` registrations confirmed, the rest waitlisted, one
/// relationship and one applied-job record per job. A registration never goes from confirmed back
/// to waitlisted (it keeps its status while active, and nothing here cancels), so the final number
/// of confirmed ones bounds every earlier moment's: confirmed at the end = capacity means the
/// event was never over capacity.
struct BenchHotPlan: Sendable {
    static let defaultCount = 1_000
    static let defaultCapacity = 100

    let mix: BenchMix
    let run: Int
    let count: Int
    let capacity: Int
    let envelopes: [JobEnvelope]

    var eventId: String { mix.eventId(run: run, 0) }

    init(mix: BenchMix, run: Int, count: Int, capacity: Int, base: Date) {
        self.mix = mix
        self.run = run
        self.count = count
        self.capacity = capacity
        envelopes = (0..<count).map { index in
            JobEnvelope(
                id: mix.jobId(run: run, index),
                type: EventRegisterHandler.jobType,
                createdAt: base.addingTimeInterval(Double(index) / 1000),
                payload: [
                    "user_id": .string(mix.graphUserId(run: run, index)), "event_id": .string(mix.eventId(run: run, 0)),
                ]
            )
        }
    }

    func seed(_ stores: BenchDomainStores) async throws {
        try await stores.deleteGraph(prefix: mix.runPrefix(run))
        try await stores.createEvent(eventId, capacity: capacity, title: "Bench hot event")
    }

    func verify(_ stores: BenchDomainStores, label: String) async throws {
        let registrations = try await stores.graph.run(
            """
            MATCH (:User)-[r:REGISTERED_FOR]->(e:Event {event_id: $event})
            RETURN r.status AS status, count(r) AS n
            """,
            parameters: ["event": .string(eventId)]
        )
        var counts: [String: Int] = [:]
        for record in registrations.records {
            counts[record["status"]?.string ?? "none", default: 0] += Int(record["n"]?.int ?? 0)
        }
        let confirmed = min(count, capacity)
        let expected = ["confirmed": confirmed, "waitlisted": count - confirmed].filter { $0.value > 0 }
        guard counts == expected else {
            throw BenchError("\(label): registrations of the hot event \(counts), expected \(expected)")
        }
        let applied = try await stores.graph.run(
            "MATCH (j:\(GraphJobClaim.appliedJobLabel)) WHERE j.key CONTAINS $prefix RETURN count(j) AS n",
            parameters: ["prefix": .string(mix.runPrefix(run))]
        )
        let records = Int(applied.first("n")?.int ?? -1)
        guard records == count else { throw BenchError("\(label): \(records) applied-job records, expected \(count)") }
    }
}
