import BlockingIO
import Foundation
import Testing

@testable import Redis

/// Integration tests against a real Redis (FLEET_REDIS_URL, default redis://127.0.0.1:56379/0).
/// Every test works under its own random key prefix and deletes its keys, so tests run in parallel.
@Suite("Redis client")
struct RedisClientTests {
    static let url = ProcessInfo.processInfo.environment["FLEET_REDIS_URL"] ?? "redis://127.0.0.1:56379/0"

    // MARK: - Configuration

    @Test func parsesURLs() throws {
        let full = try RedisConfiguration(url: "redis://:s3cr%40t@cache.internal:6380/3")
        #expect(full.host == "cache.internal")
        #expect(full.port == 6380)
        #expect(full.database == 3)
        #expect(full.password == "s3cr@t")
        #expect(full.timeoutSeconds == 5)

        let minimal = try RedisConfiguration(url: "redis://localhost")
        #expect(minimal.host == "localhost")
        #expect(minimal.port == 6379)
        #expect(minimal.database == 0)
        #expect(minimal.password == nil)

        let trailingSlash = try RedisConfiguration(url: "REDIS://10.0.0.1:7000/")
        #expect(trailingSlash.host == "10.0.0.1" && trailingSlash.port == 7000 && trailingSlash.database == 0)

        let ipv6 = try RedisConfiguration(url: "redis://[::1]:6390/2")
        #expect(ipv6.host == "::1")
        #expect(ipv6.redactedAddress == "[::1]:6390/2")

        // An unencoded "@" in the password: the host starts after the last one.
        let atSign = try RedisConfiguration(url: "redis://:p@ss@h:1/0")
        #expect(atSign.password == "p@ss" && atSign.host == "h")
    }

    @Test func redactsThePassword() throws {
        let configuration = try RedisConfiguration(url: "redis://:hunter2@cache.internal:6380/3")
        #expect(configuration.redactedAddress == "cache.internal:6380/3")
        for text in ["\(configuration)", String(reflecting: configuration), configuration.redactedAddress] {
            #expect(!text.contains("hunter2"), "password leaked in \(text)")
        }
        #expect("\(configuration)".contains("cache.internal:6380/3"))
    }

    @Test(arguments: [
        "http://:hunter2@host:6379/0",
        "host:6379",
        "redis://",
        "redis://:hunter2@",
        "redis://:hunter2@host:port/0",
        "redis://:hunter2@host:0/0",
        "redis://:hunter2@host:70000/0",
        "redis://:hunter2@host:6379/db",
        "redis://:hunter2@host:6379/-1",
        "redis://user:hunter2@host:6379/0",
        "redis://:hunter2%zz@host:6379/0",
        "redis://:hunter2@host:6379/0?timeout=1",
        "redis://:hunter2@[::1:6379/0",
    ])
    func rejectsBadURLs(url: String) throws {
        let error = #expect(throws: RedisError.self) { try RedisConfiguration(url: url) }
        #expect(error?.code == .configuration)
        #expect(error?.isTransient == false)
        #expect(error?.message.contains("hunter2") == false)
        #expect(error.map { "\($0)".contains("hunter2") } == false)
    }

    // MARK: - Values, errors, scripts (no server)

    @Test func valueAccessors() {
        #expect(RedisValue.string("42").string == "42")
        #expect(RedisValue.string("42").int == 42)
        #expect(RedisValue.status("OK").string == "OK")
        #expect(RedisValue.integer(-7).string == "-7")
        #expect(RedisValue.integer(-7).int == -7)
        #expect(RedisValue.null.string == nil)
        #expect(RedisValue.null.int == nil)
        #expect(RedisValue.string("x").int == nil)
        #expect(RedisValue.error("ERR x").string == nil)
    }

    @Test func transientErrors() {
        func server(_ message: String) -> RedisError { RedisError(code: .server, message: message, address: "h:1/0") }
        #expect(RedisError(code: .connection, message: "reset", address: "h:1/0").isTransient)
        for prefix in ["LOADING", "BUSY", "TRYAGAIN", "MASTERDOWN"] {
            #expect(server("\(prefix) try later").isTransient, "\(prefix)")
        }
        let permanent = [
            "ERR unknown command", "WRONGTYPE Operation", "NOSCRIPT No matching", "BUSYKEY Target", "LOADINGX",
        ]
        for message in permanent {
            #expect(!server(message).isTransient, "\(message)")
        }
        #expect(!RedisError(code: .configuration, message: "bad", address: "").isTransient)
        #expect(!RedisError(code: .unexpectedReply, message: "bad", address: "h:1/0").isTransient)
    }

