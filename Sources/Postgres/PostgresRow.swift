import Foundation

/// One row of a result, values in PostgreSQL's text output format; nil is SQL NULL.
///
/// The typed accessors return nil both for NULL and for text that does not parse as the type.
public struct PostgresRow: Sendable {
    private let columnIndex: [String: Int]
    private let values: ArraySlice<String?>

    init(columnIndex: [String: Int], values: ArraySlice<String?>) {
        self.columnIndex = columnIndex
        self.values = values
    }

    /// The value of the named column; nil for NULL.
    ///
    /// An unknown column is a programming error: it traps in debug builds, so tests catch the typo,
    /// and reads as nil in release builds, so one bad column name does not take down a worker.
    public subscript(column: String) -> String? {
        guard let index = columnIndex[column] else {
            assertionFailure("no column \"\(column)\" in result (columns: \(columnIndex.keys.sorted()))")
            return nil
        }
        return self[index]
    }

    /// The value of the column at `index`; nil for NULL. Out of range: as for an unknown column.
    public subscript(index: Int) -> String? {
        guard index >= 0 && index < values.count else {
            assertionFailure("column index \(index) out of range 0..<\(values.count)")
            return nil
        }
        return values[values.startIndex + index]
    }

    /// Reads integer output (`int2`, `int4`, `int8`); nil for a fraction or a number beyond `Int`.
    public func int(_ column: String) -> Int? { self[column].flatMap { Int($0) } }

    /// Reads float8 output, including `NaN`, `Infinity` and `-Infinity`, and numeric output.
    public func double(_ column: String) -> Double? { self[column].flatMap { Double($0) } }

    /// Reads `t`/`f`, PostgreSQL's boolean output; also `true`/`false` for booleans kept as text.
    public func bool(_ column: String) -> Bool? {
        switch self[column] {
        case "t", "true": return true
        case "f", "false": return false
        default: return nil
        }
    }

    /// Reads `uuid` output, `xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx` in either case.
    public func uuid(_ column: String) -> UUID? { self[column].flatMap { UUID(uuidString: $0) } }

    /// Reads `timestamptz` output such as `2026-11-25 20:31:02.123456+00` (any offset), `timestamp`
    /// output (taken as UTC) and `date` output (midnight UTC). Nil for `infinity`.
    public func date(_ column: String) -> Date? { self[column].flatMap { PostgresTimestamp.parse($0) } }
}
