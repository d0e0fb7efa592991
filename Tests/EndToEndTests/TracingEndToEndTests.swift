import BlockingIO
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
    /// Spans are started only with a tracer: the switch follows one bound by `withTracer`, and is
    /// off again outside it (no tracer is bootstrapped in the test process).
    @Test func tracingIsOnOnlyWhileATracerIsBound() {
        #expect(!TracingSwitch.isOn)
        withTracer(W3CTestTracer()) { #expect(TracingSwitch.isOn) }
        #expect(!TracingSwitch.isOn)
    }

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

extension TracingEndToEndTests {
    @Test("FLEET_OTEL_EXPORTER=otlp: `fleet run` POSTs the job's span, in its traceparent's trace, to /v1/traces")
    func otlpExport() async throws {
        let environment = try await FleetTestEnvironment.make("obs_otlp", workers: ["learning"])
        try await SampleWorkload.seed(environment.postgres, users: 1, courses: 1)
        let receiver = try OTLPReceiver()
        defer { receiver.stop() }
        let worker = try environment.startWorker(
            "learning",
            environment: [
                "FLEET_OTEL_EXPORTER": "otlp", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:\(receiver.port)",
                // Export each batch after 200 ms rather than the default 5 s.
                "OTEL_BSP_SCHEDULE_DELAY": "200",
            ]
        )
        let traceID = W3CTestTracer.hex(16)
        let job = enrollmentJob(user: 0, course: 0, action: "enroll")
        let (producer, stores) = environment.producer()
        try await producer.publish(
            envelope: job,
            body: job.encoded(),
            traceparent: "00-\(traceID)-\(W3CTestTracer.hex(8))-01"
        )
        await producer.shutdown()
        await stores.shutdown()
        try await environment.waitUntil("a POST to /v1/traces holding the trace id", timeout: .seconds(120)) {
            receiver.requests().contains { $0.path == "/v1/traces" && $0.bodyHex.contains(traceID) }
        }
        let request = try #require(receiver.requests().first { $0.bodyHex.contains(traceID) })
        #expect(request.contentType == "application/x-protobuf")
        // The span's name is in the protobuf as text.
        #expect(
            request.bodyHex.contains(
                Array("fleet.job enrollment.update".utf8).map { String(format: "%02x", $0) }.joined()
            )
        )
        let output = await worker.stop()
        #expect(output.contains("applied=1"), "\(output.suffix(600))")
        await environment.tearDown()
    }
}

/// A tiny OTLP/HTTP receiver (Python's http.server): answers every POST with 200 and records its
/// path, content type and body (hex), one request a line.
final class OTLPReceiver: @unchecked Sendable {
    struct Request {
        var path: String
        var contentType: String
        var bodyHex: String
    }

    let port: Int
    let directory: String
    let process = Process()

    static let script = """
        import http.server, sys
        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                with open(sys.argv[2], "a") as log:
                    log.write(f"{self.path} {self.headers.get('content-type')} {body.hex()}\\n")
                self.send_response(200)
                self.send_header("content-type", "application/x-protobuf")
                self.send_header("content-length", "0")
                self.end_headers()
            def log_message(self, *args):
                pass
        server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
        with open(sys.argv[1] + ".tmp", "w") as f:
            f.write(str(server.server_port))
        import os; os.rename(sys.argv[1] + ".tmp", sys.argv[1])
        server.serve_forever()
        """

    init() throws {
        directory = "\(NSTemporaryDirectory())/otlp-\(getpid())-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        try Self.script.write(toFile: "\(directory)/receiver.py", atomically: true, encoding: .utf8)
        process.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        process.arguments = ["\(directory)/receiver.py", "\(directory)/port", "\(directory)/requests"]
        try process.run()
        let deadline = ContinuousClock.now + .seconds(30)
        while ContinuousClock.now < deadline {
            if let text = try? String(contentsOfFile: "\(directory)/port", encoding: .utf8), let port = Int(text) {
                self.port = port
                return
            }
            usleep(50_000)
        }
        process.terminate()
        throw HarnessError(description: "the OTLP receiver did not start")
    }

    func requests() -> [Request] {
        let text = (try? String(contentsOfFile: "\(directory)/requests", encoding: .utf8)) ?? ""
        return text.split(separator: "\n").compactMap { line in
            let parts = line.split(separator: " ", maxSplits: 2, omittingEmptySubsequences: false)
            guard parts.count == 3 else { return nil }
            return Request(path: String(parts[0]), contentType: String(parts[1]), bodyHex: String(parts[2]))
        }
    }

    /// SIGKILL: a child of the test process may inherit SIGTERM ignored (signal handling of the
    /// service groups that ran in this process), and `terminate()` would then wait forever.
    func stop() {
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
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
