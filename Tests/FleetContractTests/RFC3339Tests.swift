import FleetContract
import Foundation
import Testing

@Suite("RFC 3339 timestamps")
struct RFC3339Tests {
    @Test func parsesZonesAndFractions() {
        #expect(RFC3339.parse("1970-01-01T00:00:00Z") == Date(timeIntervalSince1970: 0))
        #expect(RFC3339.parse("1970-01-01T01:00:00+01:00") == Date(timeIntervalSince1970: 0))
        #expect(RFC3339.parse("1969-12-31T19:00:00-05:00") == Date(timeIntervalSince1970: 0))
        #expect(RFC3339.parse("2000-02-29t12:00:00.250z") == Date(timeIntervalSince1970: 951_825_600.25))
    }

    @Test(arguments: [
        "", "2026-11-25", "2026-11-25T10:00Z", "2026-13-01T00:00:00Z", "2025-02-29T00:00:00Z",
        "2026-11-25T24:00:00Z", "2026-11-25T10:00:00+0100", "2026-11-25T10:00:00.Z",
        "2026-11-25T10:00:00Zjunk", " 2026-11-25T10:00:00Z",
    ])
    func rejectsMalformedTimestamps(text: String) {
        #expect(RFC3339.parse(text) == nil)
    }

    @Test func formatsUTCWithMillisecondsAndRoundTrips() {
        let date = Date(timeIntervalSince1970: 1_764_064_800.123)
        #expect(RFC3339.format(date) == "2025-11-25T10:00:00.123Z")
        #expect(RFC3339.format(Date(timeIntervalSince1970: -1)) == "1969-12-31T23:59:59.000Z")
        #expect(RFC3339.parse(RFC3339.format(date)).map { abs($0.timeIntervalSince(date)) < 0.001 } == true)
    }

    @Test func formatsEveryFieldWithItsZeroPaddingAndRoundTripsAcrossTheCalendar() {
        #expect(RFC3339.format(millisecondsSince1970: 0) == "1970-01-01T00:00:00.000Z")
        #expect(RFC3339.format(millisecondsSince1970: -62_135_596_800_000) == "0001-01-01T00:00:00.000Z")
        #expect(RFC3339.format(millisecondsSince1970: 253_402_300_799_999) == "9999-12-31T23:59:59.999Z")
        #expect(RFC3339.format(millisecondsSince1970: 951_782_405_007) == "2000-02-29T00:00:05.007Z")
        // Every 7,777,777 s over 300 years: the text parses back to the same instant.
        for seconds in stride(from: -3_000_000_000, through: 6_000_000_000, by: 7_777_777) {
            let milliseconds = Int64(seconds) * 1000 + Int64(abs(seconds) % 1000)
            let text = RFC3339.format(millisecondsSince1970: milliseconds)
            #expect(text.utf8.count == 24)
            let parsed = RFC3339.parse(text).map { Int64(($0.timeIntervalSince1970 * 1000).rounded()) }
            #expect(parsed == milliseconds, "\(text)")
        }
    }
}
