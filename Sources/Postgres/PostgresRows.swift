/// The result of one statement: its rows, in text format, copied out of libpq's result.
public struct PostgresRows: Sendable, RandomAccessCollection {
    /// The column names, in order.
    public let columns: [String]
    /// Rows inserted, updated, deleted, selected... as the server counted them (PQcmdTuples); 0 when it gives none.
    public let affectedRows: Int

    /// Column name to index, shared by every row; the first column wins when names repeat.
    private let columnIndex: [String: Int]
    /// Values row after row, so a result is one allocation rather than one per row.
    private let values: [String?]

    init(columns: [String], values: [String?], affectedRows: Int) {
        precondition(columns.isEmpty ? values.isEmpty : values.count % columns.count == 0, "ragged result")
        self.columns = columns
        self.values = values
        self.affectedRows = affectedRows
        self.columnIndex = Dictionary(columns.enumerated().map { ($1, $0) }, uniquingKeysWith: { first, _ in first })
    }

    public var startIndex: Int { 0 }
    public var endIndex: Int { columns.isEmpty ? 0 : values.count / columns.count }

    public subscript(position: Int) -> PostgresRow {
        precondition(indices.contains(position), "row index \(position) out of range 0..<\(endIndex)")
        let start = position * columns.count
        return PostgresRow(columnIndex: columnIndex, values: values[start..<start + columns.count])
    }
}
