import FleetApp
import FleetContract
import FleetCore
import Foundation
import InMemoryTracing
import Logging
import ServiceLifecycle
import Testing
import Tracing

/// Issue 14: a job's span continues the W3C `traceparent` its message carries, and the job's store
/// calls are its child spans. The worker runs in this process under an in-memory tracer that speaks
/// W3C trace context (as an OpenTelemetry tracer does), set for this test's tasks only.
@Suite("Tracing end to end", .serialized)
struct TracingEndToEndTests {
    @Test("A job's span has its traceparent's trace id and parent; its PostgreSQL calls are child spans")
    func jobSpanContinuesTheTrace() async throws {
        let environment = try await FleetTestEnvironment.make("obs_trace", workers: ["learning"])
        try await SampleWorkload.seed(environment.postgres, users: 1, courses: 1)
        let manifests = try WorkerManifest.loadAll(
            directory: environment.configuration.workersDirectory,
            topology: environment.topology
        )
        let manifest = try #require(manifests.first { $0.name == "learning" })
        let traceID = W3CTestTracer.hex(16)
        let parentSpanID = W3CTestTracer.hex(8)
        let job = enrollmentJob(user: 0, course: 0, action: "enroll")
        let (producer, stores) = environment.producer()
        try await producer.publish(envelope: job, body: job.encoded(), traceparent: "00-\(traceID)-\(parentSpanID)-01")
        await producer.shutdown()
        await stores.shutdown()

        let tracer = W3CTestTracer()
        let jobName = "fleet.job enrollment.update"
        try await withTracer(tracer) {
            let worker = FleetWorker(
                manifest: manifest,
                topology: environment.topology,
                configuration: environment.configuration,
                drainTimeout: .seconds(5),
                logger: Logger(label: "trace-test")
            )
            let group = ServiceGroup(services: [worker], logger: Logger(label: "trace-test"))
            try await withThrowingTaskGroup(of: Void.self) { tasks in
                tasks.addTask { try await group.run() }
                try await environment.waitUntil("the job's span") {
                    tracer.inner.finishedSpans.contains { $0.operationName == jobName }
                }
                await group.triggerGracefulShutdown()
                try await tasks.waitForAll()
            }
        }
        let spans = tracer.inner.finishedSpans
        let jobSpan = try #require(spans.first { $0.operationName == jobName })
        #expect(jobSpan.traceID == traceID)
        #expect(jobSpan.parentSpanID == parentSpanID)
        #expect(jobSpan.kind == .consumer)
        #expect(jobSpan.attributes.get("fleet.job.id") == .string(job.id))
        #expect(jobSpan.attributes.get("fleet.job.type") == .string("enrollment.update"))
        #expect(jobSpan.attributes.get("messaging.destination.name") == .string("fleet.learning"))
        #expect(jobSpan.attributes.get("fleet.job.attempt") == .int64(1))
        #expect(jobSpan.attributes.get("fleet.job.outcome") == .string("applied"))
        let storeSpans = spans.filter { $0.parentSpanID == jobSpan.spanID }
        #expect(!storeSpans.isEmpty)
        #expect(storeSpans.allSatisfy { $0.operationName == "fleet.store postgres" && $0.traceID == traceID })
        #expect(storeSpans.allSatisfy { $0.kind == .client })
        await environment.tearDown()
    }
}

/// The in-memory tracer of swift-distributed-tracing, reading and writing W3C `traceparent`
/// (`00-<trace id>-<parent span id>-<flags>`) instead of its own headers.
struct W3CTestTracer: Tracer {
    let inner = InMemoryTracer(idGenerator: .init(nextTraceID: { hex(16) }, nextSpanID: { hex(8) }))

    static func hex(_ bytes: Int) -> String {
        (0..<bytes).map { _ in String(format: "%02x", UInt8.random(in: 0...255)) }.joined()
    }

    func startSpan<Instant: TracerInstant>(
        _ operationName: String,
        context: @autoclosure () -> InstrumentationContext,
        ofKind kind: SpanKind,
        at instant: @autoclosure () -> Instant,
        function: String,
        file fileID: String,
        line: UInt
    ) -> InMemorySpan {
        inner.startSpan(
            operationName,
            context: context(),
            ofKind: kind,
            at: instant(),
            function: function,
            file: fileID,
            line: line
        )
    }

    func forceFlush() { inner.forceFlush() }

    func extract<Carrier, Extract: Extractor>(
        _ carrier: Carrier,
        into context: inout InstrumentationContext,
        using extractor: Extract
    ) where Carrier == Extract.Carrier {
        guard let header = extractor.extract(key: "traceparent", from: carrier) else { return }
        let parts = header.split(separator: "-")
        guard parts.count == 4, parts[1].count == 32, parts[2].count == 16 else { return }
        context.inMemorySpanContext = InMemorySpanContext(
            traceID: String(parts[1]),
            spanID: String(parts[2]),
            parentSpanID: nil
        )
    }

    func inject<Carrier, Inject: Injector>(
        _ context: InstrumentationContext,
        into carrier: inout Carrier,
        using injector: Inject
    ) where Carrier == Inject.Carrier {
        guard let span = context.inMemorySpanContext else { return }
        injector.inject("00-\(span.traceID)-\(span.spanID)-01", forKey: "traceparent", into: &carrier)
    }
}
