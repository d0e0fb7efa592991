/// `maintenance.run` `{}`: the fleet's retention pass, as `fleet maintenance` runs it: dedup
/// records past each job type's window in every store, and `fleet_outbox` rows sent longer ago
/// than theirs. Idempotent by nature (deleting what is past a window twice deletes nothing more),
/// so a duplicate or a retry is harmless; the default `schedules.yaml` enqueues it daily.
public struct MaintenanceRun: JobDefinition {
    /// The envelope `type`, also the routing key.
    public static let jobType = "maintenance.run"

    public init() {}

    /// Any object: the job takes no fields (unknown members are ignored).
    public init(payload: FieldReader, version: Int) throws(EnvelopeRejection) {}

    /// The payload as the envelope carries it: `{}`.
    public var payload: [String: JSONValue] { [:] }

    /// The payload's JSON Schema: an object, no fields.
    public static var payloadSchema: JSONValue {
        ContractSchema.object(
            "Run the fleet's retention pass (`fleet maintenance`): prune dedup records past each job type's "
                + "dedup window in PostgreSQL, MongoDB and Neo4j, and fleet_outbox rows sent longer ago than theirs. "
                + "Idempotent. No fields; unknown members are ignored.",
            required: [],
            properties: [:],
            additionalProperties: true
        )
    }

    /// A valid job, the example of the generated AsyncAPI document.
    public static var example: Self? { Self() }
}
