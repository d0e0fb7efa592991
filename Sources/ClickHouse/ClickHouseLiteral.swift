import Foundation

/// SQL literals for ClickHouse, for values spliced into a query's text.
///
/// ClickHouse 18.16 has no server-side query parameters (`{name:Type}` with `param_name=` in the URL
/// fails with "Unknown setting param_name"), so a value that comes from outside goes through one of
/// these functions, never through string interpolation of its own.
public enum ClickHouseLiteral {
    /// A quoted string literal: `'…'` with `\`, `'`, NUL and control characters escaped. Any other
    /// character, including every non-ASCII one, is kept as its UTF-8 bytes (ClickHouse strings are bytes).
    public static func string(_ value: String) -> String {
        quoted(value, by: "'")
    }

    /// A back-quoted identifier (database, table or column name): `` `…` `` escaped as ``string(_:)``
    /// escapes, with `` ` `` in place of `'`. Safe for any name, including ones of `system.tables`.
    public static func identifier(_ name: String) -> String {
        quoted(name, by: "`")
    }

    private static func quoted(_ value: String, by quote: Unicode.Scalar) -> String {
        var out = String(quote)
        out.reserveCapacity(value.utf8.count + 2)
        for scalar in value.unicodeScalars {
            switch scalar {
            case "\\": out += "\\\\"
            case quote: out += "\\" + String(quote)
            case "\0": out += "\\0"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case "\u{08}": out += "\\b"
            case "\u{0C}": out += "\\f"
            default:
                if scalar.value < 0x20 || scalar.value == 0x7F {
                    // \xHH: ClickHouse reads it as that byte.
                    out += String(format: "\\x%02X", scalar.value)
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        out.unicodeScalars.append(quote)
        return out
    }

    /// `toUUID('…')`, from a parsed UUID, so the text is always a well-formed UUID.
    public static func uuid(_ value: UUID) -> String {
        "toUUID('\(value.uuidString.lowercased())')"
    }

    /// `toDateTime(seconds)`: a Unix time, so the server's time zone does not move the instant.
    /// Fractions of a second are dropped (DateTime holds seconds).
    public static func dateTime(_ value: Date) -> String {
        "toDateTime(\(Int64(value.timeIntervalSince1970.rounded(.down))))"
    }

    /// A decimal integer literal.
    public static func integer<T: BinaryInteger>(_ value: T) -> String { String(value) }

    /// A float literal; nil for NaN and infinities, which have no literal every server reads alike.
    public static func double(_ value: Double) -> String? {
        guard value.isFinite else { return nil }
        return "\(value)"
    }

    /// `(toUUID('…'), …)` for `IN`. Precondition: `values` is not empty (`IN ()` is a syntax error).
    public static func uuidList(_ values: [UUID]) -> String {
        precondition(!values.isEmpty, "an IN list needs at least one value")
        return "(" + values.map(uuid).joined(separator: ", ") + ")"
    }
}
