import Foundation

/// The checks a job passes before it is published or written to an outbox, the same the workers
/// apply: the envelope's limits (idempotency key, `created_at` at most 24 h ahead, `not_before` and a
/// payload's own time to run at most 366 days ahead, size), a known
/// type and version, and the payload's definition.
public struct JobValidator: Sendable {
    private let decoder: EnvelopeDecoder
    private let definitions: [String: any JobDefinition.Type]
    /// Names the accepting side in an `unknown_type` rejection, e.g. `this producer`.
    private let owner: String

    /// - Parameters:
    ///   - definitions: the job types accepted (the whole contract by default).
    ///   - owner: names the accepting side in an `unknown_type` rejection.
    ///   - now: the clock that stamps `created_at` and checks it as the workers will.
    public init(
        definitions: [any JobDefinition.Type] = JobContract.definitions,
        owner: String = "the fleet",
        now: @escaping @Sendable () -> Date = { Date() }
    ) {
        self.definitions = Dictionary(definitions.map { ($0.jobType, $0) }) { first, _ in first }
        self.decoder = EnvelopeDecoder(
            knownVersions: Dictionary(definitions.map { ($0.jobType, $0.versions) }) { first, _ in first },
            now: now
        )
        self.owner = owner
    }

    /// The time a new envelope's `created_at` is stamped with.
    public func now() -> Date { decoder.now() }

    /// Checks `envelope` and returns its JSON bytes, as published.
    public func validated(_ envelope: JobEnvelope) throws(EnvelopeRejection) -> [UInt8] {
        let body = envelope.encoded()
        try decoder.validate(envelope, encodedSize: body.count)
        try validatePayload(of: envelope)
        return body
    }

    /// Checks `envelope`'s payload against its type's definition (its envelope already checked, e.g.
    /// by ``EnvelopeDecoder/decode(_:)``).
    public func validatePayload(of envelope: JobEnvelope) throws(EnvelopeRejection) {
        guard let definition = definitions[envelope.type] else {
            throw EnvelopeRejection(.unknownType, "no job type \(envelope.type) in \(owner)'s contract")
        }
        let job = try definition.parse(envelope)
        try EnvelopeDecoder.checkNotBefore(job.notBefore, now: now(), field: "payload", reason: .invalidPayload)
    }
}
