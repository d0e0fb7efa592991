import FleetObservability
import Synchronization
import Testing

@Suite("Readiness check")
struct ReadinessCheckTests {
    struct Down: Error {}

    @Test("A store counts as unreachable until its probe answers, and again once it fails or hangs")
    func storeProbes() async {
        let redisUp = Mutex(false)
        let check = ReadinessCheck(
            processReasons: { [] },
            probes: [
                .init(store: "redis") { if !redisUp.withLock({ $0 }) { throw Down() } },
                .init(store: "postgres") {},
            ],
            timeout: .milliseconds(200)
        )
        #expect(check.reasons == ["store unreachable: postgres", "store unreachable: redis"])
        await check.probeOnce()
        #expect(check.reasons == ["store unreachable: redis"])
        redisUp.withLock { $0 = true }
        await check.probeOnce()
        #expect(check.reasons.isEmpty)
        redisUp.withLock { $0 = false }
        await check.probeOnce()
        #expect(check.reasons == ["store unreachable: redis"])
    }

    @Test("A probe that outlasts the timeout fails and is cancelled; the process's reasons come first")
    func hangingProbe() async {
        let check = ReadinessCheck(
            processReasons: { ["broker disconnected (fleet.learning consumer)"] },
            probes: [.init(store: "neo4j") { try await Task.sleep(for: .seconds(3600)) }],
            timeout: .milliseconds(100)
        )
        let start = ContinuousClock.now
        await check.probeOnce()
        #expect(ContinuousClock.now - start < .seconds(30))
        #expect(check.reasons == ["broker disconnected (fleet.learning consumer)", "store unreachable: neo4j"])
    }
}
