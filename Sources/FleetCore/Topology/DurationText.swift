import Foundation

/// Durations as written in configuration files: `500ms`, `1s`, `30s`, `2m`, `10m`, `1h`, `7d`.
public enum DurationText {
    public static func parse(_ text: String) -> Duration? {
        let units: [(String, Int64)] = [("ms", 1), ("s", 1000), ("m", 60_000), ("h", 3_600_000), ("d", 86_400_000)]
        for (suffix, milliseconds) in units where text.hasSuffix(suffix) {
            let number = text.dropLast(suffix.count)
            // "ms" also ends in "s": make sure the number part is all digits.
            guard let value = Int64(number), value > 0, number.allSatisfy(\.isNumber) else { continue }
            return .milliseconds(value * milliseconds)
        }
        return nil
    }

    /// The shortest exact spelling: 120 s is `2m`, 1.5 s is `1500ms`.
    public static func format(_ duration: Duration) -> String {
        let milliseconds = duration.milliseconds
        for (suffix, size) in [("d", Int64(86_400_000)), ("h", 3_600_000), ("m", 60_000), ("s", 1000)]
        where milliseconds >= size && milliseconds % size == 0 {
            return "\(milliseconds / size)\(suffix)"
        }
        return "\(milliseconds)ms"
    }
}

extension Duration {
    /// Whole milliseconds, rounded down.
    /// In seconds, for `Date` arithmetic.
    public var timeInterval: TimeInterval {
        let (seconds, attoseconds) = components
        return TimeInterval(seconds) + TimeInterval(attoseconds) / 1e18
    }

    public var milliseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1000 + attoseconds / 1_000_000_000_000_000
    }
}
