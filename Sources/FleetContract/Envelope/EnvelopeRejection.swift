/// Why a message can never be processed. Such messages go to the dead-letter queue at once, with
/// ``reason`` in the `x-fleet-reason` header and ``detail`` in `x-fleet-error`.
public struct EnvelopeRejection: Error, Sendable, Equatable, CustomStringConvertible {
    public struct Reason: Sendable, Hashable, CustomStringConvertible {
        public let description: String
        public static let oversize = Reason(description: "oversize")
        public static let invalidUTF8 = Reason(description: "invalid_utf8")
        public static let invalidJSON = Reason(description: "invalid_json")
        public static let notAnObject = Reason(description: "not_an_object")
        public static let missingField = Reason(description: "missing_field")
        public static let invalidField = Reason(description: "invalid_field")
        public static let unknownType = Reason(description: "unknown_type")
        public static let unknownVersion = Reason(description: "unknown_version")
        /// The payload breaks its job type's rules (missing, ill-typed or out-of-range value).
        public static let invalidPayload = Reason(description: "invalid_payload")
    }

    public let reason: Reason
    public let detail: String

    public init(_ reason: Reason, _ detail: String) {
        self.reason = reason
        self.detail = detail
    }

    public var description: String { "\(reason): \(detail)" }
}
