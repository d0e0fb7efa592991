import FleetContract
import Foundation

/// One `user_activity` row as `INSERT … FORMAT JSONEachRow` sends it: the seed's column names, the
/// timestamp as Unix seconds (read alike whatever the server's time zone).
struct ActivityRow: Encodable, Sendable {
    let event_id: String
    let user_id: String
    let event_type: String
    let event_category: String
    let event_action: String
    let event_value: Double
    let page_url: String
    let referrer_url: String
    let user_agent: String
    let ip_address: String
    let timestamp: Int64
    let session_id: String

    init(_ event: ActivityEvent) {
        event_id = event.eventId
        user_id = event.userId
        event_type = event.eventType
        event_category = event.eventCategory
        event_action = event.eventAction
        event_value = event.eventValue
        page_url = event.pageURL
        referrer_url = event.referrerURL
        user_agent = event.userAgent
        ip_address = event.ipAddress
        timestamp = Int64(event.timestamp.timeIntervalSince1970.rounded(.down))
        session_id = event.sessionId
    }
}
