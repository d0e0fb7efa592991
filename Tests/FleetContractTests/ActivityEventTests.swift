import FleetContract
import Foundation
import Testing

@Suite("analytics.activity.record: each event validated")
struct ActivityEventTests {
    static let event: [String: JSONValue] = [
        "event_id": "0B6F3C1E-2F4A-4C51-9D7E-1A2B3C4D5E6F", "user_id": "7c9e6679-7425-40de-944b-e07fc1f90ae7",
        "session_id": "3d1f0c2a-8b7e-4f6d-a5c4-b3a2918f7e6d", "event_type": "page_view",
        "timestamp": "2026-11-01T10:20:30.9+01:00",
    ]

    func parse(_ events: [JSONValue]) throws(EnvelopeRejection) -> AnalyticsActivityRecord {
        try AnalyticsActivityRecord(payload: FieldReader(payload: ["events": .array(events)]), version: 1)
    }

    func rejects(_ change: [String: JSONValue], _ fragment: String) {
        let event = Self.event.merging(change) { $1 }
        do {
            _ = try parse([.object(event)])
            Issue.record("accepted \(change)")
        } catch {
            #expect(error.detail.contains(fragment), "\(error.detail)")
            #expect(error.reason == .invalidPayload)
        }
    }

    @Test("a minimal event: UUIDs lowercased, optional fields empty, value 0")
    func minimal() throws {
        let job = try parse([.object(Self.event)])
        let event = try #require(job.events.first)
        #expect(event.eventId == "0b6f3c1e-2f4a-4c51-9d7e-1a2b3c4d5e6f")
        #expect(event.eventValue == 0)
        #expect(event.userAgent == "" && event.ipAddress == "")
        #expect(event.timestamp == RFC3339.parse("2026-11-01T09:20:30.9Z"))
    }

    @Test("UUIDs, timestamp and event_type are checked")
    func required() {
        rejects(["event_id": "nope"], "events[0].event_id: not a UUID")
        rejects(["session_id": .null], "events[0].session_id: required")
        rejects(["timestamp": "yesterday"], "not an RFC 3339 timestamp")
        rejects(["timestamp": "1969-12-31T23:59:59Z"], "outside")
        rejects(["timestamp": "2106-01-01T00:00:00Z"], "outside")
        rejects(["event_type": "PAGE_VIEW"], "must be one of")
        rejects(["event_type": "hack"], "must be one of")
    }

    @Test("lengths, control characters, numbers and unknown keys")
    func limits() {
        rejects(["page_url": .string(String(repeating: "a", count: 2049))], "longer than 2048")
        rejects(["user_agent": .string(String(repeating: "😀", count: 513))], "longer than 512")
        rejects(["event_category": "a\u{0}b"], "control characters")
        rejects(["ip_address": "10.0.0.1; DROP"], "ip_address")
        rejects(["ip_address": .string(String(repeating: "1", count: 46))], "longer than 45")
        rejects(["event_value": "1"], "expected a number")
        rejects(["extra": 1], "unknown key")
    }

    @Test("at most 1000 events; an empty batch is a no-op")
    func count() throws {
        #expect(try parse([]).events.isEmpty)
        #expect(try parse(Array(repeating: .object(Self.event), count: 1000)).events.count == 1000)
        #expect(throws: EnvelopeRejection.self) { try parse(Array(repeating: .object(Self.event), count: 1001)) }
        #expect(throws: EnvelopeRejection.self) { try parse(["x"]) }
    }

    @Test("the example round-trips through its payload")
    func example() throws {
        let example = try #require(AnalyticsActivityRecord.example)
        let back = try AnalyticsActivityRecord(payload: FieldReader(payload: example.payload), version: 1)
        #expect(back == example)
    }
}