    @Test func scriptSHA1MatchesKnownVectors() {
        #expect(RedisScript("").sha1 == "da39a3ee5e6b4b0d3255bfef95601890afd80709")
        #expect(RedisScript("abc").sha1 == "a9993e364706816aba3e25717850c26c9cd0d89d")
        #expect(
            RedisScript("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq").sha1
                == "84983e441c3bd26ebaae4aa1f95129e5e54670f1"
        )
        #expect(
            RedisScript("The quick brown fox jumps over the lazy dog").sha1
                == "2fd4e1c67a2d28fced849ee1bb76e7391b93eb12"
        )
        // Lengths around the 64-byte block and the 56-byte padding boundary.
        let repeated: [Int: String] = [
            55: "c1c8bbdc22796e28c0e15163d20899b65621d65a",
            56: "c2db330f6083854c99d4b5bfb6e8f29f201be699",
            63: "03f09f5b158a7a8cdad920bddc29b81c18a551f5",
            64: "0098ba824b5c16427bd7a1122a5a442a25ec644d",
            65: "11655326c708d70319be2610e8a57d9a5b959d3b",
            1_000: "291e9a6c66994949b57ba5e650361e98fc36b1ba",
        ]
        for (count, digest) in repeated {
            #expect(RedisScript(String(repeating: "a", count: count)).sha1 == digest, "\(count) bytes")
        }
    }

    /// The bytes a command goes out as: count and lengths in decimal (more than one digit too),
    /// every argument byte-exact, UTF-8 lengths in bytes.
    @Test func commandsAreFormattedAsRESP() {
        #expect(RedisConnection.resp(["PING"]) == Array("*1\r\n$4\r\nPING\r\n".utf8))
        #expect(RedisConnection.resp(["SET", "k", ""]) == Array("*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$0\r\n\r\n".utf8))
        #expect(RedisConnection.resp(["a\r\n\0"]) == Array("*1\r\n$4\r\na\r\n\0\r\n".utf8))
        #expect(RedisConnection.resp(["é🚀"]) == Array("*1\r\n$6\r\né🚀\r\n".utf8))
        let long = String(repeating: "x", count: 1_234)
        #expect(RedisConnection.resp([long]) == Array("*1\r\n$1234\r\n\(long)\r\n".utf8))
        let twelve = ["DEL"] + (0..<11).map { "k\($0)" }
        let expected = "*12\r\n$3\r\nDEL\r\n" + (0..<11).map { "$\("k\($0)".utf8.count)\r\nk\($0)\r\n" }.joined()
        #expect(RedisConnection.resp(twelve) == Array(expected.utf8))
    }

    // MARK: - Commands

    @Test func commandRoundTripsHostileStrings() async throws {
        // Explicit closure type: every `try` here is inside #expect, which hides it from inference.
        try await withTestClient { (client: RedisClient, prefix: String) async throws in
            let values = [
                "", "plain", "with space", "a\0b", "\0", "\r\n", "line\r\nbreak", "*3\r\n$3\r\nSET\r\n",
                "$-1\r\n", "-ERR fake\r\n", "quotes ' \" \\ %s %n", "héllo wörld", "emoji 🚀👩‍👩‍👧",
                "\u{7F}\u{1}\u{1B}[31m",
                String(repeating: "x", count: 100_000),
            ]
            for (index, value) in values.enumerated() {
                let key = prefix + "key \(index) \r\n\0 🚀"
                #expect(try await client.command(["SET", key, value]) == .status("OK"))
                #expect(try await client.command(["GET", key]) == .string(value), "value \(index)")
                // Lengths are sent explicitly: NUL and CR LF count as bytes, not terminators.
                #expect(try await client.command(["STRLEN", key]) == .integer(Int64(value.utf8.count)))
            }
            #expect(try await client.command(["ECHO", ""]) == .string(""))
            #expect(try await client.command(["PING"]) == .status("PONG"))
        }
    }

    @Test func missingKeyIsNull() async throws {
        try await withTestClient { client, prefix in
            let reply = try await client.command(["GET", prefix + "missing"])
            #expect(reply == .null)
            #expect(reply.string == nil)
            #expect(try await client.command(["INCRBY", prefix + "n", "5"]) == .integer(5))
            #expect(try await client.command(["GET", prefix + "n"]).int == 5)
        }
    }

    @Test func serverErrorReplyIsThrown() async throws {
        try await withTestClient { client, prefix in
            try await client.command(["SET", prefix + "text", "not a number"])
            let wrongType = await #expect(throws: RedisError.self) {
                try await client.command(["LPUSH", prefix + "text", "x"])
            }
            #expect(wrongType?.code == .server)
            #expect(wrongType?.message.hasPrefix("WRONGTYPE") == true)
            #expect(wrongType?.isTransient == false)
            #expect(wrongType?.address == "127.0.0.1:56379/0" || Self.url != "redis://127.0.0.1:56379/0")

            // An error reply leaves the connection usable.
            let after = try await client.withConnection { connection -> (RedisError?, Bool, RedisValue) in
                var caught: RedisError?
                do {
                    try connection.command(["NO-SUCH-COMMAND", "arg"])
                } catch let error as RedisError {
                    caught = error
                }
                return (caught, connection.isUsable, try connection.command(["PING"]))
            }
            #expect(after.0?.code == .server)
            #expect(after.0?.message.hasPrefix("ERR") == true)
            #expect(after.1)
            #expect(after.2 == .status("PONG"))

            let empty = await #expect(throws: RedisError.self) { try await client.command([]) }
            #expect(empty?.code == .configuration)
        }
    }

    @Test func pipelineOfAThousandCommandsKeepsOrder() async throws {
        try await withTestClient { client, prefix in
            let counter = prefix + "counter"
            // Command 500 fails (wrong type): its error comes back in place and does not throw.
            let commands: [[String]] = (0..<1_000).map { index in
                index == 500 ? ["HGET", counter, "field"] : ["INCR", counter]
            }
            let results = try await client.pipeline(commands)
            #expect(results.count == 1_000)
            for (index, result) in results.enumerated() where index != 500 {
                let expected = Int64(index < 500 ? index + 1 : index)
                #expect(result == .integer(expected), "result \(index)")
            }
            guard case .error(let message) = results[500] else {
                Issue.record("expected an error reply at 500, got \(results[500])")
                return
            }
            #expect(message.hasPrefix("WRONGTYPE"))
            #expect(try await client.pipeline([]) == [])
            #expect(try await client.command(["GET", counter]).int == 999)
        }
    }

    @Test func evalFallsBackToEvalAfterScriptFlush() async throws {
        try await withTestClient { client, prefix in
            // The comment keeps this script's SHA1 private to this test.
            let script = RedisScript(
                "-- \(prefix) é\nreturn {KEYS[1], ARGV[1], redis.call('INCR', KEYS[1]), redis.call('GET', KEYS[2])}"
            )
            #expect(try await client.command(["SCRIPT", "LOAD", script.source]) == .string(script.sha1))
            let keys = [prefix + "n", prefix + "missing"]
            let first = try await client.eval(script, keys: keys, arguments: ["a\r\nb"])
            #expect(first == .array([.string(keys[0]), .string("a\r\nb"), .integer(1), .null]))

            try await client.command(["SCRIPT", "FLUSH"])
            #expect(try await client.command(["SCRIPT", "EXISTS", script.sha1]) == .array([.integer(0)]))
            let second = try await client.eval(script, keys: keys, arguments: [""])
            #expect(second == .array([.string(keys[0]), .string(""), .integer(2), .null]))
            // The EVAL fallback cached the script again.
            #expect(try await client.command(["SCRIPT", "EXISTS", script.sha1]) == .array([.integer(1)]))

            let failing = RedisScript("-- \(prefix)\nreturn redis.error_reply('BOOM from lua')")
            let error = await #expect(throws: RedisError.self) {
                try await client.eval(failing, keys: [], arguments: [])
            }
            #expect(error?.code == .server)
            #expect(error?.message.contains("BOOM from lua") == true)
        }
    }

    // MARK: - Lock

    @Test func lockExcludesConcurrentHoldersAndFencesIncrease() async throws {
        try await withTestClient { client, prefix in
            let lock = RedisLock(client: client, key: prefix + "lock", lease: .seconds(10))
            let probe = CriticalSectionProbe()
            try await withThrowingTaskGroup(of: Void.self) { group in
                for _ in 0..<20 {
                    group.addTask {
                        for _ in 0..<10 {
                            try await lock.withLock(timeout: .seconds(60)) { lease in
                                await probe.enter(fence: lease.fence)
                                // Widen the critical section so an overlap would be seen.
                                try await Task.sleep(for: .milliseconds(1))
                                await probe.leave()
                            }
                        }
                    }
                }
                try await group.waitForAll()
            }
            let (maxInside, fences) = await (probe.maxInside, probe.fences)
            #expect(maxInside == 1)
            #expect(fences.count == 200)
            #expect(zip(fences, fences.dropFirst()).allSatisfy { $0 < $1 }, "fences not increasing: \(fences)")
            #expect(Set(fences).count == 200)
            #expect(try await client.command(["EXISTS", prefix + "lock"]) == .integer(0))
        }
    }

    @Test func expiredLeaseCannotReleaseOrExtend() async throws {
        try await withTestClient { client, prefix in
            let lease = Duration.seconds(3)
            let lock = RedisLock(client: client, key: prefix + "lock", lease: lease)
            let acquiredAt = ContinuousClock.now
            let old = try #require(await lock.tryAcquire())
            #expect(old.token.count == 32 && old.token.allSatisfy(\.isHexDigit))
            let second = try await lock.tryAcquire()
            // Only meaningful if this machine did not stall past the lease between the two calls.
            if ContinuousClock.now - acquiredAt < lease { #expect(second == nil, "the lock must be held") }
            try await Task.sleep(until: (second ?? old).expiresAt + .milliseconds(300))

            let new = try #require(await lock.tryAcquire(), "the expired lease must be free")
            #expect(old.fence < new.fence)
            #expect(old.token != new.token)

            #expect(try await lock.release(old) == false)
            #expect(try await client.command(["GET", prefix + "lock"]) == .string(new.token))
            let error = await #expect(throws: RedisLockError.self) { try await lock.extend(old) }
            #expect(error == .lost(prefix + "lock"))
            #expect(try await client.command(["GET", prefix + "lock"]) == .string(new.token))

            #expect(try await lock.release(new) == true)
            #expect(try await client.command(["EXISTS", prefix + "lock"]) == .integer(0))
        }
    }

    @Test func extendPushesTheTTLBackUp() async throws {
        try await withTestClient { client, prefix in
            // A lease far longer than the pause: sleeps overrun on a loaded machine.
            let lock = RedisLock(client: client, key: prefix + "lock", lease: .seconds(10))
            let lease = try #require(await lock.tryAcquire())
            try await Task.sleep(for: .seconds(1))
            let before = try #require(await client.command(["PTTL", prefix + "lock"]).int)
            #expect(before > 0 && before <= 9_000)
            let extended = try await lock.extend(lease)
            let after = try #require(await client.command(["PTTL", prefix + "lock"]).int)
            #expect(after > before && after <= 10_000)
            #expect(extended.expiresAt > lease.expiresAt)
            #expect(extended.token == lease.token && extended.fence == lease.fence)
            #expect(try await lock.release(extended))
        }
    }

    @Test func acquireTimesOutAndWithLockReleasesOnError() async throws {
        try await withTestClient { client, prefix in
            let lock = RedisLock(client: client, key: prefix + "lock", lease: .seconds(10))
            let held = try #require(await lock.tryAcquire())
            let clock = ContinuousClock()
            let start = clock.now
            let timeout = await #expect(throws: RedisLockError.self) {
                try await lock.acquire(timeout: .milliseconds(200))
            }
            #expect(timeout == .timeout(prefix + "lock"))
            #expect(clock.now - start >= .milliseconds(200))
            #expect(clock.now - start < .seconds(2))
            #expect(try await lock.release(held))

            struct BodyFailed: Error {}
            await #expect(throws: BodyFailed.self) {
                try await lock.withLock(timeout: .seconds(5)) { _ in throw BodyFailed() }
            }
            #expect(try await client.command(["EXISTS", prefix + "lock"]) == .integer(0))
            let value = try await lock.withLock(timeout: .seconds(5)) { lease in lease.fence }
            #expect(value > held.fence)
        }
    }

    @Test func withLockReleasesWhenTheTaskIsCancelled() async throws {
        try await withTestClient { client, prefix in
            let lock = RedisLock(client: client, key: prefix + "lock", lease: .seconds(30))
            let holder = Task {
                try await lock.withLock(timeout: .seconds(5)) { _ in try await Task.sleep(for: .seconds(30)) }
            }
            var held = false
            for _ in 0..<500 where !held {
                held = try await client.command(["EXISTS", prefix + "lock"]) == .integer(1)
                if !held { try await Task.sleep(for: .milliseconds(2)) }
            }
            #expect(held)
            holder.cancel()
            await #expect(throws: CancellationError.self) { try await holder.value }
            // Released at once, not left to block others for the 30 s lease.
            #expect(try await client.command(["EXISTS", prefix + "lock"]) == .integer(0))
        }
    }

    // MARK: - Cache

    @Test func cacheSetGetExpireInvalidate() async throws {
        try await withTestClient { client, prefix in
            let cache = RedisCache(client: client, prefix: prefix + "cache:")
            #expect(try await cache.get("a") == nil)
            try await cache.set("a", "alpha", ttl: .seconds(60))
            try await cache.set("b", "", ttl: .seconds(60))
            try await cache.set("c", "gamma", ttl: .seconds(60))
            #expect(try await cache.get("a") == "alpha")
            #expect(try await cache.get("b") == "")
            #expect(try await client.command(["GET", prefix + "cache:a"]) == .string("alpha"))
            let ttl = try #require(await client.command(["PTTL", prefix + "cache:a"]).int)
            #expect(ttl > 30_000 && ttl <= 60_000)  // loose: a loaded CI machine can pause for seconds

            // A generous TTL: the parallel suite loads both cores, and a short one can lapse before the read.
            try await cache.set("short", "soon gone", ttl: .milliseconds(1_500))
            #expect(try await cache.get("short") == "soon gone")
            try await Task.sleep(for: .milliseconds(2_000))
            #expect(try await cache.get("short") == nil)

            try await cache.invalidate(["a", "b", "never-set"])
            #expect(try await cache.get("a") == nil)
            #expect(try await cache.get("b") == nil)
            #expect(try await cache.get("c") == "gamma")
            try await cache.invalidate([])

            let badTTL = await #expect(throws: RedisError.self) { try await cache.set("x", "y", ttl: .zero) }
            #expect(badTTL?.code == .configuration)
        }
    }

    // MARK: - Connections

    @Test func reconnectsAfterTheServerKillsTheConnection() async throws {
        let configuration = try RedisConfiguration(url: Self.url)
        try await Self.withClient(configuration, maxConnections: 1) { client in
            try await Self.withClient(configuration, maxConnections: 1) { admin in
                let firstID = try #require(await client.command(["CLIENT", "ID"]).int)
                // TYPE normal narrowed by ID: killing every normal client would break tests running in parallel.
                let killed = try await admin.command(["CLIENT", "KILL", "TYPE", "normal", "ID", String(firstID)])
                #expect(killed == .integer(1))

                var failures = 0
                var secondID: Int64?
                for _ in 1...3 {
                    do {
                        secondID = try await client.command(["CLIENT", "ID"]).int
                        break
                    } catch let error as RedisError {
                        #expect(error.code == .connection)
                        #expect(error.isTransient)
                        failures += 1
                    }
                }
                #expect(secondID != nil, "no attempt succeeded")
                #expect(secondID != firstID)
                // The dead connection fails exactly once; the pool then replaces it.
                #expect(failures == 1)
            }
        }
    }

    @Test func unreachableServerIsATransientConnectionError() async throws {
        let configuration = RedisConfiguration(host: "127.0.0.1", port: 1, database: 0, password: nil)
        try await Self.withClient(configuration) { client in
            let error = await #expect(throws: RedisError.self) { try await client.command(["PING"]) }
            #expect(error?.code == .connection)
            #expect(error?.isTransient == true)
            #expect(error?.message.contains("127.0.0.1:1") == true)
            #expect(error?.address == "127.0.0.1:1/0")
        }
    }

    @Test func commandTimeoutBreaksTheConnection() async throws {
        var configuration = try RedisConfiguration(url: Self.url)
        configuration.timeoutSeconds = 0.3
        let prefix = Self.randomPrefix()
        try await Self.withClient(configuration, maxConnections: 1) { client in
            let (error, usable) = try await client.withConnection { connection -> (RedisError?, Bool) in
                do {
                    try connection.command(["BLPOP", prefix + "empty-list", "2"])
                    return (nil, connection.isUsable)
                } catch let error as RedisError {
                    return (error, connection.isUsable)
                }
            }
            #expect(error?.code == .connection)
            #expect(error?.isTransient == true)
            #expect(error?.message.contains("timed out") == true)
            #expect(!usable)
            #expect(try await client.command(["PING"]) == .status("PONG"), "the pool replaces the timed-out connection")
        }
    }

    @Test func connectSelectsTheDatabaseAndSendsAUTH() async throws {
        var configuration = try RedisConfiguration(url: Self.url)
        configuration.database = 3
        try await Self.withClient(configuration, maxConnections: 1) { client in
            let info = try await client.command(["CLIENT", "INFO"]).string ?? ""
            #expect(info.contains(" db=3 "), "\(info)")
        }

        // This server has no password, so AUTH is refused: proof that it was sent.
        let password = "pw-" + Self.randomPrefix()
        configuration.password = password
        try await Self.withClient(configuration, maxConnections: 1) { client in
            let error = await #expect(throws: RedisError.self) { try await client.command(["PING"]) }
            #expect(error?.code == .server)
            #expect(error?.message.hasPrefix("AUTH failed") == true)
            #expect(error.map { "\($0)".contains(password) || $0.message.contains(password) } == false)
        }
    }

    @Test func shutdownWhileCommandsAreInFlight() async throws {
        let client = RedisClient(configuration: try RedisConfiguration(url: Self.url), maxConnections: 4)
        let prefix = Self.randomPrefix()
        let outcomes = await withTaskGroup(of: String.self) { group in
            for index in 0..<200 {
                group.addTask {
                    do {
                        try await client.command(["SET", prefix + "\(index % 8)", "v", "PX", "5000"])
                        return "ok"
                    } catch is BlockingPoolError {
                        return "shut down"
                    } catch {
                        return "other: \(error)"
                    }
                }
            }
            group.addTask {
                try? await Task.sleep(for: .milliseconds(5))
                await client.shutdown()
                return "shutdown returned"
            }
            var outcomes: [String] = []
            for await outcome in group { outcomes.append(outcome) }
            return outcomes
        }
        #expect(outcomes.count == 201)
        #expect(outcomes.contains("shutdown returned"))
        // Each command either ran or was refused by the pool; none saw a half-closed connection.
        let unexpected = outcomes.filter { $0.hasPrefix("other") }
        #expect(unexpected.isEmpty, "\(unexpected)")
        await #expect(throws: BlockingPoolError.self) { try await client.command(["PING"]) }
    }

    // MARK: - Helpers

    static func randomPrefix() -> String {
        "test:redis:" + String(UInt64.random(in: 0...UInt64.max), radix: 16) + ":"
    }

    /// Runs `body` with a fresh client, and shuts the client down however `body` ends
    /// (a client dropped without shutdown trips NIOThreadPool's assertion and kills the test run).
    private static func withClient<T>(
        _ configuration: RedisConfiguration,
        maxConnections: Int = 8,
        _ body: (RedisClient) async throws -> T
    ) async throws -> T {
        let client = RedisClient(configuration: configuration, maxConnections: maxConnections)
        do {
            let result = try await body(client)
            await client.shutdown()
            return result
        } catch {
            await client.shutdown()
            throw error
        }
    }

    /// Runs `body` with a fresh client and key prefix, then deletes the prefix's keys.
    private func withTestClient(_ body: (RedisClient, String) async throws -> Void) async throws {
        let prefix = Self.randomPrefix()
        try await Self.withClient(try RedisConfiguration(url: Self.url)) { client in
            do {
                try await body(client, prefix)
            } catch {
                try? await Self.deleteKeys(prefix: prefix, client: client)
                throw error
            }
            try? await Self.deleteKeys(prefix: prefix, client: client)
        }
    }

    private static func deleteKeys(prefix: String, client: RedisClient) async throws {
        var cursor = "0"
        repeat {
            let reply = try await client.command(["SCAN", cursor, "MATCH", prefix + "*", "COUNT", "1000"])
            guard case .array(let parts) = reply, parts.count == 2, let next = parts[0].string,
                case .array(let keys) = parts[1]
            else { return }
            let names = keys.compactMap(\.string)
            if !names.isEmpty { try await client.command(["DEL"] + names) }
            cursor = next
        } while cursor != "0"
    }
}

/// Counts holders inside a critical section; an actor so the count itself is race-free.
private actor CriticalSectionProbe {
    private var inside = 0
    private(set) var maxInside = 0
    private(set) var fences: [Int64] = []

    func enter(fence: Int64) {
        inside += 1
        maxInside = max(maxInside, inside)
        fences.append(fence)
    }

    func leave() { inside -= 1 }
}
