/// A small string cache in Redis. Every key is stored as `prefix + key`, so caches of different
/// kinds (or tests) share a server without colliding.
public struct RedisCache: Sendable {
    /// The client every cache command goes through.
    public let client: RedisClient
    /// Put before every key, such as `"cache:skills:"`.
    public let prefix: String

    /// A cache whose keys are `prefix + key` on `client`'s server.
    public init(client: RedisClient, prefix: String) {
        self.client = client
        self.prefix = prefix
    }

    /// The cached value, or nil when it is missing or expired.
    public func get(_ key: String) async throws -> String? {
        let reply = try await client.command(["GET", prefix + key])
        switch reply {
        case .null: return nil
        case .string(let value): return value
        default:
            throw RedisError(
                code: .unexpectedReply,
                message: "GET returned \(reply)",
                address: client.configuration.redactedAddress
            )
        }
    }

    /// Stores `value` for `ttl` (rounded up to whole milliseconds; must be positive).
    public func set(_ key: String, _ value: String, ttl: Duration) async throws {
        guard ttl > .zero else {
            throw RedisError(
                code: .configuration,
                message: "cache TTL must be positive",
                address: client.configuration.redactedAddress
            )
        }
        try await client.command(["SET", prefix + key, value, "PX", String(ttl.wholeMillisecondsRoundedUp)])
    }

    /// Stores `value` only if `version` is newer than the version stored with the key (kept in
    /// `prefix + key + ":version"`, same TTL). Returns false when a newer value was already there.
    ///
    /// Writers that compute values in order but write them to the cache concurrently (after their
    /// transactions commit) use it so the cache can never go back to an older value.
    @discardableResult
    public func set(_ key: String, _ value: String, version: Int64, ttl: Duration) async throws -> Bool {
        guard ttl > .zero else {
            throw RedisError(
                code: .configuration,
                message: "cache TTL must be positive",
                address: client.configuration.redactedAddress
            )
        }
        let reply = try await client.eval(
            Self.setIfNewerScript,
            keys: [prefix + key, prefix + key + ":version"],
            arguments: [value, String(version), String(ttl.wholeMillisecondsRoundedUp)]
        )
        return reply.int == 1
    }

    private static let setIfNewerScript = RedisScript(
        """
        local current = tonumber(redis.call('GET', KEYS[2]) or '-1')
        if current >= tonumber(ARGV[2]) then return 0 end
        redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[3])
        redis.call('SET', KEYS[2], ARGV[2], 'PX', ARGV[3])
        return 1
        """
    )

    /// Removes the given keys in one `DEL` (one round trip). Missing keys are fine.
    public func invalidate(_ keys: [String]) async throws {
        guard !keys.isEmpty else { return }
        try await client.command(["DEL"] + keys.map { prefix + $0 })
    }
}
