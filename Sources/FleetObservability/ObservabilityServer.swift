import Foundation
import Hummingbird
import Logging
import NIOCore
import Prometheus
import ServiceLifecycle

/// A fleet process's HTTP listener: `GET /metrics` (Prometheus text 0.0.4), `GET /healthz` (200 `ok`
/// while the process and its event loops answer) and `GET /readyz` (200 `ready`, or 503 with one
/// reason a line). Runs as a service next to the workers and stops after them, so a draining process
/// still answers scrapes; it also runs the store probes of ``ReadinessCheck``.
public struct ObservabilityServer: Service {
    public let address: HTTPListenAddress
    /// Where to write the bound `host:port` once listening (`FLEET_HTTP_ADDRESS_FILE`), for callers
    /// that asked for port 0.
    public let addressFile: String?
    private let registry: PrometheusCollectorRegistry
    private let readiness: ReadinessCheck
    private let logger: Logger

    public init(
        address: HTTPListenAddress,
        addressFile: String?,
        registry: PrometheusCollectorRegistry,
        readiness: ReadinessCheck,
        logger: Logger
    ) {
        self.address = address
        self.addressFile = addressFile
        self.registry = registry
        self.readiness = readiness
        self.logger = logger
    }

    public func run() async throws {
        let application = Application(
            router: Self.router(registry: registry, readiness: readiness),
            configuration: .init(address: .hostname(address.host, port: address.port), serverName: nil),
            onServerRunning: { [addressFile, logger] channel in
                Self.announceListening(Self.boundAddress(channel), addressFile: addressFile, logger: logger)
            },
            logger: logger
        )
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await readiness.run() }
            try await application.run()
            group.cancelAll()
        }
    }

    static func router(
        registry: PrometheusCollectorRegistry,
        readiness: ReadinessCheck
    ) -> Router<
        BasicRequestContext
    > {
        let router = Router()
        router.get("/metrics") { _, _ in
            var headers = HTTPFields()
            headers[.contentType] = "text/plain; version=0.0.4; charset=utf-8"
            return Response(
                status: .ok,
                headers: headers,
                body: .init(byteBuffer: ByteBuffer(bytes: registry.emitToBuffer()))
            )
        }
        router.get("/healthz") { _, _ in "ok" }
        router.get("/readyz") { _, _ in
            let reasons = readiness.reasons
            var headers = HTTPFields()
            headers[.contentType] = "text/plain; charset=utf-8"
            let text = reasons.isEmpty ? "ready" : reasons.map { $0 + "\n" }.joined()
            return Response(
                status: reasons.isEmpty ? .ok : .serviceUnavailable,
                headers: headers,
                body: .init(byteBuffer: ByteBuffer(string: text))
            )
        }
        return router
    }

    static func boundAddress(_ channel: any Channel) -> String {
        guard let local = channel.localAddress, let port = local.port else { return "unknown" }
        let host = local.ipAddress ?? "unknown"
        return HTTPListenAddress(host: host, port: port).description
    }

    /// Written whole (temporary file, then rename) so a reader never sees half an address.
    /// Logs `fleet.http listening` with the bound `host:port` and writes it to `addressFile`, if any:
    /// how every fleet listener (this one, `fleet dashboard`'s) tells callers a port 0 became.
    public static func announceListening(_ bound: String, addressFile: String?, logger: Logger) {
        logger.info("fleet.http listening", metadata: ["address": "\(bound)"])
        if let addressFile { writeAtomically(bound, to: addressFile, logger: logger) }
    }

    static func writeAtomically(_ text: String, to path: String, logger: Logger) {
        do {
            try Data(text.utf8).write(to: URL(fileURLWithPath: path), options: .atomic)
        } catch {
            logger.error(
                "fleet.http cannot write the address file",
                metadata: ["path": "\(path)", "error": "\(error)"]
            )
        }
    }
}
