/// Why a message can never be processed. Such messages go to the dead-letter queue at once, with
/// ``reason`` in the `x-fleet-reason` header and ``detail`` in `x-fleet-error`.
public struct EnvelopeRejection: Error, Sendable, Equatable, CustomStringConvertible {
    /// A machine-readable reason, the `x-fleet-reason` of the dead letter.
    public struct Reason: Sendable, Hashable, CustomStringConvertible {
        /// The reason as the header carries it, e.g. `invalid_json`.
        public let description: String
        /// The body is over ``EnvelopeDecoder/maximumBytes``.
        public static let oversize = Reason(description: "oversize")
        /// The body is not valid UTF-8.
        public static let invalidUTF8 = Reason(description: "invalid_utf8")
        /// The body is not strict RFC 8259 JSON.
        public static let invalidJSON = Reason(description: "invalid_json")
        /// The body is JSON but not an object.
        public static let notAnObject = Reason(description: "not_an_object")
        /// A required envelope field is absent or null.
        public static let missingField = Reason(description: "missing_field")
        /// An envelope field is ill-typed or out of range.
        public static let invalidField = Reason(description: "invalid_field")
        /// The `type` is not a job type of the contract, or this worker has no handler for it.
        public static let unknownType = Reason(description: "unknown_type")
        /// The type has no such payload `version`.
        public static let unknownVersion = Reason(description: "unknown_version")
        /// The payload breaks its job type's rules (missing, ill-typed or out-of-range value).
        public static let invalidPayload = Reason(description: "invalid_payload")
        /// Signing is `required` and the message is unsigned, names an unknown key id, or its MAC
        /// does not verify.
        public static let badSignature = Reason(description: "bad_signature")
        /// The AMQP `content_type` property is present and is not `application/json`.
        public static let invalidContentType = Reason(description: "invalid_content_type")
        /// The AMQP `type` property is present, non-empty and differs from the body's `type`.
        public static let typeMismatch = Reason(description: "type_mismatch")
        /// The body's `type` is not bound to the queue the delivery came from (`queues.yaml`).
        public static let wrongQueue = Reason(description: "wrong_queue")

        /// Every reason, in the order a delivery is checked (the consumer checks the signature and
        /// the AMQP properties around the body; the decoder checks the body).
        public static let all: [Reason] = [
            oversize, badSignature, invalidContentType, invalidUTF8, invalidJSON, notAnObject, missingField,
            invalidField, unknownType, unknownVersion, typeMismatch, wrongQueue, invalidPayload,
        ]
    }

    /// Why the job is rejected.
    public let reason: Reason
    /// What exactly is wrong, naming the field (the `x-fleet-error` of the dead letter).
    public let detail: String

    /// A rejection for `reason`, explained by `detail`.
    public init(_ reason: Reason, _ detail: String) {
        self.reason = reason
        self.detail = detail
    }

    /// `<reason>: <detail>`.
    public var description: String { "\(reason): \(detail)" }
}
