import Foundation

/// One job type of the contract: its name, the payload versions it accepts, and its typed payload.
///
/// A value of a definition is a valid job: ``init(payload:version:)`` checks every rule of the
/// payload (workers and producers run the same code), and ``payload`` writes the value back as the
/// JSON object the envelope carries. Workers handle a definition with a `JobHandler`; producers
/// publish one with `JobProducer.enqueue(_:)`.
public protocol JobDefinition: Sendable, Equatable {
    /// The envelope `type`, e.g. `enrollment.update`; also the routing key.
    static var jobType: String { get }
    /// Payload versions workers accept; a job of another version is dead-lettered as `unknown_version`.
    static var versions: Set<Int> { get }

    /// Reads and validates a payload. A throw rejects the job before any store is touched: the
    /// producer refuses it, and a worker dead-letters it with the rejection's reason.
    init(payload: FieldReader, version: Int) throws(EnvelopeRejection)

    /// The payload as the envelope carries it (the newest version's form).
    var payload: [String: JSONValue] { get }

    /// A time the payload itself asks the job not to run before (e.g. `content.publish`'s
    /// `publish_at`). Until then the job waits in the retry queues like an envelope `not_before`.
    var notBefore: Date? { get }
}

extension JobDefinition {
    public static var versions: Set<Int> { [1] }

    public var notBefore: Date? { nil }

    /// Validates the payload of `envelope` as this type.
    public static func parse(_ envelope: JobEnvelope) throws(EnvelopeRejection) -> Self {
        try Self(payload: FieldReader(payload: envelope.payload), version: envelope.version)
    }
}

/// Every job type of the contract, as the producer and the tooling see it.
public enum JobContract {
    /// The definitions, in the order `CONTRACT.md` lists them.
    public static let definitions: [any JobDefinition.Type] = [
        ProfileCompletionRecalculate.self,
        AssessmentScore.self,
        CareerProgressRecalculate.self,
        EnrollmentUpdate.self,
        ContentPublish.self,
        ContentUnpublish.self,
        JobMarketTrendIngest.self,
        EventRegister.self,
        EventCancel.self,
        MentorshipStart.self,
        MentorshipSessionLogged.self,
    ]

    /// The definition of `type`, if the contract has one.
    public static func definition(of type: String) -> (any JobDefinition.Type)? {
        definitions.first { $0.jobType == type }
    }

    /// Each type's accepted versions, for ``EnvelopeDecoder``.
    public static var knownVersions: [String: Set<Int>] {
        Dictionary(uniqueKeysWithValues: definitions.map { ($0.jobType, $0.versions) })
    }

    /// Validates `envelope`'s payload against its type's definition.
    public static func validatePayload(of envelope: JobEnvelope) throws(EnvelopeRejection) {
        guard let definition = definition(of: envelope.type) else {
            throw EnvelopeRejection(.unknownType, "no job type \(envelope.type) in the contract")
        }
        _ = try definition.parse(envelope)
    }
}
