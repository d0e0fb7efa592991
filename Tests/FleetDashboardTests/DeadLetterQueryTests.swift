import FleetContract
import Foundation
import Testing

@testable import FleetDashboard

@Suite("DLQ filter parsing")
struct DeadLetterQueryTests {
    let now = RFC3339.parse("2026-11-30T12:00:00Z")!

    @Test("form fields decode + and percent escapes, keep repeated names, and drop empty values")
    func formFields() {
        let fields = FormFields("queue=&type=enrollment.update&id=a&id=b%20c&reason=unknown%5Fcourse&q=x+y")
        #expect(fields["queue"] == nil)
        #expect(fields["type"] == "enrollment.update")
        #expect(fields.all("id") == ["a", "b c"])
        #expect(fields["reason"] == "unknown_course")
        #expect(fields["q"] == "x y")
        #expect(FormFields.encode([("id", "a b&c"), ("queue", "jobs.learning")]) == "id=a%20b%26c&queue=jobs.learning")
    }

    @Test("since and until take RFC 3339, the browser's datetime-local, or an age")
    func times() {
        let query = DeadLetterQuery(FormFields("since=2h&until=2026-11-30T11:30"), now: now)
        #expect(query.problems.isEmpty)
        #expect(query.since == now.addingTimeInterval(-7200))
        #expect(query.until == RFC3339.parse("2026-11-30T11:30:00Z"))
        #expect(
            DeadLetterQuery(FormFields("since=2026-11-29T10:00:00%2B01:00"), now: now).since
                == RFC3339.parse("2026-11-29T09:00:00Z")
        )
        #expect(DeadLetterQuery(FormFields("since=7d"), now: now).since == now.addingTimeInterval(-7 * 86400))
    }

    @Test("an unreadable time is a problem, never an absent bound")
    func badTime() {
        let query = DeadLetterQuery(FormFields("since=yesterday&type=x"), now: now)
        #expect(query.since == nil)
        #expect(query.problems.count == 1)
        #expect(query.problems[0].contains("since"))
    }

    @Test("the query becomes the admin filter and round-trips through its fields")
    func filter() {
        let query = DeadLetterQuery(FormFields("queue=jobs.learning&type=t&reason=r&since=1h"), now: now)
        let filter = query.filter(limit: 10, messageIds: ["a"])
        #expect(filter.type == "t" && filter.reason == "r" && filter.limit == 10 && filter.messageIds == ["a"])
        #expect(filter.since == now.addingTimeInterval(-3600) && filter.until == nil)
        let again = DeadLetterQuery(FormFields(FormFields.encode(query.fields)), now: now)
        #expect(again == query)
    }
}
