import Foundation

/// `analytics.activity.record` `{events: [...]}`: rows of the seed's ClickHouse `user_activity`, one
/// per event. Each event is read key by key (an unknown key rejects the job); `event_id` is the
/// event's identity, so a job delivered twice stores each event once.
public struct AnalyticsActivityRecord: JobDefinition {
    public static let jobType = "analytics.activity.record"
    /// The most events one job may carry (the whole message is also capped at 1 MiB by the envelope).
    public static let maxEvents = 1000

    /// What the career platform logs: the known `event_type`s. Another value rejects the job.
    public static let eventTypes: [String] = [
        "page_view", "click", "search", "login", "logout", "profile_update", "skill_added",
        "course_view", "course_enroll", "lesson_started", "lesson_completed",
        "assessment_started", "assessment_completed", "job_view", "job_apply", "career_path_view",
        "content_view", "content_share", "connection_request", "event_register", "mentorship_request",
    ]

    /// The events, in payload order.
    public let events: [ActivityEvent]

    public init(events: [ActivityEvent]) {
        self.events = events
    }

    public init(payload: FieldReader, version: Int) throws(EnvelopeRejection) {
        guard case .array(let values)? = payload.object["events"] else {
            throw payload.object["events"] == nil
                ? EnvelopeRejection(.invalidPayload, "payload.events: required")
                : payload.invalid("events", "expected an array of event objects")
        }
        guard values.count <= Self.maxEvents else {
            throw payload.invalid("events", "more than \(Self.maxEvents) events")
        }
        var events: [ActivityEvent] = []
        events.reserveCapacity(values.count)
        for (index, value) in values.enumerated() {
            events.append(try ActivityEvent.read(value, index: index))
        }
        self.events = events
    }

    public static var payloadSchema: JSONValue {
        ContractSchema.object(
            "A batch of user activity events, rows of ClickHouse `user_activity`. Unknown top-level members are "
                + "ignored; an event takes only its own keys.",
            required: ["events"],
            properties: [
                "events": [
                    "type": "array",
                    "description": .string("At most \(maxEvents) events (and the message at most 1 MiB)."),
                    "maxItems": .integer(Int64(maxEvents)),
                    "items": ActivityEvent.schema,
                ]
            ],
            additionalProperties: true
        )
    }

    public static var example: Self? {
        Self(events: [
            ActivityEvent(
                eventId: "0b6f3c1e-2f4a-4c51-9d7e-1a2b3c4d5e6f",
                userId: "7c9e6679-7425-40de-944b-e07fc1f90ae7",
                sessionId: "3d1f0c2a-8b7e-4f6d-a5c4-b3a2918f7e6d",
                eventType: "course_view",
                timestamp: RFC3339.parse("2026-11-01T10:20:30Z")!,
                eventCategory: "learning",
                eventAction: "open",
                eventValue: 1,
                pageURL: "https://careers.example/courses/swift",
                referrerURL: "https://careers.example/",
                userAgent: "Mozilla/5.0",
                ipAddress: "203.0.113.7"
            )
        ])
    }

    public var payload: [String: JSONValue] { ["events": .array(events.map(\.json))] }
}

/// One `user_activity` row as a job carries it.
public struct ActivityEvent: Sendable, Equatable {
    public static let maxCategoryLength = 100
    public static let maxActionLength = 100
    public static let maxURLLength = 2048
    public static let maxUserAgentLength = 512
    /// An IPv6 address with an embedded IPv4 one is at most 45 characters.
    public static let maxIPAddressLength = 45
    /// ClickHouse `DateTime` holds 1970-01-01T00:00:00Z to 2105-12-31T23:59:59Z (UInt32 seconds, to 2106-02-07).
    public static let timestampRange: ClosedRange<Date> =
        Date(timeIntervalSince1970: 0)...Date(timeIntervalSince1970: 4_291_747_199)
    static let ipAddressPattern = "^[0-9A-Fa-f:.]*$"

    /// Lowercased UUIDs.
    public let eventId: String
    public let userId: String
    public let sessionId: String
    /// One of ``AnalyticsActivityRecord/eventTypes``.
    public let eventType: String
    /// Kept to the second (ClickHouse `DateTime`).
    public let timestamp: Date
    public let eventCategory: String
    public let eventAction: String
    /// Finite; 0 when absent.
    public let eventValue: Double
    public let pageURL: String
    public let referrerURL: String
    /// Stored, never logged.
    public let userAgent: String
    /// Stored, never logged.
    public let ipAddress: String

    public init(
        eventId: String,
        userId: String,
        sessionId: String,
        eventType: String,
        timestamp: Date,
        eventCategory: String = "",
        eventAction: String = "",
        eventValue: Double = 0,
        pageURL: String = "",
        referrerURL: String = "",
        userAgent: String = "",
        ipAddress: String = ""
    ) {
        self.eventId = UUIDText.canonical(eventId) ?? eventId
        self.userId = UUIDText.canonical(userId) ?? userId
        self.sessionId = UUIDText.canonical(sessionId) ?? sessionId
        self.eventType = eventType
        self.timestamp = timestamp
        self.eventCategory = eventCategory
        self.eventAction = eventAction
        self.eventValue = eventValue
        self.pageURL = pageURL
        self.referrerURL = referrerURL
        self.userAgent = userAgent
        self.ipAddress = ipAddress
    }

    static let keys: Set<String> = [
        "event_id", "user_id", "session_id", "event_type", "timestamp", "event_category", "event_action",
        "event_value", "page_url", "referrer_url", "user_agent", "ip_address",
    ]

