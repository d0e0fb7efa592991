import FleetContract
import FleetProducer
import Foundation

/// The demo's `analytics.activity.record` jobs: activity events of the demo users for ClickHouse
/// `user_activity`. Event ids and timestamps are deterministic, so a second demo run (or a job
/// published twice) adds no row: the analytics worker stores each `event_id` once.
public enum SampleAnalytics {
    public static let jobs = 20
    public static let eventsPerJob = 25
    /// The event types the sample cycles through (all in ``AnalyticsActivityRecord/eventTypes``).
    public static let eventTypes = ["page_view", "course_view", "search", "course_enroll", "lesson_completed"]
    /// Every demo event id starts with this, so the report can pick the demo's rows out of a shared table.
    public static let eventIdPrefix = "00000000-0000-4000-d000-"

    public static func eventId(_ index: Int) -> String { eventIdPrefix + String(format: "%012d", index) }
    static func sessionId(_ index: Int) -> String { String(format: "00000000-0000-4000-e000-%012d", index) }

    /// The events of job `job`: `eventsPerJob` events of one session each, a minute apart from
    /// 2026-11-01T09:00:00Z on.
    public static func events(job: Int, users: Int) -> [ActivityEvent] {
        (0..<eventsPerJob).map { offset in
            let index = job * eventsPerJob + offset
            let type = eventTypes[index % eventTypes.count]
            return ActivityEvent(
                eventId: eventId(index),
                userId: SampleWorkload.userId(job % users),
                sessionId: sessionId(job),
                eventType: type,
                timestamp: Date(timeIntervalSince1970: 1_793_523_600 + Double(index) * 60),
                eventCategory: type.hasPrefix("course") || type.hasPrefix("lesson") ? "learning" : "navigation",
                eventAction: "demo",
                eventValue: 1,
                pageURL: "https://careers.example/demo/\(index % 7)",
                userAgent: "WorkerFleet demo",
                ipAddress: "192.0.2.\(1 + index % 200)"
            )
        }
    }

    /// Publishes ``jobs`` jobs of ``eventsPerJob`` events, every seventh job twice (same envelope).
    /// Returns the jobs, the duplicate deliveries and the distinct events published.
    public static func publish(
        _ producer: JobProducer,
        users: Int
    ) async throws -> (jobs: Int, duplicates: Int, events: Int) {
        var duplicates = 0
        for job in 0..<jobs {
            let envelope = try await producer.enqueue(AnalyticsActivityRecord(events: events(job: job, users: users)))
            if job % 7 == 0 {
                try await producer.publish(envelope: envelope, body: envelope.encoded())
                duplicates += 1
            }
        }
        return (jobs, duplicates, jobs * eventsPerJob)
    }
}
