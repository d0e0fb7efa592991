import Foundation

/// A job as `CONTRACT.md` defines it: the JSON object every message body carries.
public struct JobEnvelope: Sendable, Equatable {
    /// Lowercased UUID; unique per job.
    public let id: String
    /// The job type, e.g. `enrollment.update`.
    public let type: String
    /// The payload's schema version.
    public let version: Int
    /// When the producer created the job; orders a job and the one undoing it.
    public let createdAt: Date
    /// Two jobs of a type with the same key take effect once within the dedup window.
    public let idempotencyKey: String?
    /// The job does not run earlier.
    public let notBefore: Date?
    /// The type's payload.
    public let payload: [String: JSONValue]

    /// An envelope of these fields, as given (``EnvelopeDecoder`` checks decoded ones).
    public init(
        id: String,
        type: String,
        version: Int = 1,
        createdAt: Date,
        idempotencyKey: String? = nil,
        notBefore: Date? = nil,
        payload: [String: JSONValue]
    ) {
        self.id = id
        self.type = type
        self.version = version
        self.createdAt = createdAt
        self.idempotencyKey = idempotencyKey
        self.notBefore = notBefore
        self.payload = payload
    }

    /// The key under which the job takes effect once: the idempotency key, else the id.
    public var deduplicationKey: String { idempotencyKey ?? id }

    /// The envelope as JSON bytes, as producers publish it.
    public func encoded() -> [UInt8] {
        var object: [String: JSONValue] = [
            "id": .string(id), "type": .string(type), "version": .integer(Int64(version)),
            "created_at": .string(RFC3339.format(createdAt)), "payload": .object(payload),
        ]
        if let idempotencyKey { object["idempotency_key"] = .string(idempotencyKey) }
        if let notBefore { object["not_before"] = .string(RFC3339.format(notBefore)) }
        return JSONValue.object(object).serialized()
    }
}
