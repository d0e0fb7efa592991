import AMQP
import FleetProducer
import Foundation
import Testing

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// The example API server of `Examples/ProducerExample` (built by `scripts/producer-example.sh`,
/// which CI runs before the tests) as a child process against the real RabbitMQ, in a vhost of its
/// own: HTTP requests in, job messages out.
@Suite(
    "Producer example server, end to end",
    .enabled(
        if: ProducerExampleServer.isBuilt || ProducerExampleServer.isCI,
        "build it first: scripts/producer-example.sh"
    )
)
struct ProducerExampleEndToEndTests {
    static let user = "0b7d3e5c-7a8f-4c3e-9d2a-6f1e2b3c4d5e"
    static let course = "1c8e4f6d-8b9a-4d4f-ae3b-7a2f3c4d5e6f"

    @Test func aPostLandsAValidJobAndABadOneGets400NamingTheField() async throws {
        let vhost = try await TestVhost.make("example", bindings: ["enrollments": EnrollmentUpdate.jobType])
        let server = try ProducerExampleServer(amqp: vhost.amqp)
        defer { server.stop() }

        let accepted = try await server.post(
            #"{"user_id": "\#(Self.user)", "course_id": "\#(Self.course)", "action": "progress", "progress_percentage": 55}"#,
            idempotencyKey: "enrollment-55"
        )
        #expect(accepted.status == 202)
        let jobId = try #require(accepted.json["job_id"] as? String)

        // Bad requests, each refused with the contract's reason and the field it breaks.
        let badUser = try await server.post(
            #"{"user_id": "not-a-uuid", "course_id": "\#(Self.course)", "action": "enroll"}"#
        )
        #expect(badUser.status == 400)
        #expect(badUser.json["error"] as? String == "invalid_payload")
        #expect((badUser.json["detail"] as? String)?.contains("user_id") == true)

        let missingProgress = try await server.post(
            #"{"user_id": "\#(Self.user)", "course_id": "\#(Self.course)", "action": "progress"}"#
        )
        #expect(missingProgress.status == 400)
        #expect((missingProgress.json["detail"] as? String)?.contains("progress_percentage") == true)

        let badAction = try await server.post(
            #"{"user_id": "\#(Self.user)", "course_id": "\#(Self.course)", "action": "pause"}"#
        )
        #expect(badAction.status == 400)
        #expect((badAction.json["detail"] as? String)?.contains("action") == true)

        let notJSON = try await server.post("user_id=1")
        #expect(notJSON.status == 400)
        #expect(notJSON.json["error"] as? String == "invalid_json")

        let longKey = try await server.post(
            #"{"user_id": "\#(Self.user)", "course_id": "\#(Self.course)", "action": "enroll"}"#,
            idempotencyKey: String(repeating: "k", count: 201)
        )
        #expect(longKey.status == 400)
        #expect((longKey.json["detail"] as? String)?.contains("idempotency_key") == true)

        // A second valid request, so that the queue is known to hold everything published before it.
        let last = try await server.post(
            #"{"user_id": "\#(Self.user)", "course_id": "\#(Self.course)", "action": "complete"}"#
        )
        #expect(last.status == 202)
        server.stop()

        let messages = try await vhost.messages(in: "enrollments")
        await vhost.tearDown()
        #expect(messages.map(\.properties.messageId) == [jobId, last.json["job_id"] as? String])
        let message = try #require(messages.first)
        let envelope = try EnvelopeDecoder(knownVersions: JobContract.knownVersions).decode(message.body)
        #expect(envelope.id == jobId)
        #expect(envelope.type == "enrollment.update")
        #expect(envelope.idempotencyKey == "enrollment-55")
        #expect(
            try EnrollmentUpdate.parse(envelope)
                == EnrollmentUpdate(userId: Self.user, courseId: Self.course, action: .progress, progressPercentage: 55)
        )
        #expect(message.properties.deliveryMode == 2)
    }

    @Test func anUnreachableBrokerIs503() async throws {
        // Nothing listens on port 1.
        var unreachable = try AMQPConfiguration(url: "amqp://guest:guest@127.0.0.1:1/")
        unreachable.connectTimeoutSeconds = 1
        let server = try ProducerExampleServer(amqp: unreachable)
        defer { server.stop() }
        let reply = try await server.post(
            #"{"user_id": "\#(Self.user)", "course_id": "\#(Self.course)", "action": "enroll"}"#
        )
        #expect(reply.status == 503)
        #expect(reply.json["error"] as? String == "broker_unavailable")
        // Still 400, not 503, for a request that is wrong whatever the broker does.
        let bad = try await server.post(#"{"user_id": "x"}"#)
        #expect(bad.status == 400)
    }
}

