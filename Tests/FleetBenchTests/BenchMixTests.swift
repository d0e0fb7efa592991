import FleetApp
import FleetContract
import FleetCore
import FleetJobs
import Foundation
import Testing

@testable import FleetBench

@Suite("Benchmark job mix and hot workload")
struct BenchMixTests {
    let mix = BenchMix(namespace: "0badcafe")

    /// Every job type's handler, with clients that never connect: parsing touches no store.
    func withRegistry(_ body: (JobRegistry) throws -> Void) async throws {
        let configuration = try FleetConfiguration.fromEnvironment(configDirectory: ".", environment: [:])
        let stores = FleetStores(configuration: configuration)
        do {
            try body(JobCatalog.registry(stores: stores))
        } catch {
            await stores.shutdown()
            throw error
        }
        await stores.shutdown()
    }

    @Test func everyRoundOfAHundredHoldsTheShares() {
        #expect(BenchMix.shares.count == 11)
        #expect(BenchMix.shares.map(\.percent).reduce(0, +) == 100)
        for round in [0, 7] {
            var counts: [String: Int] = [:]
            for index in (round * 100)..<(round * 100 + 100) { counts[BenchMix.type(ofIndex: index), default: 0] += 1 }
            #expect(counts == Dictionary(uniqueKeysWithValues: BenchMix.shares.map { ($0.type, $0.percent) }))
        }
        // The types interleave: the first ten jobs are not all of one type.
        #expect(Set((0..<10).map(BenchMix.type(ofIndex:))).count > 3)
        // Ten assessments per hundred, two follow-ups each.
        #expect(BenchMix.settlements(count: 100) == 120)
        #expect(BenchMix.settlements(count: 20_000) == 24_000)
    }

    @Test func thePlanIsValidAndItsEntitiesAreConsistent() async throws {
        let plan = BenchMixPlan(mix: mix, run: 3, count: 300, base: Date().addingTimeInterval(-600.5))
        #expect(plan.envelopes.count == 300)
        #expect(Set(plan.envelopes.map(\.id)).count == 300)
        #expect(Set(plan.envelopes.map(\.type)).count == 11)
        #expect(plan.envelopes.allSatisfy { $0.id.hasPrefix(mix.runPrefix(3)) })
        try await withRegistry { registry in
            for envelope in plan.envelopes {
                _ = try registry.prepare(try registry.decoder.decode(envelope.encoded()))
            }
        }
        // Stamp order is publication order.
        let dates = plan.envelopes.map(\.createdAt)
        #expect(zip(dates, dates.dropFirst()).allSatisfy { $0 < $1 })
        // Each registration is a distinct (user, event); each cancel withdraws an earlier registration.
        let registers = plan.registrations.filter(\.register)
        #expect(Set(registers.map { "\($0.event) \($0.user)" }).count == registers.count)
        let cancels = plan.registrations.filter { !$0.register }
        #expect(!cancels.isEmpty && Set(cancels.map { "\($0.event) \($0.user)" }).count == cancels.count)
        for cancel in cancels {
            #expect(
                registers.contains { $0.event == cancel.event && $0.user == cancel.user && $0.index < cancel.index }
            )
        }
        // Sessions go to mentorships that have a start.
        let starts = Set(plan.mentorships.filter(\.start).map { "\($0.mentee) \($0.mentor)" })
        #expect(plan.mentorships.allSatisfy { starts.contains("\($0.mentee) \($0.mentor)") })
        // Assessments feed the career paths: every career job's user takes assessments.
        let assessed = Set(plan.assessments.map(\.user))
        #expect(!plan.careers.isEmpty && plan.careers.allSatisfy { $0.user < BenchMix.assessedUsers })
        #expect(!assessed.isEmpty)
        #expect(plan.capacity >= 1 && plan.events >= 1)
    }

    @Test func theHotPlanRegistersDistinctUsersForOneEvent() async throws {
        let plan = BenchHotPlan(mix: mix, run: 1, count: 250, capacity: 100, base: Date())
        #expect(plan.envelopes.count == 250)
        #expect(
            plan.envelopes.allSatisfy { $0.type == "event.register" && $0.payload["event_id"] == .string(plan.eventId) }
        )
        #expect(Set(plan.envelopes.map { "\($0.payload["user_id"].map { "\($0)" } ?? "-")" }).count == 250)
        try await withRegistry { registry in
            for envelope in plan.envelopes.prefix(3) {
                _ = try registry.prepare(try registry.decoder.decode(envelope.encoded()))
            }
        }
    }

    @Test func idsAreCanonicalAndNamespaced() {
        for id in [
            mix.userId(7), mix.courseId(7), mix.pathId(1), mix.eventId(run: 70_000, 3), mix.jobId(run: 2, 19_999),
        ] {
            #expect(UUID(uuidString: id) != nil, "\(id)")
            #expect(id == id.lowercased() && id.hasPrefix("0badcafe-"))
        }
        #expect(mix.skillId(9).count == 24 && mix.contentId(99).count == 24)
        #expect(mix.skillId(1) != mix.contentId(1))
    }

    @Test func theReportHasATablePerJobType() {
        var report = BenchReport(jobs: 100, concurrency: 16, prefetch: 200)
        var histogram = LatencyHistogram()
        histogram.record(.milliseconds(3))
        var result = BenchResult(
            mode: "m",
            jobs: 120,
            seconds: 1,
            p50: .milliseconds(1),
            p99: .milliseconds(2),
            maxRSSKiB: 1
        )
        result.types = [BenchTypeResult(type: "assessment.score", histogram: histogram)]
        report.add(result, workload: "mix", side: "fleet", isBaseline: false, concurrency: 16, run: 1)
        // The main table and the per-type table, before the targets.
        let lines = report.mainTable.split(separator: "\n", omittingEmptySubsequences: false)
        #expect(lines.count == 7)
        #expect(lines[4] == "| Workload | Job type | jobs per run | handler p50 ms | handler p99 ms |")
        #expect(lines[6].hasPrefix("| C: job mix | `assessment.score` | 1 | 3.0"))
    }
}
