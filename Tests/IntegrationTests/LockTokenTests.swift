import Testing

@testable import Redis

/// Lock tokens come from the process's pool of the kernel's random bytes (`RandomBytes`), 16 bytes
/// each: one pool of 4 KiB serves 256 tokens, so 1,000 draws cross three refills.
@Suite("Redis lock tokens")
struct LockTokenTests {
    @Test func tokensAreDistinctLowercaseHexAcrossPoolRefills() {
        let tokens = (0..<1_000).map { _ in RedisLock.randomToken() }
        #expect(Set(tokens).count == tokens.count)
        let hex = Set("0123456789abcdef".utf8)
        #expect(tokens.allSatisfy { $0.utf8.count == 32 && $0.utf8.allSatisfy(hex.contains) })
    }
}
