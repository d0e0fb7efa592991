import FleetCore
import Foundation
import Testing

@testable import FleetOps

/// Against the broker `scripts/services.sh` starts (its management API, `FLEET_RABBITMQ_MGMT_URL`).
@Suite struct RabbitManagementClientTests {
    let environment = ProcessInfo.processInfo.environment
    var managementURL: String { environment["FLEET_RABBITMQ_MGMT_URL"] ?? "http://fleet:fleet@127.0.0.1:15682" }

    @Test func readsTheFleetQueuesAndBuildsTheirOverview() async throws {
        let http = OpsHTTPClient()
        do {
            let client = try RabbitManagementClient(url: managementURL, http: http)
            #expect(!client.redactedURL.contains("@"), "\(client.redactedURL)")
            let topology = try Topology.load(path: Self.repositoryFile("queues.yaml"))
            let queues = try await client.queues(vhost: "/")
            // The services' vhost holds the declared topology (test.sh runs `fleet topology declare`
            // through the tests that need it); at least the work queues exist with their type.
            let overview = QueueOverview.build(topology: topology, queues: queues)
            #expect(overview.map(\.name) == topology.queues.map(\.name))
            for item in overview where item.exists {
                let queue = try #require(queues.first { $0.name == item.name })
                #expect(["quorum", "classic", "stream"].contains(queue.type))
                #expect(item.ready == queue.ready && item.consumers == queue.consumers)
            }
        } catch {
            try await http.shutdown()
            throw error
        }
        try await http.shutdown()
    }

    @Test func wrongCredentialsAreAnErrorThatNamesNoPassword() async throws {
        let http = OpsHTTPClient()
        var components = try #require(URLComponents(string: managementURL))
        components.password = "sentinel-p4ss"
        let url = try #require(components.string)
        let client = try RabbitManagementClient(url: url, http: http)
        await #expect {
            _ = try await client.queues(vhost: "/")
        } throws: { error in
            let text = "\(error)"
            return text.contains("401") && !text.contains("sentinel-p4ss")
        }
        try await http.shutdown()
    }

    @Test func unreachableManagementAPIIsAClearError() async throws {
        let http = OpsHTTPClient(timeout: .seconds(3))
        let client = try RabbitManagementClient(url: "http://u:secret@127.0.0.1:1", http: http)
        await #expect {
            _ = try await client.queues(vhost: "/")
        } throws: { error in
            "\(error)".hasPrefix("http://127.0.0.1:1/api/queues/%2F") && !"\(error)".contains("secret")
        }
        try await http.shutdown()
    }

    static func repositoryFile(_ name: String) -> String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent(name).path
    }
}
