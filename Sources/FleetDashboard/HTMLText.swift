import FleetCore

/// Text made safe to show: HTML-escaped for the few places that build markup in Swift (the templates
/// escape everything else), and control characters made visible so a header cannot hide or reorder what
/// an operator reads.
public enum HTMLText {
    public static func escape(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        for character in text {
            switch character {
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "&": out += "&amp;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default: out.append(character)
            }
        }
        return out
    }

    /// Control, format (bidirectional overrides, zero-width) and line-separator characters as `\n`,
    /// `\t`, `\u{1B}`, ...; a backslash stays as it is. The same escaping `fleet dlq` prints with.
    public static func visible(_ text: String) -> String { VisibleText.escape(text) }
}
