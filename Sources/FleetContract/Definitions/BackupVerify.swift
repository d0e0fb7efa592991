/// `backup.verify` `{store}`: restore the store's newest artifact into a scratch database, compare
/// counts per table/collection/label (and sample checksums) with its manifest, drop the scratch
/// database, and report.
public struct BackupVerify: JobDefinition {
    /// The envelope `type`, also the routing key.
    public static let jobType = "backup.verify"

    /// One of ``BackupRun/stores``.
    public let store: String

    /// A job of this value; `JobProducer` validates it before publishing.
    public init(store: String) { self.store = store }

    /// Reads and validates a payload; a throw rejects the job as `invalid_payload`.
    public init(payload: FieldReader, version: Int) throws(EnvelopeRejection) {
        store = try payload.string("store", oneOf: Set(BackupRun.stores))
    }

    /// The payload's JSON Schema: every rule of ``init(payload:version:)`` JSON Schema can state.
    public static var payloadSchema: JSONValue {
        ContractSchema.object(
            "Restore the store's newest backup into a scratch database and compare it with its manifest. "
                + "Unknown members are ignored.",
            required: ["store"],
            properties: ["store": ContractSchema.oneOf("The store whose newest backup to verify.", BackupRun.stores)],
            additionalProperties: true
        )
    }

    /// A valid job, the example of the generated AsyncAPI document.
    public static var example: Self? { Self(store: "postgres") }

    /// The payload as the envelope carries it.
    public var payload: [String: JSONValue] { ["store": .string(store)] }
}
