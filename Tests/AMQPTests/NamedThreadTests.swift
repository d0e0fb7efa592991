import Foundation
import Testing

@testable import AMQP

@Suite("Named threads")
struct NamedThreadTests {
    /// The name the kernel holds for the calling thread.
    static func systemName() -> String {
        (try? String(contentsOfFile: "/proc/thread-self/comm", encoding: .utf8))?
            .trimmingCharacters(in: .newlines) ?? "?"
    }

    @Test("the system sees the thread's name, cut to 15 bytes")
    func theSystemSeesTheName() async {
        for (name, expected) in [
            ("amqp-connection", "amqp-connection"), ("amqp-admin-of-a-long-name", "amqp-admin-of-a"),
        ] {
            let seen = await withCheckedContinuation { (continuation: CheckedContinuation<String, Never>) in
                NamedThread.start(name: name) { continuation.resume(returning: Self.systemName()) }
            }
            #expect(seen == expected)
        }
    }
}
