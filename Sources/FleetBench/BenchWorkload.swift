import FleetCore
import FleetJobs
import Foundation

/// The messages each workload drains, and the job mix of workload C.
public enum BenchWorkload: String, Sendable, CaseIterable {
    /// A: no-op jobs.
    case noop
    /// B: a Redis lock and a PostgreSQL upsert per job, over ``keys`` keys.
    case write
    /// C: the contract's job types in realistic proportions, on their real handlers and stores.
    case mix
    /// Publishing through the producer path with confirms.
    case publish

    public static let keys = 1_000
    /// The size of workload A's and B's envelopes, as the issue asks (~200 bytes).
    static let envelopeBytes = 200
    /// Users and courses seeded for workload C.
    static let mixUsers = 2_000
    static let mixCourses = 50

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

    /// Workload C's job types and their share, from the contract's job table (the platform's
    /// traffic is dominated by enrollment changes; each profile edit triggers a recalculation).
    static let jobMix: [(type: String, percent: Int)] = [
        ("enrollment.update", 80),
        ("profile.completion.recalculate", 20),
    ]

    /// Envelope `index` of workload C, cycling through ``jobMix`` in 100-job rounds.
    static func mixEnvelope(index: Int) -> JobEnvelope {
        let slot = index % 100
        var cumulative = 0
        let type = jobMix.first { entry in
            cumulative += entry.percent
            return slot < cumulative
        }!.type
        let user = SampleWorkload.userId(index % mixUsers)
        let payload: [String: JSONValue]
        switch type {
        case "enrollment.update":
            let actions = ["enroll", "enroll", "progress", "progress", "complete", "drop"]
            let action = actions[(index / 7) % actions.count]
            var fields: [String: JSONValue] = [
                "user_id": .string(user),
                "course_id": .string(SampleWorkload.courseId(index % mixCourses)),
                "action": .string(action),
            ]
            if action == "progress" { fields["progress_percentage"] = .integer(Int64(10 * (index % 10))) }
            payload = fields
        default:
            payload = ["user_id": .string(user)]
        }
        return JobEnvelope(id: id(index), type: type, createdAt: epoch, payload: payload)
    }
}
