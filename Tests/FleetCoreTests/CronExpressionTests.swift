import FleetContract
import Foundation
import Testing

@testable import FleetCore

/// Cron parsing, and next fire times in IANA zones across both DST changes (Europe/Berlin,
/// America/New_York and the southern Australia/Sydney; 2026 dates).
@Suite("Cron expressions")
struct CronExpressionTests {
    static func utc(_ text: String) -> Date { RFC3339.parse(text)! }

    /// The first `count` fire times after `start`, in UTC RFC 3339.
    static func fires(_ cron: String, _ zone: String, after start: String, count: Int) throws -> [String] {
        let expression = try CronExpression(cron)
        let timeZone = TimeZone(identifier: zone)!
        var cursor = utc(start)
        var out: [String] = []
        for _ in 0..<count {
            guard let next = expression.nextFire(after: cursor, in: timeZone) else { break }
            out.append(RFC3339.format(next))
            cursor = next
        }
        return out
    }

    @Test("UTC: minutes, hours, steps, lists, names, and a leading seconds field")
    func basics() throws {
        #expect(
            try Self.fires("*/15 * * * *", "UTC", after: "2026-11-30T10:07:00Z", count: 3)
                == ["2026-11-30T10:15:00.000Z", "2026-11-30T10:30:00.000Z", "2026-11-30T10:45:00.000Z"]
        )
        #expect(
            try Self.fires("*/5 * * * * *", "UTC", after: "2026-11-30T12:00:03Z", count: 3)
                == ["2026-11-30T12:00:05.000Z", "2026-11-30T12:00:10.000Z", "2026-11-30T12:00:15.000Z"]
        )
        // Names in any case, a list of months, a weekday range (2026-11-30 is a Monday, 09:00 is past).
        #expect(
            try Self.fires("0 9 * JAN,jul mon-fri", "UTC", after: "2026-11-30T10:00:00Z", count: 2)
                == ["2027-01-01T09:00:00.000Z", "2027-01-04T09:00:00.000Z"]
        )
        // `a/n` runs from a to the end of the field; 7 is Sunday like 0.
        #expect(
            try Self.fires("0 20/2 * * 7", "UTC", after: "2026-11-29T00:00:00Z", count: 3)
                == ["2026-11-29T20:00:00.000Z", "2026-11-29T22:00:00.000Z", "2026-12-06T20:00:00.000Z"]
        )
        // A date that never comes.
        #expect(try CronExpression("0 0 30 2 *").nextFire(after: Self.utc("2026-01-01T00:00:00Z"), in: .gmt) == nil)
    }

    @Test("Vixie rule: both day fields restricted means either matches; a `*` day field means both must")
    func dayOfMonthOrDayOfWeek() throws {
        // November 2026: Friday the 6th, Friday the 13th, Friday the 20th; the 13th once.
        #expect(
            try Self.fires("0 0 13 * FRI", "UTC", after: "2026-11-01T00:00:00Z", count: 3)
                == ["2026-11-06T00:00:00.000Z", "2026-11-13T00:00:00.000Z", "2026-11-20T00:00:00.000Z"]
        )
        #expect(
            try Self.fires("0 0 1,15 * 3", "UTC", after: "2026-11-30T00:00:00Z", count: 3)
                == ["2026-12-01T00:00:00.000Z", "2026-12-02T00:00:00.000Z", "2026-12-09T00:00:00.000Z"]
        )
        // `*/2` starts with `*`: day-of-week alone decides among every second day.
        #expect(
            try Self.fires("0 0 */2 * MON", "UTC", after: "2026-11-01T00:00:00Z", count: 2)
                == ["2026-11-09T00:00:00.000Z", "2026-11-23T00:00:00.000Z"]
        )
    }

    @Test("Europe/Berlin spring forward: 02:30 on 29 March fires once, at 03:00 CEST")
    func berlinSpringForward() throws {
        #expect(
            try Self.fires("30 2 * * *", "Europe/Berlin", after: "2026-03-27T12:00:00Z", count: 3)
                == ["2026-03-28T01:30:00.000Z", "2026-03-29T01:00:00.000Z", "2026-03-30T00:30:00.000Z"]
        )
        // Hourly: 02:00 does not exist and 03:00 is the same instant: one fire, not two.
        #expect(
            try Self.fires("0 * * * *", "Europe/Berlin", after: "2026-03-28T23:30:00Z", count: 3)
                == ["2026-03-29T00:00:00.000Z", "2026-03-29T01:00:00.000Z", "2026-03-29T02:00:00.000Z"]
        )
        // Every 10 minutes inside the gap: all of 02:00-02:50 collapse into one fire at 03:00.
        #expect(
            try Self.fires("*/10 2-3 * * *", "Europe/Berlin", after: "2026-03-29T00:45:00Z", count: 3)
                == ["2026-03-29T01:00:00.000Z", "2026-03-29T01:10:00.000Z", "2026-03-29T01:20:00.000Z"]
        )
    }

    @Test("Europe/Berlin fall back: 02:30 on 25 October fires once, at its first occurrence (CEST)")
    func berlinFallBack() throws {
        #expect(
            try Self.fires("30 2 * * *", "Europe/Berlin", after: "2026-10-24T12:00:00Z", count: 2)
                == ["2026-10-25T00:30:00.000Z", "2026-10-26T01:30:00.000Z"]
        )
        // Hourly: 02:00 CEST, then 03:00 CET; the second 02:00 (01:00Z) does not fire.
        #expect(
            try Self.fires("0 * * * *", "Europe/Berlin", after: "2026-10-24T23:30:00Z", count: 3)
                == ["2026-10-25T00:00:00.000Z", "2026-10-25T02:00:00.000Z", "2026-10-25T03:00:00.000Z"]
        )
    }

    @Test("America/New_York: 02:30 on 8 March fires at 03:00 EDT; 01:30 on 1 November fires once, in EDT")
    func newYork() throws {
        #expect(
            try Self.fires("30 2 * * *", "America/New_York", after: "2026-03-07T12:00:00Z", count: 3)
                == ["2026-03-08T07:00:00.000Z", "2026-03-09T06:30:00.000Z", "2026-03-10T06:30:00.000Z"]
        )
        #expect(
            try Self.fires("30 1 * * *", "America/New_York", after: "2026-10-31T12:00:00Z", count: 2)
                == ["2026-11-01T05:30:00.000Z", "2026-11-02T06:30:00.000Z"]
        )
        #expect(
            try Self.fires("0 * * * *", "America/New_York", after: "2026-11-01T04:30:00Z", count: 2)
                == ["2026-11-01T05:00:00.000Z", "2026-11-01T07:00:00.000Z"]
        )
    }

    @Test("Australia/Sydney (southern): October spring forward and April fall back")
    func sydney() throws {
        #expect(
            try Self.fires("30 2 * * *", "Australia/Sydney", after: "2026-10-03T00:00:00Z", count: 2)
                == ["2026-10-03T16:00:00.000Z", "2026-10-04T15:30:00.000Z"]
        )
        #expect(
            try Self.fires("30 2 * * *", "Australia/Sydney", after: "2026-04-04T00:00:00Z", count: 2)
                == ["2026-04-04T15:30:00.000Z", "2026-04-05T16:30:00.000Z"]
        )
    }

    @Test("lastFire: the newest fire at or before a time and after a floor")
    func lastFire() throws {
        let cron = try CronExpression("*/5 * * * * *")
        let last = cron.lastFire(
            atOrBefore: Self.utc("2026-11-30T12:00:07Z"),
            after: Self.utc("2026-11-29T00:00:00Z"),
            in: .gmt
        )
        #expect(last == Self.utc("2026-11-30T12:00:05Z"))
        let daily = try CronExpression("0 3 * * *")
        #expect(
            daily.lastFire(
                atOrBefore: Self.utc("2026-11-30T12:00:00Z"),
                after: Self.utc("2026-11-01T00:00:00Z"),
                in: .gmt
            )
                == Self.utc("2026-11-30T03:00:00Z")
        )
        #expect(
            daily.lastFire(
                atOrBefore: Self.utc("2026-11-30T02:00:00Z"),
                after: Self.utc("2026-11-29T03:00:00Z"),
                in: .gmt
            )
                == nil
        )
    }

    @Test(
        "Parsing errors name the field",
        arguments: [
            ("* * * *", nil),
            ("* * * * * * *", nil),
            ("61 * * * *", "minute"),
            ("* 24 * * *", "hour"),
            ("* * 0 * *", "day-of-month"),
            ("* * * FOO *", "month"),
            ("* * * * 8", "day-of-week"),
            ("*/0 * * * *", "minute"),
            ("5-1 * * * *", "minute"),
            ("1,,2 * * * *", "minute"),
            ("60 * * * * *", "second"),
            ("* * * * MON/2/3", "day-of-week"),
        ] as [(String, String?)]
    )
    func errors(text: String, field: String?) {
        #expect {
            try CronExpression(text)
        } throws: { error in
            (error as? CronError)?.field == field
        }
    }
}
