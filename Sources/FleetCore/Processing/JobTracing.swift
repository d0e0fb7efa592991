import AMQP
import BlockingIO
import Tracing

/// A span per job (swift-distributed-tracing), continuing the W3C trace context its message carries
/// in the `traceparent` header (and `tracestate`): the process's tracer reads them (`extract`), so a
/// job joins its producer's trace. Without a tracer bootstrapped (the default) no span is started
/// (`TracingSwitch`) and every call here is a no-op. Attributes: job id, type, queue, attempt and
/// outcome; never payload content.
enum JobTracing {
    struct HeadersExtractor: Extractor {
        func extract(key: String, from headers: AMQPTable) -> String? { headers[key]?.string }
    }

    struct TraceHeaders: Injector {
        func inject(_ value: String, forKey key: String, into headers: inout [String: String]) {
            headers[key] = value
        }
    }

    /// The span of one delivery of `queue`, child of the context its headers carry. Named
    /// `fleet.job` until the job's type is known (``describe(_:id:type:attempt:)``). Nil when no
    /// tracer is on.
    static func start(_ headers: AMQPTable, queue: String) -> (any Span)? {
        guard TracingSwitch.isOn else { return nil }
        var context = InstrumentationContext.topLevel
        InstrumentationSystem.instrument.extract(headers, into: &context, using: HeadersExtractor())
        let span = startSpan("fleet.job", context: context, ofKind: .consumer)
        if span.isRecording { span.attributes["messaging.destination.name"] = queue }
        return span
    }

    static func describe(_ span: (any Span)?, id: String, type: String, attempt: Int) {
        guard let span, span.isRecording else { return }
        span.operationName = "fleet.job \(type)"
        span.attributes["fleet.job.id"] = id
        span.attributes["fleet.job.type"] = type
        span.attributes["fleet.job.attempt"] = attempt
    }

    static func finish(_ span: any Span, outcome: String, reason: String? = nil) {
        if span.isRecording {
            span.attributes["fleet.job.outcome"] = outcome
            if let reason {
                span.attributes["fleet.job.reason"] = reason
                span.setStatus(SpanStatus(code: .error))
            }
        }
        span.end()
    }

    /// The `traceparent` for the job's logs and follow-ups: the job span's own context when a tracer
    /// is bootstrapped, so a follow-up is the job's child; else the one the message carried, if it is
    /// well formed (``JobContext/wellFormedTraceparent(_:)``). A malformed one is dropped, never
    /// passed on to another job.
    static func traceparent(of span: (any Span)?, carried: String?) -> String? {
        let carried = carried.flatMap(JobContext.wellFormedTraceparent)
        guard let span, span.isRecording else { return carried }
        var headers: [String: String] = [:]
        InstrumentationSystem.instrument.inject(span.context, into: &headers, using: TraceHeaders())
        return headers[FleetHeaders.traceparent].flatMap(JobContext.wellFormedTraceparent) ?? carried
    }
}
