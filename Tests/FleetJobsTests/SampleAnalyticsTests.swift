import FleetApp
import FleetContract
import Foundation
import Testing

/// The demo's activity events (scripts/demo.sh): valid for the contract, and the same on every run,
/// so a second demo adds no `user_activity` row and the report can pick them out by event id.
@Suite struct SampleAnalyticsTests {
    let jobs = (0..<SampleAnalytics.jobs).map { SampleAnalytics.events(job: $0, users: 100) }

    @Test func everyJobPassesTheContractsValidation() throws {
        for events in jobs {
            let payload = AnalyticsActivityRecord(events: events).payload
            let read = try AnalyticsActivityRecord(payload: FieldReader(payload: payload), version: 1)
            #expect(read.events == events)
        }
    }

    @Test func eventIdsAreDistinctDeterministicAndCarryTheDemoPrefix() {
        let ids = jobs.flatMap { $0.map(\.eventId) }
        #expect(ids.count == SampleAnalytics.jobs * SampleAnalytics.eventsPerJob)
        #expect(Set(ids).count == ids.count)
        #expect(ids.allSatisfy { $0.hasPrefix(SampleAnalytics.eventIdPrefix) })
        #expect(SampleAnalytics.events(job: 3, users: 100) == jobs[3])
    }

    @Test func eventsSpreadEvenlyOverTheSampleTypes() {
        let counts = Dictionary(grouping: jobs.flatMap { $0 }, by: \.eventType).mapValues(\.count)
        #expect(Set(counts.keys) == Set(SampleAnalytics.eventTypes))
        #expect(counts.values.allSatisfy { $0 == 100 })
        #expect(SampleAnalytics.eventTypes.allSatisfy(AnalyticsActivityRecord.eventTypes.contains))
    }
}
