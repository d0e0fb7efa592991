import FleetContract
import Foundation

/// The handlers of a worker, keyed by job type.
public struct JobRegistry: Sendable {
    /// A decoded job with its validated payload, ready to run.
    public struct PreparedJob: Sendable {
        public let envelope: JobEnvelope
        /// The later of the envelope's `not_before` and the job's own ``JobDefinition/notBefore``.
        public let notBefore: Date?
        let run: @Sendable (JobContext) async throws -> JobOutcome
    }

    // Returns a Result rather than using typed throws: Swift 6.3 crashes compiling a stored closure
    // with `throws(EnvelopeRejection)`.
    private var preparers: [String: @Sendable (JobEnvelope) -> Result<PreparedJob, EnvelopeRejection>] = [:]
    public private(set) var knownVersions: [String: Set<Int>] = [:]

    public init() {}

    public mutating func register<Handler: JobHandler>(_ handler: Handler) {
        let type = Handler.Job.jobType
        precondition(preparers[type] == nil, "two handlers for \(type)")
        knownVersions[type] = Handler.Job.versions
        preparers[type] = { envelope in
            do throws(EnvelopeRejection) {
                let job = try Handler.Job.parse(envelope)
                // The payload's own time to run (e.g. `publish_at`) has the envelope's `not_before` limit.
                try EnvelopeDecoder.checkNotBefore(
                    job.notBefore,
                    now: Date(),
                    field: "payload",
                    reason: .invalidPayload
                )
                let notBefore = [envelope.notBefore, job.notBefore].compactMap { $0 }.max()
                return .success(
                    PreparedJob(envelope: envelope, notBefore: notBefore) {
                        try await handler.handle(job, context: $0)
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
