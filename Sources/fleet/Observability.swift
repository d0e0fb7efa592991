import ArgumentParser
import FleetApp
import FleetCore
import FleetObservability
import Foundation
import Logging
import ServiceLifecycle

/// `--http-address` of `fleet run` and `fleet schedule run`: the listener for `/metrics`, `/healthz`
/// and `/readyz`. Off unless the flag or `FLEET_HTTP_ADDRESS` names an address (the flag wins).
struct ObservabilityOptions: ParsableArguments {
    @Option(
        help: ArgumentHelp(
            "Serve /metrics, /healthz and /readyz on HOST:PORT (default: FLEET_HTTP_ADDRESS; off when neither).",
            discussion: "Port 0 takes a free port: the bound address is logged (fleet.http listening) and "
                + "written to the file FLEET_HTTP_ADDRESS_FILE names, if set."
        )
    )
    var httpAddress: String?

    func validate() throws {
        if let text = httpAddress ?? Self.environmentAddress, HTTPListenAddress(text) == nil {
            throw ValidationError("--http-address / FLEET_HTTP_ADDRESS: expected HOST:PORT, such as 0.0.0.0:9090")
        }
    }

    static var environmentAddress: String? {
        ProcessInfo.processInfo.environment["FLEET_HTTP_ADDRESS"].flatMap { $0.isEmpty ? nil : $0 }
    }

    /// The configured address; nil when the listener is off.
    var address: HTTPListenAddress? { (httpAddress ?? Self.environmentAddress).flatMap(HTTPListenAddress.init) }

    /// Makes swift-metrics report to the registry `/metrics` serves, when the listener is on. Call it
    /// first: a metric made before the bootstrap (a store client's, a consumer's) stays a no-op.
    func bootstrapMetrics() {
        if address != nil { _ = MetricsBackend.bootstrap() }
    }

    /// The listener as a service, its readiness made of `processReasons` and a probe per store in
    /// `stores`; nil when off.
    func server(
        processReasons: @escaping @Sendable () -> [String],
        stores: [String: @Sendable () async throws -> Void],
        logger: Logger
    ) -> ObservabilityServer? {
        guard let address else { return nil }
        let registry = MetricsBackend.bootstrap()
        let addressFile = ProcessInfo.processInfo.environment["FLEET_HTTP_ADDRESS_FILE"].flatMap {
            $0.isEmpty ? nil : $0
        }
        return ObservabilityServer(
            address: address,
            addressFile: addressFile,
            registry: registry,
            readiness: ReadinessCheck(
                processReasons: processReasons,
                probes: stores.sorted { $0.key < $1.key }.map { .init(store: $0.key, probe: $0.value) }
            ),
            logger: logger
        )
    }
}
