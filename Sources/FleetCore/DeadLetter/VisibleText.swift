import AMQP

/// Text from a message made safe to print: control characters (C0, DEL, C1), line and paragraph
/// separators and format characters (bidirectional overrides and isolates, zero-width characters,
/// byte order marks: Unicode category Cf) become `\n`, `\t`, `\u{1B}`-style escapes. A dead letter's
/// headers and body are whatever a producer sent; printed raw, an ESC sequence could clear an
/// operator's terminal or plant a link, and U+202E could reorder what they read. A backslash stays
/// as it is. Used by `fleet dlq` and the dashboard.
public enum VisibleText {
    /// `text` with every invisible or reordering character escaped.
    public static func escape(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        for scalar in text.unicodeScalars {
            switch scalar.value {
            case 0x0A: out += "\\n"
            case 0x0D: out += "\\r"
            case 0x09: out += "\\t"
            default:
                if needsEscape(scalar) {
                    out += "\\u{" + String(scalar.value, radix: 16, uppercase: true) + "}"
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out
    }

    /// Controls, U+2028/U+2029 (line breaks to some terminals) and format characters, which include
    /// U+200B–U+200F, U+202A–U+202E, U+2060–U+2064, U+2066–U+2069 and U+FEFF.
    static func needsEscape(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.properties.generalCategory {
        case .control, .format, .lineSeparator, .paragraphSeparator: true
        default: false
        }
    }

    /// A header value as one escaped line: strings and byte arrays escaped, tables as
    /// `{key: value, ...}` with keys sorted, arrays as `[value, ...]`.
    public static func header(_ value: AMQPFieldValue) -> String {
        var out = ""
        append(value, to: &out)
        return out
    }

    private static func append(_ value: AMQPFieldValue, to out: inout String) {
        switch value {
        case .string(let text): out += escape(text)
        case .int(let number): out += String(number)
        case .bool(let flag): out += String(flag)
        case .double(let number): out += String(number)
        case .timestamp(let seconds): out += "timestamp \(seconds)"
        case .bytes(let bytes): out += escape(String(decoding: bytes, as: UTF8.self))
        case .void: out += "void"
        case .array(let values):
            out += "["
            for (index, element) in values.enumerated() {
                if index > 0 { out += ", " }
                append(element, to: &out)
            }
            out += "]"
        case .table(let table):
            out += "{"
            for (index, entry) in table.sorted(by: { $0.key < $1.key }).enumerated() {
                if index > 0 { out += ", " }
                out += escape(entry.key) + ": "
                append(entry.value, to: &out)
            }
            out += "}"
        }
    }
}