    static func read(_ value: JSONValue, index: Int) throws(EnvelopeRejection) -> ActivityEvent {
        let path = "payload.events[\(index)]."
        guard case .object(let object) = value else {
            throw EnvelopeRejection(.invalidPayload, "payload.events[\(index)]: expected an object")
        }
        let reader = FieldReader(object: object, path: path, reason: .invalidPayload)
        for key in object.keys.sorted() where !keys.contains(key) {
            throw EnvelopeRejection(
                .invalidPayload,
                // Named by the rule, not the key: a key is whatever the producer wrote, possibly personal data.
                "payload.events[\(index)]: unknown key (allowed: \(keys.sorted().joined(separator: ", ")))"
            )
        }
        let timestamp = try reader.timestamp("timestamp")
        guard timestampRange.contains(timestamp) else {
            throw reader.invalid("timestamp", "outside 1970-01-01T00:00:00Z...2105-12-31T23:59:59Z")
        }
        func text(_ key: String, max: Int) throws(EnvelopeRejection) -> String {
            guard let value = try reader.optionalString(key) else { return "" }
            guard value.unicodeScalars.count <= max else {
                throw reader.invalid(key, "longer than \(max) Unicode code points")
            }
            guard !value.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) else {
                throw reader.invalid(key, "must not contain control characters")
            }
            return value
        }
        let ipAddress = try text("ip_address", max: maxIPAddressLength)
        guard
            ipAddress.unicodeScalars.allSatisfy({
                $0.isASCII && ($0.properties.isASCIIHexDigit || $0 == ":" || $0 == ".")
            })
        else {
            throw reader.invalid("ip_address", "only hex digits, '.' and ':' (an IPv4 or IPv6 address)")
        }
        let eventValue: Double
        switch object["event_value"] {
        case nil, .null?: eventValue = 0
        case .integer(let integer)?: eventValue = Double(integer)
        case .number(let number)?:
            guard number.isFinite else { throw reader.invalid("event_value", "must be finite") }
            eventValue = number + 0.0
        case _?: throw reader.invalid("event_value", "expected a number")
        }
        return ActivityEvent(
            eventId: try reader.uuid("event_id"),
            userId: try reader.uuid("user_id"),
            sessionId: try reader.uuid("session_id"),
            eventType: try reader.string("event_type", oneOf: Set(AnalyticsActivityRecord.eventTypes)),
            timestamp: timestamp,
            eventCategory: try text("event_category", max: maxCategoryLength),
            eventAction: try text("event_action", max: maxActionLength),
            eventValue: eventValue,
            pageURL: try text("page_url", max: maxURLLength),
            referrerURL: try text("referrer_url", max: maxURLLength),
            userAgent: try text("user_agent", max: maxUserAgentLength),
            ipAddress: ipAddress
        )
    }

    var json: JSONValue {
        var object: [String: JSONValue] = [
            "event_id": .string(eventId), "user_id": .string(userId), "session_id": .string(sessionId),
            "event_type": .string(eventType), "timestamp": .string(RFC3339.format(timestamp)),
        ]
        if !eventCategory.isEmpty { object["event_category"] = .string(eventCategory) }
        if !eventAction.isEmpty { object["event_action"] = .string(eventAction) }
        if eventValue != 0 { object["event_value"] = .number(eventValue) }
        if !pageURL.isEmpty { object["page_url"] = .string(pageURL) }
        if !referrerURL.isEmpty { object["referrer_url"] = .string(referrerURL) }
        if !userAgent.isEmpty { object["user_agent"] = .string(userAgent) }
        if !ipAddress.isEmpty { object["ip_address"] = .string(ipAddress) }
        return .object(object)
    }

    static var schema: JSONValue {
        func text(
            _ description: String,
            _ max: Int,
            pattern: String = ContractSchema.noControlCharactersPattern
        )
            -> JSONValue
        {
            ContractSchema.string(
                "\(description); at most \(max) Unicode code points, no control characters (Cc).",
                pattern: pattern,
                maxLength: max,
                nullable: true,
                rules: pattern == ContractSchema.noControlCharactersPattern
                    ? [] : [["pattern": .string(ContractSchema.noControlCharactersPattern)]]
            )
        }
        return ContractSchema.object(
            "One user_activity row. Only these keys; absent or null optional strings are stored empty, "
                + "event_value 0.",
            required: ["event_id", "user_id", "session_id", "event_type", "timestamp"],
            properties: [
                "event_id": ContractSchema.uuid("The event's identity: stored once however often it is delivered."),
                "user_id": ContractSchema.uuid("The user."),
                "session_id": ContractSchema.uuid("The session."),
                "event_type": ContractSchema.oneOf("What happened.", AnalyticsActivityRecord.eventTypes),
                "timestamp": ContractSchema.timestamp(
                    "When; kept to the second. Must lie within 1970-01-01T00:00:00Z...2105-12-31T23:59:59Z "
                        + "(ClickHouse DateTime); not expressible here."
                ),
                "event_category": text("Category", maxCategoryLength),
                "event_action": text("Action", maxActionLength),
                "event_value": ContractSchema.number("A value (any finite number).", nullable: true),
                "page_url": text("The page", maxURLLength),
                "referrer_url": text("The referrer", maxURLLength),
                "user_agent": text("The browser's user agent; stored, never logged", maxUserAgentLength),
                "ip_address": text(
                    "The client address (hex digits, '.' and ':'); stored, never logged",
                    maxIPAddressLength,
                    pattern: ipAddressPattern
                ),
            ],
            additionalProperties: false
        )
    }
}
