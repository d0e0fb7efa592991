import Foundation

/// Reads typed fields out of a JSON object with errors that name the field: used for the envelope
/// and, by job handlers, for payloads. Errors name the field and the rule, never the value: they are
/// logged and kept in dead letters, and a value may be personal data.
public struct FieldReader: Sendable {
    /// The object read.
    public let object: [String: JSONValue]
    /// Prefix of field names in errors, e.g. `payload.`.
    let path: String
    /// The rejection reason for a missing or ill-typed value.
    let reason: EnvelopeRejection.Reason

    /// A reader of a payload: errors name `payload.<field>` and reject as `invalid_payload`.
    public init(payload: [String: JSONValue]) {
        self.init(object: payload, path: "payload.", reason: .invalidPayload)
    }

    init(object: [String: JSONValue], path: String, reason: EnvelopeRejection.Reason) {
        self.object = object
        self.path = path
        self.reason = reason
    }

    /// The rejection for `field`, explained by `problem`.
    public func invalid(_ field: String, _ problem: String) -> EnvelopeRejection {
        EnvelopeRejection(reason, "\(path)\(field): \(problem)")
    }

    private func missing(_ field: String) -> EnvelopeRejection {
        EnvelopeRejection(reason == .invalidField ? .missingField : reason, "\(path)\(field): required")
    }

    /// A string, or nil when the field is absent or null.
    public func optionalString(_ field: String) throws(EnvelopeRejection) -> String? {
        switch object[field] {
        case nil, .null?: return nil
        case .string(let value)?: return value
        case let other?: throw invalid(field, "expected a string, got a \(other.kind)")
        }
    }

    /// A string that must be present.
    public func string(_ field: String) throws(EnvelopeRejection) -> String {
        guard let value = try optionalString(field) else { throw missing(field) }
        return value
    }

    /// A string from a fixed set of values.
    public func string(_ field: String, oneOf allowed: Set<String>) throws(EnvelopeRejection) -> String {
        let value = try string(field)
        guard allowed.contains(value) else {
            throw invalid(field, "must be one of \(allowed.sorted().joined(separator: ", "))")
        }
        return value
    }

    /// An integer, or nil when absent or null: a number written without a fraction or exponent (any
    /// 64-bit value), or an integral one written with them below 10^15 in magnitude (`100.0`, `1e2`).
    public func optionalInt(_ field: String) throws(EnvelopeRejection) -> Int? {
        switch object[field] {
        case nil, .null?: return nil
        case .integer(let value)?: return Int(value)
        case .number(let value)? where value.rounded() == value && abs(value) < 1e15: return Int(value)
        case let other?: throw invalid(field, "expected an integer, got a \(other.kind)")
        }
    }

    /// An integer within `range`, or nil when absent or null.
    public func optionalInt(_ field: String, in range: ClosedRange<Int>) throws(EnvelopeRejection) -> Int? {
        guard let value = try optionalInt(field) else { return nil }
        guard range.contains(value) else {
            throw invalid(field, "out of range \(range.lowerBound)...\(range.upperBound)")
        }
        return value
    }

    /// A lowercased UUID.
    public func uuid(_ field: String) throws(EnvelopeRejection) -> String {
        let value = try string(field)
        guard let uuid = UUIDText.canonical(value) else { throw invalid(field, "not a UUID") }
        return uuid
    }

    /// A lowercased UUID, or nil when absent or null.
    public func optionalUUID(_ field: String) throws(EnvelopeRejection) -> String? {
        guard object[field] != nil, object[field] != .null else { return nil }
        return try uuid(field)
    }

    /// An RFC 3339 timestamp, or nil when absent or null.
    public func optionalTimestamp(_ field: String) throws(EnvelopeRejection) -> Date? {
        guard let text = try optionalString(field) else { return nil }
        guard let date = RFC3339.parse(text) else { throw invalid(field, "not an RFC 3339 timestamp") }
        return date
    }

    /// An RFC 3339 timestamp that must be present.
    public func timestamp(_ field: String) throws(EnvelopeRejection) -> Date {
        guard let date = try optionalTimestamp(field) else { throw missing(field) }
        return date
    }
}

extension FieldReader {
    /// A MongoDB ObjectId: 24 hex digits in either case, returned lowercased.
    public func objectId(_ field: String) throws(EnvelopeRejection) -> String {
        let text = try string(field)
        guard let id = ObjectIdText.canonical(text) else { throw invalid(field, "not an ObjectId (24 hex digits)") }
        return id
    }
}
