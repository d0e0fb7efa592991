import Foundation

/// A value that can be bound to a statement parameter, in PostgreSQL's text input format.
///
/// Values are always sent as bound parameters, never spliced into SQL, so no escaping is needed.
/// `Sendable` so that parameter arrays can cross into the pool's threads.
public protocol PostgresBindable: Sendable {
    /// The value as PostgreSQL parses it from text.
    var postgresText: String { get }
}

extension String: PostgresBindable {
    public var postgresText: String { self }
}

extension Int: PostgresBindable {
    public var postgresText: String { String(self) }
}

extension Int32: PostgresBindable {
    public var postgresText: String { String(self) }
}

extension Int64: PostgresBindable {
    public var postgresText: String { String(self) }
}

extension Double: PostgresBindable {
    /// Swift's shortest round-tripping form; the special values spelled as PostgreSQL reads them.
    public var postgresText: String {
        if isNaN { return "NaN" }
        if isInfinite { return self < 0 ? "-Infinity" : "Infinity" }
        return description
    }
}

extension Bool: PostgresBindable {
    public var postgresText: String { self ? "true" : "false" }
}

extension UUID: PostgresBindable {
    public var postgresText: String { uuidString.lowercased() }
}

extension Date: PostgresBindable {
    /// ISO 8601 in UTC with microseconds, PostgreSQL's own precision, e.g. `2026-11-25T20:31:02.123456Z`.
    public var postgresText: String { PostgresTimestamp.format(self) }
}
