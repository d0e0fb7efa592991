import Foundation
import OTel
import ServiceLifecycle
import Tracing

/// Span export for `fleet run` and `fleet schedule run`: off by default (spans are then no-ops);
/// `FLEET_OTEL_EXPORTER=otlp` bootstraps swift-otel's tracer, which reads and writes W3C
/// `traceparent`, and exports over OTLP/HTTP (protobuf) to `OTEL_EXPORTER_OTLP_ENDPOINT` (default
/// `http://localhost:4318`, spans to `/v1/traces`). Its other standard `OTEL_*` variables apply
/// (`OTEL_SERVICE_NAME`, default `fleet`; `OTEL_TRACES_SAMPLER`...). Metrics stay on `/metrics` and
/// logs on stderr: only traces go to OTLP.
enum TraceExport {
    /// The exporter's service (batching and export), to run in the process's service group; nil when off.
    /// Bootstraps the process's tracer: call it before the workers start.
    static func bootstrap(environment: [String: String] = ProcessInfo.processInfo.environment) throws -> (any Service)?
    {
        switch environment["FLEET_OTEL_EXPORTER"] {
        case nil, "", "none": return nil
        case "otlp": break
        case let other?:
            throw CommandError(description: "FLEET_OTEL_EXPORTER: expected otlp or none, got \(other)")
        }
        var configuration = OTel.Configuration.default
        configuration.serviceName = "fleet"
        configuration.logs.enabled = false
        configuration.metrics.enabled = false
        configuration.traces.exporter = .otlp
        configuration.traces.otlpExporter.protocol = .httpProtobuf
        let (tracer, service) = try OTel.makeTracingBackend(configuration: configuration)
        InstrumentationSystem.bootstrap(tracer)
        return service
    }
}
