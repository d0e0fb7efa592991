import FleetApp
import FleetCore
import FleetJobs
import FleetStoreKit
import Foundation
import Postgres
import Redis
import Testing

/// The Redis lock together with the PostgreSQL fence that makes it safe: a holder whose lease
/// expired cannot write after the next holder, because its fencing token is older.
@Suite("Lock fencing across Redis and PostgreSQL")
struct LockFencingTests {
    static let environment = ProcessInfo.processInfo.environment

    @Test func anExpiredHoldersFenceIsRejectedByTheStore() async throws {
        let redis = RedisClient(
            configuration: try RedisConfiguration(
                url: Self.environment["FLEET_REDIS_URL"] ?? FleetConfiguration.defaultRedisURL
            )
        )
        let postgresConfiguration = try PostgresConfiguration(
            url: Self.environment["FLEET_POSTGRES_URL"] ?? FleetConfiguration.defaultPostgresURL
        )
        let postgres = PostgresClient(configuration: postgresConfiguration, maxConnections: 2)
        _ = try await PostgresMigrations.migrate(postgres)
        let resource = "test-event-\(UUID().uuidString)"
        let lock = RedisLock(client: redis, key: "lock:\(resource)", lease: .milliseconds(100))
        // The next holder keeps its lease for the whole test, however slow the machine.
        let longLock = RedisLock(client: redis, key: "lock:\(resource)", lease: .seconds(30))

        let stale = try #require(try await lock.tryAcquire())
        try await Task.sleep(for: .milliseconds(300))  // the first holder pauses past its lease
        let current = try #require(try await longLock.tryAcquire(), "the expired lock is free again")
        #expect(current.fence > stale.fence)

        let currentAdmitted = try await postgres.withTransaction { connection in
            try PostgresFence.admit(connection, resource: resource, fence: current.fence)
        }
        let staleAdmitted = try await postgres.withTransaction { connection in
            try PostgresFence.admit(connection, resource: resource, fence: stale.fence)
        }
        #expect(currentAdmitted)
        #expect(!staleAdmitted, "the stale holder's write is refused")
        #expect(try await lock.release(stale) == false, "the stale holder cannot release the new lease")
        #expect(try await longLock.release(current))
        let again = try await postgres.withTransaction { connection in
            try PostgresFence.admit(connection, resource: resource, fence: current.fence)
        }
        #expect(again, "the same holder may write again")
        await redis.shutdown()
        await postgres.shutdown()
    }
}

/// The fence counter when Redis loses it: a store's fence raises it back, never lowers it, and tells
/// a lost counter (raised) from a newer holder (already at or above).
@Suite("Fence counter repair")
struct FenceCounterRepairTests {
    @Test func aLostCounterIsRaisedToTheStoresFenceAndNeverLowered() async throws {
        let redis = RedisClient(
            configuration: try RedisConfiguration(
                url: ProcessInfo.processInfo.environment["FLEET_REDIS_URL"] ?? FleetConfiguration.defaultRedisURL
            )
        )
        let lock = RedisLock(
            client: redis,
            key: "lock:test-repair-\(UUID().uuidString)",
            lease: .seconds(30),
            fenceRetention: .seconds(60)
        )
        let first = try #require(try await lock.tryAcquire())
        try await lock.release(first)
        // Redis forgets the counter (restart, FLUSHALL): fences start again from 1.
        try await redis.command(["DEL", lock.fenceKey])
        let lost = try #require(try await lock.tryAcquire())
        #expect(lost.fence == 1)
        // The store held fence 500: the counter was below, so Redis lost it.
        #expect(try await lock.raiseFence(toAtLeast: 500))
        try await lock.release(lost)
        let repaired = try #require(try await lock.tryAcquire())
        #expect(repaired.fence == 501)
        // A store whose fence is not above the counter: a newer holder exists; nothing changes.
        #expect(try await lock.raiseFence(toAtLeast: 400) == false)
        #expect(try await lock.raiseFence(toAtLeast: 501) == false)
        try await lock.release(repaired)
        #expect(try #require(try await lock.tryAcquire()).fence == 502, "never lowered")
        let ttl = try #require(try await redis.command(["PTTL", lock.fenceKey]).int)
        #expect(ttl > 0 && ttl <= 60_000, "the retention is refreshed on each acquisition")
        try await redis.command(["DEL", lock.key, lock.fenceKey])

        // Without a retention the counter never expires, as before.
        let plain = RedisLock(client: redis, key: "lock:test-repair-\(UUID().uuidString)", lease: .seconds(30))
        try await plain.release(try #require(try await plain.tryAcquire()))
        #expect(try await plain.raiseFence(toAtLeast: 10))
        #expect(try await redis.command(["PTTL", plain.fenceKey]).int == -1)
        try await redis.command(["DEL", plain.fenceKey])
        await redis.shutdown()
    }
}

@Suite("Versioned cache writes")
struct VersionedCacheTests {
    @Test func anOlderVersionNeverReplacesANewerValue() async throws {
        let redis = RedisClient(
            configuration: try RedisConfiguration(
                url: ProcessInfo.processInfo.environment["FLEET_REDIS_URL"] ?? FleetConfiguration.defaultRedisURL
            )
        )
        let cache = RedisCache(client: redis, prefix: "test:versioned:\(UUID().uuidString):")
        #expect(try await cache.set("user", "70", version: 2, ttl: .seconds(30)))
        #expect(try await cache.set("user", "40", version: 1, ttl: .seconds(30)) == false, "a late older write")
        #expect(try await cache.get("user") == "70")
        #expect(try await cache.set("user", "80", version: 3, ttl: .seconds(30)))
        #expect(try await cache.get("user") == "80")
        try await cache.invalidate(["user", "user:version"])
        await redis.shutdown()
    }
}
