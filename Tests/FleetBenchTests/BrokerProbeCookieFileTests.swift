import Foundation
import Testing

@testable import FleetBench

@Suite("The bench's broker probe reads the Erlang cookie from FLEET_RABBITMQ_COOKIE_FILE")
struct BrokerProbeCookieFileTests {
    @Test func cookieFromItsFile() throws {
        let path = "\(NSTemporaryDirectory())/cookie-\(UUID().uuidString.prefix(8))"
        try Data("FILEDCOOKIE\n".utf8).write(to: URL(fileURLWithPath: path))
        defer { try? FileManager.default.removeItem(atPath: path) }
        let probe = BrokerProbe.fromEnvironment(["FLEET_RABBITMQ_COOKIE_FILE": path])
        // Nil only where Erlang's erl_call is missing: the probe is optional.
        if FileManager.default.isExecutableFile(atPath: "/usr/lib/erlang/bin/erl_call") {
            #expect(probe?.cookie == "FILEDCOOKIE")
        }
        #expect(BrokerProbe.fromEnvironment(["FLEET_RABBITMQ_COOKIE_FILE": "\(path).missing"]) == nil)
    }
}
