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

    /// The payload's JSON Schema (draft 2020-12, built from ``ContractSchema``): every rule of
    /// ``init(payload:version:)`` that JSON Schema can express, and a `description` naming any it
    /// cannot. `ContractTests` checks that the schema and the validator agree on a generated corpus.
    static var payloadSchema: JSONValue { get }

    /// A valid value, shown as the type's example in the generated AsyncAPI document; nil: none.
    static var example: Self? { get }
}

extension JobDefinition {
    /// Version 1 only, unless a definition says otherwise.
    public static var versions: Set<Int> { [1] }

    /// No example, unless a definition gives one.
    public static var example: Self? { nil }

    /// No time of its own, unless a definition says otherwise.
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
        AnalyticsActivityRecord.self,
        BackupRun.self,
        BackupVerify.self,
        MaintenanceRun.self,
    ]

    /// Each type's accepted versions, for ``EnvelopeDecoder``.
    public static var knownVersions: [String: Set<Int>] {
        Dictionary(uniqueKeysWithValues: definitions.map { ($0.jobType, $0.versions) })
    }

    /// The JSON Schema of a whole message body of `definition`'s type: the envelope's rules with
    /// `type` fixed and `payload` as ``JobDefinition/payloadSchema``. What JSON Schema cannot say
    /// (the 1 MiB cap, strict JSON, `created_at` at most 24 hours ahead, `not_before` at most 366 days
    /// ahead) is in its `description`.
    public static func envelopeSchema(of definition: any JobDefinition.Type) -> JSONValue {
        let versions = definition.versions.sorted().map { JSONValue.integer(Int64($0)) }
        return ContractSchema.object(
            "The \(definition.jobType) job: the envelope every message body carries (CONTRACT.md), with this "
                + "type's payload. Read strictly as RFC 8259 JSON, UTF-8, at most 1 MiB, nested at most "
                + "\(JSONParser.maximumDepth) deep; a repeated key keeps its last value. Not expressible here: "
                + "`created_at` more than 24 hours ahead of the worker's clock is rejected (`invalid_field`), and so "
                + "is `not_before` more than 366 days ahead (a payload's own time to run, such as `publish_at`, has "
                + "the same limit, `invalid_payload`). "
                + "Unknown members are ignored. A violation dead-letters the job at once with reason "
                + "`missing_field`, `invalid_field`, `unknown_type`, `unknown_version` or `invalid_payload`.",
            required: ["id", "type", "created_at", "payload"],
            properties: [
                "id": ContractSchema.uuid(
                    "Unique per job, any case (workers lowercase it); the default idempotency key."
                ),
                "type": [
                    "type": "string", "const": .string(definition.jobType),
                    "description": "The job type; also the routing key.",
                ],
                "version": [
                    "type": ["integer", "null"], "enum": .array(versions + [.null]),
                    "description": "The payload's schema version; absent or null means 1.",
                ],
                "created_at": ContractSchema.timestamp(
                    "When the producer created the job. Decides the order of an undo and the job it undoes "
                        + "(ties: `id`). More than 24 hours ahead of the worker's clock is `invalid_field`."
                ),
                "idempotency_key": ContractSchema.string(
                    "Two jobs of this type with the same key take effect once within the dedup window. 1 to "
                        + "\(EnvelopeDecoder.maximumIdempotencyKeyCodePoints) Unicode code points (so at most "
                        + "\(EnvelopeDecoder.maximumIdempotencyKeyBytes) UTF-8 bytes), no U+0000.",
                    pattern: ContractSchema.noNULPattern,
                    minLength: 1,
                    maxLength: EnvelopeDecoder.maximumIdempotencyKeyCodePoints,
                    nullable: true
                ),
                "not_before": ContractSchema.timestamp(
                    "The job does not run earlier; it waits in the retry queues until then. More than 366 days "
                        + "ahead of the worker's clock is `invalid_field`.",
                    nullable: true
                ),
                "payload": definition.payloadSchema,
            ],
            additionalProperties: true
        )
    }
}
