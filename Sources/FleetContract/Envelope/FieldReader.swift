import Foundation

/// Reads typed fields out of a JSON object with errors that name the field: used for the envelope
/// and, by job handlers, for payloads.
public struct FieldReader: Sendable {
    public let object: [String: JSONValue]
    /// Prefix of field names in errors, e.g. `payload.`.
    let path: String
    /// The rejection reason for a missing or ill-typed value.
    let reason: EnvelopeRejection.Reason

    public init(payload: [String: JSONValue]) {
        self.init(object: payload, path: "payload.", reason: .invalidPayload)
    }

    init(object: [String: JSONValue], path: String, reason: EnvelopeRejection.Reason) {
        self.object = object
        self.path = path
        self.reason = reason
    }

    public func invalid(_ field: String, _ problem: String) -> EnvelopeRejection {
        EnvelopeRejection(reason, "\(path)\(field): \(problem)")
    }

    private func missing(_ field: String) -> EnvelopeRejection {
        EnvelopeRejection(reason == .invalidField ? .missingField : reason, "\(path)\(field): required")
    }

    public func optionalString(_ field: String) throws(EnvelopeRejection) -> String? {
        switch object[field] {
        case nil, .null?: return nil
        case .string(let value)?: return value
        case let other?: throw invalid(field, "expected a string, got a \(other.kind)")
        }
    }

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

    public func optionalInt(_ field: String) throws(EnvelopeRejection) -> Int? {
        switch object[field] {
        case nil, .null?: return nil
        case .integer(let value)?: return Int(value)
        case .number(let value)? where value.rounded() == value && abs(value) < 1e15: return Int(value)
        case let other?: throw invalid(field, "expected an integer, got a \(other.kind)")
        }
    }

    public func optionalInt(_ field: String, in range: ClosedRange<Int>) throws(EnvelopeRejection) -> Int? {
        guard let value = try optionalInt(field) else { return nil }
        guard range.contains(value) else {
            throw invalid(field, "\(value) is out of range \(range.lowerBound)...\(range.upperBound)")
        }
        return value
    }

    /// A lowercased UUID.
    public func uuid(_ field: String) throws(EnvelopeRejection) -> String {
        let value = try string(field)
        guard let uuid = UUIDText.canonical(value) else { throw invalid(field, "not a UUID") }
        return uuid
    }

    public func optionalUUID(_ field: String) throws(EnvelopeRejection) -> String? {
        guard object[field] != nil, object[field] != .null else { return nil }
        return try uuid(field)
    }

    public func optionalTimestamp(_ field: String) throws(EnvelopeRejection) -> Date? {
        guard let text = try optionalString(field) else { return nil }
        guard let date = RFC3339.parse(text) else { throw invalid(field, "not an RFC 3339 timestamp") }
        return date
    }

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
