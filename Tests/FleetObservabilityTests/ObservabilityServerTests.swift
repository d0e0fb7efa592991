import AsyncHTTPClient
import FleetObservability
import Foundation
import Logging
import Metrics
import Prometheus
import ServiceLifecycle
import Synchronization
import Testing

/// The listener over real HTTP on a port the system picks. It serves a private registry: the test
/// process's swift-metrics backend is left alone (other suites share the process).
@Suite("Observability server")
struct ObservabilityServerTests {
    struct Down: Error {}

    @Test("Port 0: the bound address is written to the file; /healthz, /metrics and /readyz answer")
    func endpoints() async throws {
        let registry = PrometheusCollectorRegistry()
        let factory = PrometheusMetricsFactory(registry: registry)
        let labels = [("queue", "q"), ("type", "t"), ("outcome", "applied")]
        Counter(label: "fleet_jobs_total", dimensions: labels, factory: factory).increment(by: 3)
        let redisUp = Mutex(false)
        let workerReasons = Mutex(["queue missing: fleet.learning"])
        let readiness = ReadinessCheck(
            processReasons: { workerReasons.withLock { $0 } },
            probes: [.init(store: "redis") { if !redisUp.withLock({ $0 }) { throw Down() } }],
            interval: .milliseconds(100),
            timeout: .milliseconds(500),
            metrics: factory
        )
        let addressFile = "\(NSTemporaryDirectory())/obs-\(UUID().uuidString).addr"
        defer { try? FileManager.default.removeItem(atPath: addressFile) }
        let server = ObservabilityServer(
            address: HTTPListenAddress(host: "127.0.0.1", port: 0),
            addressFile: addressFile,
            registry: registry,
            readiness: readiness,
            logger: Logger(label: "test")
        )
        let group = ServiceGroup(services: [server], logger: Logger(label: "test"))
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            do {
                try await checkEndpoints(addressFile: addressFile, workerReasons: workerReasons, redisUp: redisUp)
            } catch {
                tasks.cancelAll()
                throw error
            }
            await group.triggerGracefulShutdown()
            try await tasks.waitForAll()
        }
    }

    func checkEndpoints(
        addressFile: String,
        workerReasons: borrowing Mutex<[String]>,
        redisUp: borrowing Mutex<Bool>
    ) async throws {
        let address = try await Self.waitForFile(addressFile)
        #expect(address.hasPrefix("127.0.0.1:") && !address.hasSuffix(":0"))
        let base = "http://\(address)"

        let health = try await Self.get("\(base)/healthz")
        #expect(health.status == 200 && health.body == "ok")

        let metrics = try await Self.get("\(base)/metrics")
        #expect(metrics.status == 200)
        #expect(metrics.contentType?.hasPrefix("text/plain; version=0.0.4") == true)
        #expect(metrics.body.contains(#"fleet_jobs_total{queue="q",type="t",outcome="applied"} 3"#))

        let notReady = try await Self.get("\(base)/readyz")
        #expect(notReady.status == 503)
        #expect(notReady.body == "queue missing: fleet.learning\nstore unreachable: redis\n")

        workerReasons.withLock { $0 = [] }
        redisUp.withLock { $0 = true }
        var ready = try await Self.get("\(base)/readyz")
        let deadline = ContinuousClock.now + .seconds(30)
        while ready.status != 200 && ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(100))
            ready = try await Self.get("\(base)/readyz")
        }
        #expect(ready.status == 200 && ready.body == "ready")
        let gauges = try await Self.get("\(base)/metrics")
        #expect(gauges.body.contains("fleet_ready 1"), "\(gauges.body)")
    }

    static func waitForFile(_ path: String) async throws -> String {
        let deadline = ContinuousClock.now + .seconds(60)
        while ContinuousClock.now < deadline {
            if let text = try? String(contentsOfFile: path, encoding: .utf8), !text.isEmpty { return text }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw Down()
    }

    struct Answer {
        var status: UInt
        var contentType: String?
        var body: String
    }

    static func get(_ url: String) async throws -> Answer {
        let response = try await HTTPClient.shared.execute(HTTPClientRequest(url: url), timeout: .seconds(30))
        let body = try await response.body.collect(upTo: 1 << 20)
        return Answer(
            status: response.status.code,
            contentType: response.headers.first(name: "content-type"),
            body: String(buffer: body)
        )
    }
}
