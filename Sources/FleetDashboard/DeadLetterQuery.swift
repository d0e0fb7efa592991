import FleetContract
import FleetCore
import Foundation

/// The DLQ browser's filter as the page's form sends it: work queue, job type, reason and a time range.
/// `since`/`until` take an RFC 3339 time, the browser's `datetime-local` value (read as UTC), or an age
/// such as `30m`, `2h`, `7d` (that long before now). Something unreadable is reported, not ignored, so a
/// replay of "everything matching" never widens silently.
public struct DeadLetterQuery: Sendable, Equatable {
    public var queue: String?
    public var type: String?
    public var reason: String?
    public var since: Date?
    public var until: Date?
    /// Why a field was not understood; the page shows these and actions refuse to run.
    public var problems: [String] = []

    public init(
        queue: String? = nil,
        type: String? = nil,
        reason: String? = nil,
        since: Date? = nil,
        until: Date? = nil
    ) {
        self.queue = queue
        self.type = type
        self.reason = reason
        self.since = since
        self.until = until
    }

    public init(_ fields: FormFields, now: Date = Date()) {
        queue = fields["queue"]
        type = fields["type"]
        reason = fields["reason"]
        for (name, keyPath) in [("since", \DeadLetterQuery.since), ("until", \DeadLetterQuery.until)] {
            guard let text = fields[name] else { continue }
            if let date = Self.time(text, now: now) {
                self[keyPath: keyPath] = date
            } else {
                problems.append("\(name): expected an RFC 3339 time or an age such as 30m, 2h, 7d, not \(text)")
            }
        }
    }

    /// The admin filter for these fields, with a selection of ids when given.
    public func filter(limit: Int? = nil, messageIds: Set<String>? = nil) -> DeadLetterAdmin.Filter {
        DeadLetterAdmin.Filter(
            type: type,
            messageIds: messageIds,
            reason: reason,
            since: since,
            until: until,
            limit: limit
        )
    }

    /// The fields to carry in links and hidden inputs, absent ones left out.
    public var fields: [(String, String)] {
        var pairs: [(String, String)] = []
        if let queue { pairs.append(("queue", queue)) }
        if let type { pairs.append(("type", type)) }
        if let reason { pairs.append(("reason", reason)) }
        if let since { pairs.append(("since", RFC3339.format(since))) }
        if let until { pairs.append(("until", RFC3339.format(until))) }
        return pairs
    }

    static func time(_ text: String, now: Date) -> Date? {
        if let date = RFC3339.parse(text) { return date }
        // <input type="datetime-local">: 2026-11-30T04:00 or with seconds, no zone.
        if let date = RFC3339.parse(text + ":00Z") ?? RFC3339.parse(text + "Z") { return date }
        guard let unit = text.last, let amount = Double(text.dropLast()), amount >= 0 else { return nil }
        let seconds: Double
        switch unit {
        case "s": seconds = amount
        case "m": seconds = amount * 60
        case "h": seconds = amount * 3600
        case "d": seconds = amount * 86400
        default: return nil
        }
        return now.addingTimeInterval(-seconds)
    }

    public static func == (lhs: DeadLetterQuery, rhs: DeadLetterQuery) -> Bool {
        lhs.queue == rhs.queue && lhs.type == rhs.type && lhs.reason == rhs.reason && lhs.since == rhs.since
            && lhs.until == rhs.until && lhs.problems == rhs.problems
    }
}
