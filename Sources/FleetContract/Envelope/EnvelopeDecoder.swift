import Foundation

/// Validates message bodies against the contract: size, UTF-8, JSON, required and typed fields,
/// known type and version. It never touches a store.
public struct EnvelopeDecoder: Sendable {
    /// The contract's cap on a message body.
    public static let maximumBytes = 1 << 20
    /// The most Unicode code points (scalars, not grapheme clusters: an `e` followed by 250
    /// combining accents is one `Character` but 251 code points) an `idempotency_key` may have.
    /// PostgreSQL's `char_length` counts the same way, and the ledger's `dedup_key` column checks it.
    public static let maximumIdempotencyKeyCodePoints = 200
    /// The most UTF-8 bytes an `idempotency_key` may have (200 four-byte code points).
    public static let maximumIdempotencyKeyBytes = 800
    /// The earlier name of ``maximumIdempotencyKeyCodePoints``.
    public static let maximumIdempotencyKeyLength = maximumIdempotencyKeyCodePoints
    /// How far in the future `created_at` may be: beyond it the envelope is `invalid_field`, so a
    /// producer's wrong clock cannot make a job win every undo ordered by `created_at`.
    public static let maximumCreatedAtLead: TimeInterval = 24 * 60 * 60
    /// How far in the future a job may ask to run (`not_before`, or a payload time such as
    /// `content.publish`'s `publish_at`): beyond it the job is rejected, not delayed. A delayed job
    /// hops through the retry queues until its time; 366 days covers any yearly schedule (leap years
    /// included), and a time further out is most likely a wrong clock or unit, which would otherwise
    /// hop (about 53,000 hops of the 10-minute queue per year) forever.
    public static let maximumNotBeforeLead: TimeInterval = 366 * 24 * 60 * 60

    /// Job type → accepted payload versions.
    public let knownVersions: [String: Set<Int>]
    /// The clock `created_at` is checked against; injectable for tests.
    public let now: @Sendable () -> Date

    /// A decoder accepting `knownVersions`, checking `created_at` against `now`.
    public init(knownVersions: [String: Set<Int>], now: @escaping @Sendable () -> Date = { Date() }) {
        self.knownVersions = knownVersions
        self.now = now
    }

    /// Whether `key` is a valid `idempotency_key`: 1 to ``maximumIdempotencyKeyCodePoints`` code
    /// points, at most ``maximumIdempotencyKeyBytes`` UTF-8 bytes, and no U+0000, which PostgreSQL
    /// text cannot hold (the ledger would refuse the key only after the job reached the store).
    public static func isValidIdempotencyKey(_ key: String) -> Bool {
        let codePoints = key.unicodeScalars.count
        return codePoints >= 1 && codePoints <= maximumIdempotencyKeyCodePoints
            && key.utf8.count <= maximumIdempotencyKeyBytes && !key.utf8.contains(0)
    }

    /// Decodes and checks a message body; a throw says why it is rejected.
    public func decode(_ body: [UInt8]) throws(EnvelopeRejection) -> JobEnvelope {
        guard body.count <= Self.maximumBytes else {
            throw EnvelopeRejection(.oversize, "body is \(body.count) bytes, the limit is \(Self.maximumBytes)")
        }
        let value: JSONValue
        do {
            value = try JSONParser.parse(body)
        } catch {
            // The parser accepts only valid UTF-8, so the UTF-8 check is needed only for a body it refuses;
            // it runs first there, to give the same reason as checking before parsing.
            guard String(validating: body, as: UTF8.self) != nil else {
                throw EnvelopeRejection(.invalidUTF8, "body is not valid UTF-8")
            }
            throw EnvelopeRejection(.invalidJSON, "body is not valid JSON: \(error)")
        }
        guard case .object(let object) = value else {
            throw EnvelopeRejection(.notAnObject, "body is a JSON \(value.kind), not an object")
        }
        let fields = FieldReader(object: object, path: "", reason: .invalidField)

        let id = try fields.string("id")
        guard let uuid = UUIDText.canonical(id) else { throw EnvelopeRejection(.invalidField, "id: not a UUID") }
        let type = try fields.string("type")
        let version = try fields.optionalInt("version") ?? 1
        try checkKnown(type: type, version: version)
        let createdAt = try fields.timestamp("created_at")
        try checkCreatedAt(createdAt)
        let idempotencyKey = try fields.optionalString("idempotency_key")
        try Self.checkIdempotencyKey(idempotencyKey)
        let notBefore = try fields.optionalTimestamp("not_before")
        try Self.checkNotBefore(notBefore, now: now(), field: "not_before", reason: .invalidField)
        guard let payload = object["payload"] else {
            throw EnvelopeRejection(.missingField, "payload: required")
        }
        guard case .object(let payloadObject) = payload else {
            throw EnvelopeRejection(.invalidField, "payload: expected an object, got a \(payload.kind)")
        }
        return JobEnvelope(
            id: uuid,
            type: type,
            version: version,
            createdAt: createdAt,
            idempotencyKey: idempotencyKey,
            notBefore: notBefore,
            payload: payloadObject
        )
    }

