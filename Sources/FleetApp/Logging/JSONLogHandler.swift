import Glibc
import Logging
import Synchronization

/// Writes each log event as one JSON object on one line, for log collectors (`FLEET_LOG_FORMAT=json`):
/// `{"ts":"2026-11-30T04:05:13.123Z","level":"info","logger":"fleet","msg":"…", …metadata}`. `ts` is
/// RFC 3339 in UTC with milliseconds; every metadata value is written as a string, keys in sorted
/// order after the four fixed ones (a metadata key named like one of them is written `metadata.<key>`).
public struct JSONLogHandler: LogHandler {
    public var logLevel: Logger.Level
    public var metadata: Logger.Metadata = [:]
    public var metadataProvider: Logger.MetadataProvider?
    private let label: String
    private let sink: @Sendable (String) -> Void

    /// `sink` receives each line, newline included; ``standardError(label:level:)`` writes to stderr.
    public init(
        label: String,
        level: Logger.Level,
        metadataProvider: Logger.MetadataProvider? = nil,
        sink: @escaping @Sendable (String) -> Void
    ) {
        self.label = label
        self.logLevel = level
        self.metadataProvider = metadataProvider
        self.sink = sink
    }

    /// A handler writing to the process's standard error.
    public static func standardError(label: String, level: Logger.Level) -> JSONLogHandler {
        JSONLogHandler(label: label, level: level, metadataProvider: LoggingSystem.metadataProvider) {
            StandardError.write($0)
        }
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var merged = metadata
        if let provided = metadataProvider?.get() { merged.merge(provided) { $1 } }
        if let own = event.metadata { merged.merge(own) { $1 } }
        if let error = event.error, merged["error"] == nil { merged["error"] = "\(error)" }
        sink(Self.line(timestamp: Self.now(), level: event.level, logger: label, message: "\(event.message)", merged))
    }

    static let fixedKeys: Set<String> = ["ts", "level", "logger", "msg"]

    /// The JSON line (with its newline) for one event.
    static func line(
        timestamp: String,
        level: Logger.Level,
        logger: String,
        message: String,
        _ metadata: Logger.Metadata
    ) -> String {
        var out = "{\"ts\":\"\(timestamp)\",\"level\":\"\(level.rawValue)\",\"logger\":"
        appendQuoted(logger, to: &out)
        out += ",\"msg\":"
        appendQuoted(message, to: &out)
        for (key, value) in metadata.sorted(by: { $0.key < $1.key }) {
            out += ","
            appendQuoted(fixedKeys.contains(key) ? "metadata.\(key)" : key, to: &out)
            out += ":"
            appendQuoted("\(value)", to: &out)
        }
        out += "}\n"
        return out
    }

    /// `text` as a JSON string: quotes, backslashes and every control character (U+0000-U+001F, and
    /// U+007F, U+2028, U+2029, which some readers treat as line breaks) escaped, so an event is always
    /// exactly one line.
    static func appendQuoted(_ text: String, to out: inout String) {
        out += "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case "\u{08}": out += "\\b"
            case "\u{0C}": out += "\\f"
            case "\u{00}"..."\u{1F}", "\u{7F}", "\u{2028}", "\u{2029}":
                let hex = String(scalar.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: out.unicodeScalars.append(scalar)
            }
        }
        out += "\""
    }

    /// The current time as RFC 3339 in UTC with milliseconds.
    static func now() -> String {
        var time = timespec()
        clock_gettime(CLOCK_REALTIME, &time)
        return timestamp(seconds: Int(time.tv_sec), milliseconds: Int(time.tv_nsec) / 1_000_000)
    }

    /// `seconds` since 1970 plus `milliseconds`, e.g. `2026-11-30T04:05:13.007Z`.
    static func timestamp(seconds: Int, milliseconds: Int) -> String {
        var time = time_t(seconds)
        var parts = tm()
        gmtime_r(&time, &parts)
        func two(_ value: Int32) -> String { value < 10 ? "0\(value)" : "\(value)" }
        let millis =
            milliseconds < 10 ? "00\(milliseconds)" : milliseconds < 100 ? "0\(milliseconds)" : "\(milliseconds)"
        return "\(parts.tm_year + 1900)-\(two(parts.tm_mon + 1))-\(two(parts.tm_mday))T"
            + "\(two(parts.tm_hour)):\(two(parts.tm_min)):\(two(parts.tm_sec)).\(millis)Z"
    }
}

/// Standard error, one whole line per `write(2)` loop under a lock, so lines of concurrent tasks never interleave.
enum StandardError {
    private static let lock = Mutex(())

    static func write(_ line: String) {
        var line = line
        lock.withLock { _ in
            line.withUTF8 { bytes in
                var offset = 0
                while offset < bytes.count {
                    let written = Glibc.write(2, bytes.baseAddress! + offset, bytes.count - offset)
                    if written < 0 {
                        if errno == EINTR { continue }
                        return
                    }
                    offset += written
                }
            }
        }
    }
}

/// How the fleet writes logs: `FLEET_LOG_FORMAT` `json` or `text`; unset, JSON lines when standard error
/// is not a terminal (a container, a file, a pipe to a collector) and text on a terminal.
public enum LogFormat: String, Sendable {
    case json
    case text

    /// The format for `environment`, or an error text for an unknown value.
    public static func resolve(
        environment: [String: String],
        standardErrorIsTerminal: Bool
    ) -> Result<LogFormat, LogFormatError> {
        switch environment["FLEET_LOG_FORMAT"] {
        case nil, "": return .success(standardErrorIsTerminal ? .text : .json)
        case let value?:
            guard let format = LogFormat(rawValue: value) else {
                return .failure(LogFormatError(description: "FLEET_LOG_FORMAT must be json or text"))
            }
            return .success(format)
        }
    }
}

public struct LogFormatError: Error, CustomStringConvertible, Equatable {
    public var description: String
}
