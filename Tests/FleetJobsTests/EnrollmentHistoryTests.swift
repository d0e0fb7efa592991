import FleetContract
import FleetCore
import FleetJobs
import Foundation
import Testing

/// The order rule of `enrollment.update`: an enrollment ends as applying its jobs in stamp order
/// would leave it, whatever order they are processed in, duplicates and retries included.
@Suite("Enrollment history")
struct EnrollmentHistoryTests {
    typealias Action = EnrollmentUpdateHandler.Action

    struct Job: Sendable, CustomStringConvertible {
        let action: Action
        let progress: Int?
        let stamp: JobStamp
        var description: String { "\(action)\(progress.map { "(\($0))" } ?? "")@\(stamp.milliseconds)" }
    }

    static let pool: [(Action, Int?)] = [
        (.enroll, nil), (.progress, 30), (.progress, 70), (.complete, nil), (.drop, nil),
    ]

    static func job(_ index: Int, _ action: Action, _ progress: Int? = nil) -> Job {
        let id = String(format: "00000000-0000-4000-8000-%012d", index)
        return Job(
            action: action,
            progress: progress,
            stamp: JobStamp(createdAt: Date(timeIntervalSince1970: Double(index)), id: id)
        )
    }

    /// The reference: the in-order rules applied one by one in stamp order.
    static func inOrder(_ jobs: [Job]) -> (EnrollmentState?, Date?, Date?) {
        var state: EnrollmentState?
        var enrolledAt: Date?
        var completedAt: Date?
        for job in jobs.sorted(by: { $0.stamp < $1.stamp }) {
            guard let next = EnrollmentTransition.apply(job.action, progress: job.progress, to: state) else { continue }
            if state == nil { enrolledAt = job.stamp.createdAt }
            if next.status == EnrollmentState.completed && completedAt == nil { completedAt = job.stamp.createdAt }
            state = next
        }
        return (state, enrolledAt, completedAt)
    }

    static func recorded(_ jobs: [Job]) -> EnrollmentHistory {
        var history = EnrollmentHistory()
        for job in jobs { history.record(job.action, progress: job.progress, stamp: job.stamp) }
        return history
    }

    static func permutations<T>(_ items: [T]) -> [[T]] { allOrders(items) }

    /// Every sequence of up to four jobs from the pool (about 800), each processed in every order,
    /// with its first job also delivered twice: the same row as the in-order rules.
    @Test func everyOrderOfEverySmallJobSetEndsAsInStampOrder() {
        var sets: [[Job]] = [[]]
        for length in 1...4 {
            var next: [[Job]] = []
            for prefix in sets where prefix.count == length - 1 {
                for (action, progress) in Self.pool { next.append(prefix + [Self.job(length, action, progress)]) }
            }
            sets += next
        }
        var checked = 0
        for jobs in sets where !jobs.isEmpty {
            let (expected, enrolledAt, completedAt) = Self.inOrder(jobs)
            for order in Self.permutations(jobs) {
                let history = Self.recorded(order + [order[0]])
                #expect(history.state == expected, "\(order)")
                #expect(history.enrolledAt == (expected == nil ? nil : enrolledAt), "\(order)")
                #expect(history.completedAt == completedAt, "\(order)")
                checked += 1
            }
        }
        #expect(checked > 10_000)
    }

    @Test func dropBeforeItsEarlierEnrollEndsDropped() {
        let enroll = Self.job(1, .enroll)
        let drop = Self.job(2, .drop)
        var history = EnrollmentHistory()
        history.record(drop.action, progress: nil, stamp: drop.stamp)
        #expect(history.state == nil)  // a tombstone: no row yet
        history.record(enroll.action, progress: nil, stamp: enroll.stamp)
        #expect(history.state == EnrollmentState(status: "dropped", progress: 0))
    }

