import Redis

/// One backup per store at a time, across every process: a ``RedisLock`` on `fleet:backup:<store>`.
///
/// A second backup of the same store does not wait: it fails at once with ``BackupError/Code/locked``
/// (a scheduled backup that finds one running has nothing to add; the job is not retried for it).
/// The lease is short and renewed while the backup runs, so a crashed holder blocks the next
/// backup for at most one lease.
public struct BackupLock: Sendable {
    public static let lease = Duration.seconds(60)
    static let renewEvery = Duration.seconds(15)

    let redis: RedisClient
    /// Prepended to the store's name: `fleet:backup:` (tests use their own).
    public let prefix: String

    public init(redis: RedisClient, prefix: String = "fleet:backup:") {
        self.redis = redis
        self.prefix = prefix
    }

    public func key(_ store: BackupStore) -> String { prefix + store.rawValue }

    /// Runs `body` holding the store's lock, renewing it until `body` returns.
    public func withLock<T: Sendable>(
        _ store: BackupStore,
        _ body: @escaping @Sendable () async throws -> T
    ) async throws -> T {
        let lock = RedisLock(client: redis, key: key(store), lease: Self.lease)
        guard let lease = try await lock.tryAcquire() else {
            throw BackupError(
                .locked,
                "another backup of \(store) is running (lock \(key(store))); not starting a second one"
            )
        }
        let result: Result<T, any Error>
        do {
            result = .success(
                try await withThrowingTaskGroup(of: T?.self) { group in
                    group.addTask {
                        var current = lease
                        while true {
                            try await Task.sleep(for: Self.renewEvery)
                            current = try await lock.extend(current)
                        }
                    }
                    group.addTask { try await body() }
                    defer { group.cancelAll() }
                    while let next = try await group.next() {
                        if let value = next { return value }
                    }
                    throw CancellationError()
                }
            )
        } catch {
            result = .failure(error)
        }
        _ = try? await lock.release(lease)
        return try result.get()
    }
}
