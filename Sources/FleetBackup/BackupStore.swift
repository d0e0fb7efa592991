/// The stores the fleet backs up (the `store` of `backup.run` and `backup.verify`).
public enum BackupStore: String, Sendable, CaseIterable, CustomStringConvertible {
    case postgres
    case mongodb
    case neo4j
    case clickhouse

    public var description: String { rawValue }
}
