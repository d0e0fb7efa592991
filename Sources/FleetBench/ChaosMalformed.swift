import FleetContract
import FleetJobs
import Foundation

/// The kinds of bad job the chaos suite publishes among the valid ones: one for each way the
/// contract rejects a message (the envelope decoder's reasons) and for the handlers' permanent
/// errors (an entity that does not exist). Each must end in a dead-letter queue once, with its
/// reason in `x-fleet-reason`, and touch no store.
enum ChaosMalformed: String, CaseIterable, Sendable {
    case invalidJSON = "invalid_json"
    case invalidUTF8 = "invalid_utf8"
    case notAnObject = "not_an_object"
    case missingField = "missing_field"
    case invalidField = "invalid_field"
    case unknownType = "unknown_type"
    case unknownVersion = "unknown_version"
    case invalidPayload = "invalid_payload"
    case unknownCourse = "unknown_course"
    case unknownUser = "unknown_user"
    case unknownEvent = "unknown_event"
    case oversize = "oversize"

    /// The `x-fleet-reason` its dead letter must carry.
    var reason: String { rawValue }

    /// Oversize bodies are 1 MiB each: a few prove the cap without filling the broker's disk.
    static let maximumOversize = 3

    /// The kind of malformed job `index`, cycling through the kinds (oversize only while under its cap).
    static func kind(ofIndex index: Int) -> ChaosMalformed {
        let kind = allCases[index % allCases.count]
        if kind == .oversize && index / allCases.count >= maximumOversize { return .invalidJSON }
        return kind
    }

    /// The message: a routing key bound to a real queue (an unroutable message would never reach a
    /// worker), the job id as `message_id`, and the body.
    func message(id: String, mix: BenchMix, createdAt: Date) -> ChaosMessage {
        let enrollment = EnrollmentUpdateHandler.jobType
        let stamp = RFC3339.format(createdAt)
        func envelope(type: String = enrollment, version: Int = 1, payload: String) -> [UInt8] {
            Array(
                #"{"id":"\#(id)","type":"\#(type)","version":\#(version),"created_at":"\#(stamp)","payload":\#(payload)}"#
                    .utf8
            )
        }
        let user = #""user_id":"\#(mix.userId(0))""#
        let body: [UInt8]
        var routingKey = enrollment
        switch self {
        case .invalidJSON:
            body = Array(#"{"id":"\#(id)","type":"enrollment.update","payload":{"#.utf8)
        case .invalidUTF8:
            body = Array(#"{"id":"\#(id)","type":""#.utf8) + [0xff, 0xfe] + Array(#""}"#.utf8)
        case .notAnObject:
            body = Array(#"["\#(id)", "enrollment.update"]"#.utf8)
        case .missingField:
            body = Array(#"{"id":"\#(id)","type":"enrollment.update","version":1,"created_at":"\#(stamp)"}"#.utf8)
        case .invalidField:
            // created_at two days ahead: more than the contract's 24 hours.
            let future = RFC3339.format(createdAt.addingTimeInterval(2 * 86_400))
            body = Array(
                #"{"id":"\#(id)","type":"enrollment.update","created_at":"\#(future)","payload":{}}"#.utf8
            )
        case .unknownType:
            body = envelope(type: "chaos.unknown", payload: "{}")
        case .unknownVersion:
            body = envelope(version: 99, payload: #"{\#(user),"course_id":"\#(mix.courseId(0))","action":"enroll"}"#)
        case .invalidPayload:
            body = envelope(payload: #"{\#(user),"course_id":"\#(mix.courseId(0))","action":"teleport"}"#)
        case .unknownCourse:
            // A course id of the suite's namespace that was never seeded.
            body = envelope(payload: #"{\#(user),"course_id":"\#(mix.courseId(999_999))","action":"enroll"}"#)
        case .unknownUser:
            routingKey = ProfileCompletionRecalculateHandler.jobType
            body = envelope(type: routingKey, payload: #"{"user_id":"\#(mix.userId(999_999))"}"#)
        case .unknownEvent:
            routingKey = EventRegisterHandler.jobType
            // Graph ids outside every run's prefix: a stray write could not pass a run's check.
            body = envelope(
                type: routingKey,
                payload: #"{"user_id":"\#(mix.malformedId(1))","event_id":"\#(mix.malformedId(2))"}"#
            )
        case .oversize:
            let padding = String(repeating: "x", count: EnvelopeDecoder.maximumBytes)
            body = envelope(payload: #"{\#(user),"padding":"\#(padding)"}"#)
        }
        return ChaosMessage(routingKey: routingKey, messageId: id, body: body)
    }
}

/// One message the chaos suite publishes, as it goes on the wire.
struct ChaosMessage: Sendable, Equatable {
    var routingKey: String
    var messageId: String
    var body: [UInt8]
}

extension BenchMix {
    /// Ids of the suite's malformed jobs and key duplicates: apart from every run's prefix.
    func malformedId(_ index: Int) -> String { String(format: "\(namespace)-ffff-4bad-8000-%012d", index) }
}
