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

    /// The envelope as JSON bytes, as producers publish it: byte for byte what
    /// ``JSONValue/serialized()`` writes for the envelope as one object, written straight from the
    /// fields in that order (keys sorted by their bytes) rather than through a dictionary that is
    /// hashed, sorted and thrown away on every publish.
    public func encoded() -> [UInt8] {
        var output: [UInt8] = []
        output.reserveCapacity(192 + 64 * payload.count)
        // Each key with its quotes and punctuation in one copy.
        func put(_ text: StaticString) {
            output.append(contentsOf: UnsafeBufferPointer(start: text.utf8Start, count: text.utf8CodeUnitCount))
        }
        put(#"{"created_at":"#)
        RFC3339.appendQuoted(createdAt, to: &output)
        put(#","id":"#)
        JSONText.write(id, into: &output)
        if let idempotencyKey {
            put(#","idempotency_key":"#)
            JSONText.write(idempotencyKey, into: &output)
        }
        if let notBefore {
            put(#","not_before":"#)
            RFC3339.appendQuoted(notBefore, to: &output)
        }
        put(#","payload":"#)
        JSONValue.object(payload).serialize(into: &output)
        put(#","type":"#)
        JSONText.write(type, into: &output)
        put(#","version":"#)
        JSONText.write(Int64(version), into: &output)
        output.append(UInt8(ascii: "}"))
        return output
    }
}
