import Foundation

/// When a buffer of rows is written: as soon as it holds ``maxRows`` rows, or once its oldest row has
/// waited ``maxAge``, whichever comes first. Pure: the buffer asks, the policy answers.
public struct FlushPolicy: Sendable, Equatable {
    /// Flush as soon as this many rows wait (at least 1).
    public var maxRows: Int
    /// Flush once the oldest row has waited this long.
    public var maxAge: Duration

    /// Once the rows are due, wait for a pause this long between rows before writing them (zero: write
    /// at once); at most ``maxHold`` after they fell due (zero: one `pause`).
    /// Only for rows nobody waits for (``BatchBuffer/offer(_:)``): their write then starts after a
    /// burst of jobs, not during its last acks.
    public var pause: Duration = .zero
    public var maxHold: Duration = .zero

    public static let defaultMaxRows = 5000
    public static let defaultMaxAge = Duration.seconds(1)

    public init(
        maxRows: Int = defaultMaxRows,
        maxAge: Duration = defaultMaxAge,
        pause: Duration = .zero,
        maxHold: Duration = .zero
    ) {
        self.maxRows = max(1, maxRows)
        self.maxAge = max(.zero, maxAge)
        self.pause = max(.zero, pause)
        self.maxHold = max(.zero, maxHold)
    }

    /// For rows that are due (``decide(rows:oldestAge:)`` said ``Decision/flushNow``): how much longer
    /// to hold them, given the time since the last row came and since they fell due; nil to write now.
    public func hold(sinceLastRow: Duration, sinceDue: Duration) -> Duration? {
        let limit = maxHold > .zero ? maxHold : pause
        guard pause > .zero, sinceLastRow < pause, sinceDue < limit else { return nil }
        return min(pause - sinceLastRow, limit - sinceDue)
    }

    public enum Decision: Sendable, Equatable {
        /// Nothing waits.
        case idle
        /// Write the rows now.
        case flushNow
        /// Ask again after this long (when the oldest row reaches ``maxAge``).
        case wait(Duration)
    }

    /// What to do with `rows` rows whose oldest has waited `oldestAge` (nil when there are none).
    public func decide(rows: Int, oldestAge: Duration?) -> Decision {
        guard rows > 0, let oldestAge else { return .idle }
        if rows >= maxRows || oldestAge >= maxAge { return .flushNow }
        return .wait(maxAge - oldestAge)
    }

    /// `FLEET_<prefix>_FLUSH_ROWS` and `FLEET_<prefix>_FLUSH_MS` over `defaults` (whose pause they
    /// keep); a failure for a malformed value, with the variable's name.
    public static func fromEnvironment(
        prefix: String,
        _ environment: [String: String],
        defaults: FlushPolicy = FlushPolicy()
    ) -> Result<FlushPolicy, PolicyError> {
        var policy = defaults
        let rowsName = "FLEET_\(prefix)_FLUSH_ROWS"
        let ageName = "FLEET_\(prefix)_FLUSH_MS"
        if let text = environment[rowsName] {
            guard let rows = Int(text), (1...1_000_000).contains(rows) else {
                return .failure(PolicyError(variable: rowsName, problem: "expected 1...1000000 rows"))
            }
            policy.maxRows = rows
        }
        if let text = environment[ageName] {
            guard let ms = Int(text), (0...600_000).contains(ms) else {
                return .failure(PolicyError(variable: ageName, problem: "expected 0...600000 milliseconds"))
            }
            policy.maxAge = .milliseconds(ms)
        }
        return .success(policy)
    }

    public struct PolicyError: Error, CustomStringConvertible {
        public let variable: String
        public let problem: String
        public var description: String { "\(variable): \(problem)" }
    }
}