    /// The rules of ``decode(_:)`` that an envelope built in code can break, for a producer that
    /// has just encoded it into `encodedSize` bytes: checking these is equivalent to decoding the
    /// bytes again, at a fraction of the cost.
    public func validate(_ envelope: JobEnvelope, encodedSize: Int) throws(EnvelopeRejection) {
        guard encodedSize <= Self.maximumBytes else {
            throw EnvelopeRejection(.oversize, "body is \(encodedSize) bytes, the limit is \(Self.maximumBytes)")
        }
        guard UUIDText.canonical(envelope.id) == envelope.id else {
            throw EnvelopeRejection(.invalidField, "id: not a lowercase UUID")
        }
        try checkKnown(type: envelope.type, version: envelope.version)
        try checkCreatedAt(envelope.createdAt)
        try Self.checkNotBefore(envelope.notBefore, now: now(), field: "not_before", reason: .invalidField)
        try Self.checkIdempotencyKey(envelope.idempotencyKey)
        guard JSONValue.object(envelope.payload).isFinite else {
            // The encoder writes a non-finite number as null: the worker would not see this payload.
            throw EnvelopeRejection(.invalidField, "payload: numbers must be finite")
        }
    }

    private func checkKnown(type: String, version: Int) throws(EnvelopeRejection) {
        guard let versions = knownVersions[type] else {
            // The type is echoed only when it looks like a job type name: it is the producer's text.
            let shown = Self.looksLikeJobType(type) ? " \(type.debugDescription)" : ""
            throw EnvelopeRejection(.unknownType, "type\(shown) is not a known job type")
        }
        guard versions.contains(version) else {
            throw EnvelopeRejection(.unknownVersion, "type \(type) has no version \(version)")
        }
    }

    /// Lowercase letters, digits, `.`, `_` and `-`, at most 64: the shape of the contract's job types.
    static func looksLikeJobType(_ text: String) -> Bool {
        !text.isEmpty && text.utf8.count <= 64
            && text.utf8.allSatisfy {
                (UInt8(ascii: "a")...UInt8(ascii: "z")).contains($0)
                    || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0)
                    || $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: "-")
            }
    }

    private func checkCreatedAt(_ createdAt: Date) throws(EnvelopeRejection) {
        guard createdAt.timeIntervalSince(now()) <= Self.maximumCreatedAtLead else {
            throw EnvelopeRejection(.invalidField, "created_at: more than 24 hours in the future")
        }
    }

    /// Rejects a time to run more than ``maximumNotBeforeLead`` after `now`, for `field` with
    /// `reason` (`invalid_field` for the envelope's `not_before`, `invalid_payload` for a payload's).
    public static func checkNotBefore(
        _ notBefore: Date?,
        now: Date,
        field: String,
        reason: EnvelopeRejection.Reason
    ) throws(EnvelopeRejection) {
        guard let notBefore, notBefore.timeIntervalSince(now) > maximumNotBeforeLead else { return }
        throw EnvelopeRejection(
            reason,
            "\(field): more than 366 days in the future, the limit for a delayed job"
        )
    }

    private static func checkIdempotencyKey(_ key: String?) throws(EnvelopeRejection) {
        if let key, !isValidIdempotencyKey(key) {
            throw EnvelopeRejection(
                .invalidField,
                "idempotency_key: must be 1 to \(maximumIdempotencyKeyCodePoints) Unicode code points and at most "
                    + "\(maximumIdempotencyKeyBytes) UTF-8 bytes without U+0000 "
                    + "(has \(key.unicodeScalars.count) and \(key.utf8.count))"
            )
        }
    }
}

extension JSONValue {
    /// False when a number somewhere inside is infinite or NaN, which JSON cannot carry.
    var isFinite: Bool {
        switch self {
        case .number(let value): value.isFinite
        case .array(let values): values.allSatisfy(\.isFinite)
        case .object(let members): members.values.allSatisfy(\.isFinite)
        case .null, .bool, .integer, .string: true
        }
    }
}
