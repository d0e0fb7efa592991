import FleetContract
import FleetCore

/// Enqueues the jobs a handler starts once its own effect is durable (e.g. `assessment.score`'s
/// recalculations), with publisher confirms and the parent job's `traceparent`.
public protocol FollowUpPublishing: Sendable {
    func enqueue(type: String, payload: [String: JSONValue], idempotencyKey: String, traceparent: String?) async throws
}
