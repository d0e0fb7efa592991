import MongoDB
import Redis

/// The Redis cache entries of one content document, as the content API servers write them:
///
/// - `content:<id>`: the cached document (`<id>` = 24 lowercase hex digits);
/// - `content:<id>:keys`: an optional Redis set naming further entries derived from it (a
///   rendering, a per-language summary). Only members that start with `content:<id>:` are
///   deleted, so a stray member cannot remove another content's (or another service's) keys.
///
/// ``invalidate(_:)`` deletes all of them in one script, so no SCAN over the keyspace is needed.
/// (The script deletes keys it is not passed in KEYS: fine on one Redis server, not on a cluster.)
public struct ContentCache: Sendable {
    public static let prefix = "content:"

    let client: RedisClient

    public init(client: RedisClient) {
        self.client = client
    }

    /// The key of the cached document.
    public static func key(_ contentId: ObjectId) -> String { prefix + contentId.hex }

    /// The set of derived keys.
    public static func keySet(_ contentId: ObjectId) -> String { key(contentId) + ":keys" }

    /// Deletes the document's entry, the derived entries its key set names, and the set.
    /// - Returns: how many keys were deleted.
    @discardableResult
    public func invalidate(_ contentId: ObjectId) async throws -> Int {
        let reply = try await client.eval(
            Self.invalidateScript,
            keys: [Self.key(contentId), Self.keySet(contentId)],
            arguments: [Self.key(contentId) + ":"]
        )
        return Int(reply.int ?? 0)
    }

    private static let invalidateScript = RedisScript(
        """
        local deleted = 0
        if redis.call('TYPE', KEYS[2]).ok == 'set' then
            for _, key in ipairs(redis.call('SMEMBERS', KEYS[2])) do
                if string.sub(key, 1, #ARGV[1]) == ARGV[1] and key ~= KEYS[2] then
                    deleted = deleted + redis.call('DEL', key)
                end
            end
        end
        return deleted + redis.call('DEL', KEYS[1], KEYS[2])
        """
    )
}