/// A running `producer-example` process on a free port.
final class ProducerExampleServer: @unchecked Sendable {
    static let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().path
    static let binary =
        ProcessInfo.processInfo.environment["FLEET_PRODUCER_EXAMPLE_BIN"]
        ?? "\(repositoryRoot)/Examples/ProducerExample/.build/debug/producer-example"
    static var isBuilt: Bool { FileManager.default.isExecutableFile(atPath: binary) }
    /// In CI the example is built before the tests: a missing binary there is a failure, not a skip.
    static var isCI: Bool { ["true", "1"].contains(ProcessInfo.processInfo.environment["CI"] ?? "") }

    let process = Process()
    let baseURL: URL
    let logPath: String
    private let lock = NSLock()
    private var stopped = false

    init(amqp: AMQPConfiguration) throws {
        guard Self.isBuilt else {
            throw TestFailure("\(Self.binary) is not built: run scripts/producer-example.sh")
        }
        let vhost = amqp.vhost.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? amqp.vhost
        process.executableURL = URL(fileURLWithPath: Self.binary)
        process.arguments = ["--host", "127.0.0.1", "--port", "0"]
        var environment = ProcessInfo.processInfo.environment
        environment["FLEET_AMQP_URL"] = "amqp://\(amqp.user):\(amqp.password)@\(amqp.host):\(amqp.port)/\(vhost)"
        process.environment = environment
        let output = Pipe()
        process.standardOutput = output
        // Its log (the producer's reconnect warnings) goes to a file, as the end-to-end harness does.
        logPath = "\(NSTemporaryDirectory())/producer-example-\(UUID().uuidString.prefix(8)).log"
        _ = FileManager.default.createFile(atPath: logPath, contents: nil)
        process.standardError = FileHandle(forWritingAtPath: logPath)
        try process.run()
        // The first line is `listening on http://127.0.0.1:PORT`.
        var line: [UInt8] = []
        while !line.contains(UInt8(ascii: "\n")) {
            let chunk = output.fileHandleForReading.availableData
            if chunk.isEmpty { break }
            line += chunk
        }
        let text = String(decoding: line, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        guard text.hasPrefix("listening on "), let url = URL(string: String(text.dropFirst("listening on ".count)))
        else {
            process.terminate()
            let log = (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? ""
            throw TestFailure("producer-example did not start: '\(text)'; its log: \(log)")
        }
        baseURL = url
    }

    deinit { stop() }

    func stop() {
        let first = lock.withLock {
            defer { stopped = true }
            return !stopped
        }
        guard first, process.isRunning else { return }
        process.terminate()
        process.waitUntilExit()
    }

    struct Reply {
        let status: Int
        let json: [String: Any]
    }

    func post(_ body: String, idempotencyKey: String? = nil) async throws -> Reply {
        var request = URLRequest(url: baseURL.appendingPathComponent("enrollments"), timeoutInterval: 30)
        request.httpMethod = "POST"
        request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        if let idempotencyKey { request.setValue(idempotencyKey, forHTTPHeaderField: "Idempotency-Key") }
        request.httpBody = Data(body.utf8)
        let (data, response) = try await URLSession.shared.data(for: request)
        let json = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] ?? [:]
        return Reply(status: (response as? HTTPURLResponse)?.statusCode ?? 0, json: json)
    }
}
