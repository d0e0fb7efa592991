import AMQP
import FleetCore
import Foundation

/// A dead-lettered message as text for the entry page: header values and the body, with control
/// characters made visible (the template HTML-escapes the result).
enum EntryText {
    static func header(_ value: AMQPFieldValue) -> String { VisibleText.header(value) }

    /// JSON pretty-printed (line breaks kept, everything else visible); anything else as one visible line.
    /// At most `limit` bytes are shown.
    static func body(_ bytes: [UInt8], limit: Int = 64 << 10) -> String {
        let shown = Array(bytes.prefix(limit))
        let suffix = bytes.count > limit ? "\n… (\(bytes.count - limit) more bytes)" : ""
        if let object = try? JSONSerialization.jsonObject(with: Data(shown), options: [.fragmentsAllowed]),
            let pretty = try? JSONSerialization.data(
                withJSONObject: object,
                options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes, .fragmentsAllowed]
            )
        {
            return String(decoding: pretty, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false)
                .map { HTMLText.visible(String($0)) }.joined(separator: "\n") + suffix
        }
        return HTMLText.visible(String(decoding: shown, as: UTF8.self)) + suffix
    }
}
