import FleetCore

/// For a PostgreSQL write computed from a value read in another store (MongoDB skills), outside
/// its transaction: a run that read the value before a concurrent change could commit after the
/// run that saw the change. So after each write the value is read again and, while it changed,
/// written again with the new value; the last write then always reflects the latest value.
enum ReadAgainAfterCommit {
    /// Writes at most `attempts` times, then a transient ``JobError`` retries the job later.
    /// - Returns: the first write's result (it decides the job's outcome) and the last's.
    static func run<Value: Equatable, Result>(
        attempts: Int = 5,
        what: String,
        read: () async throws -> Value,
        write: (_ value: Value, _ isFirst: Bool) async throws -> Result
    ) async throws -> (first: Result, last: Result) {
        var value = try await read()
        let first = try await write(value, true)
        var last = first
        for _ in 1..<attempts {
            let current = try await read()
            if current == value { return (first, last) }
            value = current
            last = try await write(value, false)
        }
        guard try await read() == value else {
            throw JobError.transient("skills_changing", "\(what) kept changing")
        }
        return (first, last)
    }
}
