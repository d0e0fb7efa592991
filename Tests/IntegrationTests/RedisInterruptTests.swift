import Foundation
import Redis
import Testing

/// A cancelled caller (a job past its deadline) cuts its Redis call short: Redis has no cancel
/// request, so the pool shuts the socket down after its grace period, before the command timeout.
@Suite("Redis call interruption")
struct RedisInterruptTests {
    static let url = ProcessInfo.processInfo.environment["FLEET_REDIS_URL"] ?? "redis://127.0.0.1:56379/0"

    @Test func aCancelledCallerCutsABlockedCommandShortAndThePoolServesTheNext() async throws {
        var configuration = try RedisConfiguration(url: Self.url)
        #expect(configuration.timeoutSeconds == 5)
        // A command timeout far beyond the pool's 2 s grace, so only the interruption can end the call early.
        configuration.timeoutSeconds = 20
        let client = RedisClient(configuration: configuration, maxConnections: 1)
        let key = "interrupt:\(UUID().uuidString)"
        // The pool's one connection is open first, so the command below reaches the server at once.
        #expect(try await client.command(["PING"]) == .status("PONG"))
        // BLPOP on an empty list: the server answers only after its 15 s.
        let call = Task { try await client.command(["BLPOP", key, "15"]) }
        try await Task.sleep(for: .milliseconds(300))
        let cancelled = ContinuousClock.now
        call.cancel()
        let error = await #expect(throws: RedisError.self) { try await call.value }
        let took = ContinuousClock.now - cancelled
        #expect(took < .seconds(10), "the call returned \(took) after its caller was cancelled")
        #expect(error?.isTransient == true, "\(String(describing: error))")
        // The cut connection is retired; the pool's only slot opens a fresh one.
        #expect(try await client.command(["PING"]) == .status("PONG"))
        await client.shutdown()
    }
}