    @Test func equalTimesAreOrderedById() {
        let time = Date(timeIntervalSince1970: 100)
        let enroll = JobStamp(createdAt: time, id: "00000000-0000-4000-8000-00000000000b")
        let drop = JobStamp(createdAt: time, id: "00000000-0000-4000-8000-00000000000a")
        var history = EnrollmentHistory()
        history.record(.drop, progress: nil, stamp: drop)
        history.record(.enroll, progress: nil, stamp: enroll)
        #expect(history.state?.status == "enrolled")
    }

    @Test func legacyRowsOrderAgainstTheirEnrollmentDate() {
        let enrolledAt = Date(timeIntervalSince1970: 1000)
        var history = EnrollmentHistory.legacy(
            EnrollmentState(status: "dropped", progress: 40),
            enrolledAt: enrolledAt,
            completedAt: nil
        )
        #expect(history.state == EnrollmentState(status: "dropped", progress: 40))
        history.record(.enroll, progress: nil, stamp: Self.job(999, .enroll).stamp)
        #expect(history.state?.status == "dropped")
        history.record(.enroll, progress: nil, stamp: Self.job(1001, .enroll).stamp)
        #expect(history.state == EnrollmentState(status: "enrolled", progress: 40))
    }

    /// A completed row written without a history keeps its dates, and a drop created between its
    /// enrollment and its completion, processed late, does not drop it.
    @Test func legacyCompletedRowsKeepTheirDates() {
        let enrolledAt = Date(timeIntervalSince1970: 1000)
        let completedAt = Date(timeIntervalSince1970: 5000)
        var history = EnrollmentHistory.legacy(
            EnrollmentState(status: "completed", progress: 100),
            enrolledAt: enrolledAt,
            completedAt: completedAt
        )
        #expect(history.enrolledAt == enrolledAt)
        #expect(history.completedAt == completedAt)
        history.record(.drop, progress: nil, stamp: Self.job(3000, .drop).stamp)
        #expect(history.state == EnrollmentState(status: "completed", progress: 100))
        history.record(.progress, progress: 50, stamp: Self.job(6000, .progress).stamp)
        #expect(history.state?.status == "completed")
        #expect(history.completedAt == completedAt)
        // Without a completion date the completion orders at the enrollment and sets no date.
        let undated = EnrollmentHistory.legacy(
            EnrollmentState(status: "completed", progress: 100),
            enrolledAt: enrolledAt,
            completedAt: nil
        )
        #expect(undated.state?.status == "completed")
        #expect(undated.completedAt == nil)
    }

    @Test func stampTextSortsAsStamps() {
        let a = JobStamp(createdAt: Date(timeIntervalSince1970: 1.0015), id: "00000000-0000-4000-8000-000000000002")
        let b = JobStamp(createdAt: Date(timeIntervalSince1970: 1.0019), id: "00000000-0000-4000-8000-000000000001")
        let c = JobStamp(createdAt: Date(timeIntervalSince1970: 2), id: "00000000-0000-4000-8000-000000000000")
        #expect(a.milliseconds == b.milliseconds)
        #expect(b < a && a < c)
        #expect(b.text < a.text && a.text < c.text)
        #expect(JobStamp(text: a.text) == a)
        #expect(JobStamp(text: "not a stamp") == nil)
        // Every millisecond of a day and of far years reads back exactly, whatever the Double rounding.
        let bases: [Int64] = [0, 1_795_000_000_000, 253_402_300_000_000 - 86_400_000]
        for base in bases {
            for offset in stride(from: Int64(0), to: 86_400_000, by: 7919) {
                let stamp = JobStamp(
                    createdAt: Date(timeIntervalSince1970: Double(base + offset) / 1000),
                    id: "00000000-0000-4000-8000-000000000001"
                )
                let back = JobStamp(text: stamp.text)
                guard back == stamp else {
                    Issue.record("\(stamp.milliseconds) read back as \(String(describing: back?.milliseconds))")
                    return
                }
            }
        }
    }
}
