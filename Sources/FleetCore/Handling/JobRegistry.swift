import Foundation

/// The handlers of a worker, keyed by job type.
public struct JobRegistry: Sendable {
    /// A decoded job with its validated payload, ready to run.
    public struct PreparedJob: Sendable {
        public let envelope: JobEnvelope
        /// The later of the envelope's `not_before` and the handler's ``JobHandler/notBefore(_:)``.
        public let notBefore: Date?
        let run: @Sendable (JobContext) async throws -> JobOutcome
    }

    // Returns a Result rather than using typed throws: Swift 6.3 crashes compiling a stored closure
    // with `throws(EnvelopeRejection)`.
    private var preparers: [String: @Sendable (JobEnvelope) -> Result<PreparedJob, EnvelopeRejection>] = [:]
    public private(set) var knownVersions: [String: Set<Int>] = [:]

    public init() {}

    public mutating func register<Handler: JobHandler>(_ handler: Handler) {
        precondition(preparers[Handler.jobType] == nil, "two handlers for \(Handler.jobType)")
        knownVersions[Handler.jobType] = Handler.versions
        preparers[Handler.jobType] = { envelope in
            do throws(EnvelopeRejection) {
                let payload = try handler.parse(FieldReader(payload: envelope.payload), version: envelope.version)
                let notBefore = [envelope.notBefore, handler.notBefore(payload)].compactMap { $0 }.max()
                return .success(
                    PreparedJob(envelope: envelope, notBefore: notBefore) {
                        try await handler.handle(payload, context: $0)
                    }
                )
            } catch {
                return .failure(error)
            }
        }
    }

    public var jobTypes: [String] { knownVersions.keys.sorted() }

    public var decoder: EnvelopeDecoder { EnvelopeDecoder(knownVersions: knownVersions) }

    /// Validates the payload of a decoded envelope against its handler.
    public func prepare(_ envelope: JobEnvelope) throws(EnvelopeRejection) -> PreparedJob {
        guard let prepare = preparers[envelope.type] else {
            throw EnvelopeRejection(.unknownType, "no handler for \(envelope.type) in this worker")
        }
        return try prepare(envelope).get()
    }
}
