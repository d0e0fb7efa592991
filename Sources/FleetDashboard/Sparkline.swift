import Foundation

/// The last `capacity` samples of one series, oldest first: what a sparkline draws.
public struct SampleRing: Sendable, Equatable {
    public let capacity: Int
    public private(set) var values: [Double] = []

    public init(capacity: Int) {
        precondition(capacity > 0, "a ring holds at least one sample")
        self.capacity = capacity
    }

    public mutating func append(_ value: Double) {
        if values.count == capacity { values.removeFirst() }
        values.append(value)
    }
}

/// Inline SVG sparklines: a polyline scaled from zero to the series' maximum, so a flat zero line sits on
/// the bottom edge and a queue that fills up climbs.
public enum Sparkline {
    /// The polyline's `points`: x spread evenly over `width`, y from `height` (zero) to 0 (the maximum).
    /// One sample draws a flat line across; none draws nothing.
    public static func points(_ values: [Double], width: Double, height: Double) -> String {
        guard !values.isEmpty else { return "" }
        let series = values.count == 1 ? [values[0], values[0]] : values
        let top = series.map { $0.isFinite ? max($0, 0) : 0 }.max() ?? 0
        let step = width / Double(series.count - 1)
        return series.enumerated().map { index, value in
            let clamped = value.isFinite ? max(value, 0) : 0
            let y = top > 0 ? height - clamped / top * height : height
            return "\(format(Double(index) * step)),\(format(y))"
        }.joined(separator: " ")
    }

    /// A complete `<svg>` element, `label` as its accessible title (HTML-escaped here: the caller inserts
    /// the result unescaped).
    public static func svg(_ values: [Double], label: String, width: Double = 120, height: Double = 24) -> String {
        let line = points(values, width: width, height: height)
        return """
            <svg class="spark" width="\(format(width))" height="\(format(height))" viewBox="0 0 \(format(width)) \
            \(format(height))" role="img" aria-label="\(HTMLText.escape(label))"><title>\(HTMLText.escape(label))</title>\
            <polyline fill="none" stroke="currentColor" stroke-width="1.5" points="\(line)"/></svg>
            """
    }

    static func format(_ value: Double) -> String { String(format: "%.1f", value) }
}
