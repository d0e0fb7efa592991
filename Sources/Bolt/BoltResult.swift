/// The complete result of one query: its column names, rows, and the server's summary.
public struct BoltResult: Sendable, Equatable {
    /// Column names, in RETURN order.
    public let keys: [String]
    /// One array per record, values in the order of ``keys``.
    public let rows: [[BoltValue]]
    /// RUN's and PULL's SUCCESS metadata merged (`fields`, `t_first`, `stats`, `bookmark`...).
    public let summary: [String: BoltValue]

    /// A result from its parts; each row should have one value per key.
    public init(keys: [String], rows: [[BoltValue]], summary: [String: BoltValue]) {
        self.keys = keys
        self.rows = rows
        self.summary = summary
    }

    /// The records as maps from column name to value.
    public var records: [[String: BoltValue]] {
        rows.map { row in
            Dictionary(zip(keys, row).map { ($0, $1) }, uniquingKeysWith: { first, _ in first })
        }
    }

    /// The first row's value in `column`, or nil when there is no row or no such column.
    public func first(_ column: String) -> BoltValue? {
        guard let index = keys.firstIndex(of: column), let row = rows.first, index < row.count else { return nil }
        return row[index]
    }

    /// Update counters (`nodes-created`, `properties-set`...) from the summary's `stats`; empty for reads.
    public var stats: [String: Int64] {
        (summary["stats"]?.map ?? [:]).compactMapValues(\.int)
    }
}
