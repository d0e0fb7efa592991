/// Why a lock operation failed.
public struct RedisLockError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What went wrong. Static members rather than an enum, so kinds can be added later.
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        public let description: String
        private init(_ description: String) { self.description = description }
        /// Not acquired within the timeout.
        public static let timeout = Code("timeout")
        /// The lease expired or another holder took over.
        public static let lost = Code("lost")
    }

    /// What went wrong.
    public let code: Code
    /// The Redis key of the lock.
    public let key: String

    /// The lock on `key` was not acquired within the timeout.
    public static func timeout(_ key: String) -> RedisLockError { RedisLockError(code: .timeout, key: key) }
    /// The lease on `key` expired or another holder took the lock over.
    public static func lost(_ key: String) -> RedisLockError { RedisLockError(code: .lost, key: key) }

    public var description: String {
        code == .timeout
            ? "timed out acquiring Redis lock \(key)"
            : "lost Redis lock \(key): lease expired or taken over"
    }
}
