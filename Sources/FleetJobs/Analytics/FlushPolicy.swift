import Foundation

/// When a buffer of rows is written: as soon as it holds ``maxRows`` rows, or once its oldest row has
/// waited ``maxAge``, whichever comes first. Pure: the buffer asks, the policy answers.
public struct FlushPolicy: Sendable, Equatable {
    /// Flush as soon as this many rows wait (at least 1).
    public var maxRows: Int
    /// Flush once the oldest row has waited this long.
    public var maxAge: Duration

    public static let defaultMaxRows = 5000
    public static let defaultMaxAge = Duration.seconds(1)

    public init(maxRows: Int = defaultMaxRows, maxAge: Duration = defaultMaxAge) {
        self.maxRows = max(1, maxRows)
        self.maxAge = max(.zero, maxAge)
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

    /// `FLEET_<prefix>_FLUSH_ROWS` and `FLEET_<prefix>_FLUSH_MS` over the defaults; nil for a
    /// malformed value, with the variable's name in `problem`.
    public static func fromEnvironment(
        prefix: String,
        _ environment: [String: String]
    ) -> Result<FlushPolicy, PolicyError> {
        var policy = FlushPolicy()
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
