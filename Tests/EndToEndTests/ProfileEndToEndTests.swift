import FleetApp
import FleetCore
import FleetJobs
import Foundation
import Redis
import Testing

@Suite("Profile completion end to end")
struct ProfileEndToEndTests {
    @Test("Recalculation writes PostgreSQL and refreshes the Redis cache; an unknown user is dead-lettered")
    func recalculationIsStoredAndCached() async throws {
        let environment = try await FleetTestEnvironment.make("profile", workers: ["profile"])
        try await SampleWorkload.seed(environment.postgres, users: 2, courses: 1)
        let redis = RedisClient(configuration: environment.configuration.redis)
        let cache = RedisCache(client: redis, prefix: ProfileCompletionRecalculateHandler.cachePrefix)
        // A value left by an earlier deployment must be replaced, not kept. (Versions come from each
        // database's sequence, so a newer version left by another database, e.g. the demo's, would win.)
        try await cache.invalidate([SampleWorkload.userId(0), SampleWorkload.userId(0) + ":version"])
        try await cache.invalidate([SampleWorkload.userId(1), SampleWorkload.userId(1) + ":version"])
        let worker = try environment.startWorker("profile")
        let (producer, stores) = environment.producer()
        for user in [0, 1, 0] {
            try await producer.enqueue(
                type: "profile.completion.recalculate",
                payload: ["user_id": .string(SampleWorkload.userId(user))]
            )
        }
        try await producer.enqueue(
            type: "profile.completion.recalculate",
            payload: ["user_id": .string("00000000-0000-4000-8000-999999999999")]
        )
        try await environment.waitUntil("three recalculations applied and one dead letter") {
            let applied = try await environment.count("SELECT count(*) AS n FROM fleet_applied_jobs")
            let dead = try await environment.queueDepth("fleet.profile.dlq")
            return applied == 3 && dead == 1
        }
        // Seeded user 0: first and last name, headline, years (0), location, a URL = 60.
        // Seeded user 1: first name, years, location = 30. Nobody has skills in this MongoDB database.
        for (user, expected) in [(0, 60), (1, 30)] {
            let stored = try await environment.count(
                "SELECT profile_completion_percentage AS n FROM users WHERE user_id = $1",
                [SampleWorkload.userId(user)]
            )
            #expect(stored == expected, "user \(user)")
            #expect(try await cache.get(SampleWorkload.userId(user)) == String(expected), "cached for user \(user)")
        }
        #expect(try await environment.deadLetters("fleet.profile").first?.reason == "unknown_user")
        await worker.stop()
        try await cache.invalidate([
            SampleWorkload.userId(0), SampleWorkload.userId(1), SampleWorkload.userId(0) + ":version",
            SampleWorkload.userId(1) + ":version",
        ])
        await redis.shutdown()
        await producer.shutdown()
        await stores.shutdown()
        await environment.tearDown()
    }
}
