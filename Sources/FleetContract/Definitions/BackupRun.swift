/// `backup.run` `{store}`: back up one store into an artifact and its manifest in the configured
/// backup location, then remove the oldest beyond the configured count.
public struct BackupRun: JobDefinition {
    /// The envelope `type`, also the routing key.
    public static let jobType = "backup.run"
    /// The stores a backup job may name.
    public static let stores = ["postgres", "mongodb", "neo4j", "clickhouse"]

    /// One of ``stores``.
    public let store: String

    /// A job of this value; `JobProducer` validates it before publishing.
    public init(store: String) { self.store = store }

    /// Reads and validates a payload; a throw rejects the job as `invalid_payload`.
    public init(payload: FieldReader, version: Int) throws(EnvelopeRejection) {
        store = try payload.string("store", oneOf: Set(Self.stores))
    }

    /// The payload's JSON Schema: every rule of ``init(payload:version:)`` JSON Schema can state.
    public static var payloadSchema: JSONValue {
        ContractSchema.object(
            "Back up one store (artifact + manifest), then apply retention. Unknown members are ignored.",
            required: ["store"],
            properties: ["store": ContractSchema.oneOf("The store to back up.", stores)],
            additionalProperties: true
        )
    }

    /// A valid job, the example of the generated AsyncAPI document.
    public static var example: Self? { Self(store: "postgres") }

    /// The payload as the envelope carries it.
    public var payload: [String: JSONValue] { ["store": .string(store)] }
}
