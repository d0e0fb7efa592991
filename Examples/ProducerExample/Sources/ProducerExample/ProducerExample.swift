import FleetProducer
import Foundation
import Logging
import NIOCore
import NIOHTTP1
import NIOPosix

/// An example API server that publishes jobs with FleetProducer: `POST /enrollments` enqueues an
/// `enrollment.update` job (see ``EnrollmentEndpoint``).
///
///     FLEET_AMQP_URL=amqp://guest:guest@127.0.0.1:5672/ producer-example [--host 127.0.0.1] [--port 8080]
///
/// `--port 0` picks a free port. The first line on standard output is `listening on http://HOST:PORT`.
/// FLEET_EXCHANGE names the jobs exchange (default `jobs`).
@main
struct ProducerExample {
    static func main() async throws {
        let environment = ProcessInfo.processInfo.environment
        let arguments = CommandLine.arguments
        func option(_ name: String) -> String? {
            arguments.firstIndex(of: name).flatMap { arguments.indices.contains($0 + 1) ? arguments[$0 + 1] : nil }
        }
        let host = option("--host") ?? "127.0.0.1"
        let port = Int(option("--port") ?? "8080") ?? 8080
        var logger = Logger(label: "producer-example")
        logger.logLevel = .notice

        // One producer for the whole server: it holds one connection and reopens it after a loss.
        // An HTTP request should not wait long for a broker that is down: three attempts, then 503.
        let producer = JobProducer(
            amqp: try AMQPConfiguration(url: environment["FLEET_AMQP_URL"] ?? "amqp://guest:guest@127.0.0.1:5672/"),
            exchange: environment["FLEET_EXCHANGE"] ?? "jobs",
            retry: PublishRetry(attempts: 3, firstDelay: .milliseconds(100), maximumDelay: .milliseconds(500)),
            logger: logger
        )
        let endpoint = EnrollmentEndpoint(producer: producer)

        let server = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .bind(host: host, port: port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                    return try NIOAsyncChannel<HTTPServerRequestPart, HTTPServerResponsePart>(
                        wrappingChannelSynchronously: channel
                    )
                }
            }
        let address = "http://\(host):\(server.channel.localAddress?.port ?? port)"
        FileHandle.standardOutput.write(Data("listening on \(address)\n".utf8))

        try await withThrowingDiscardingTaskGroup { group in
            try await server.executeThenClose { connections in
                for try await connection in connections {
                    group.addTask { [logger] in
                        do {
                            try await serve(connection, endpoint)
                        } catch {
                            logger.info("connection closed", metadata: ["error": "\(error)"])
                        }
                    }
                }
            }
        }
        await producer.shutdown()
    }

    /// The requests of one keep-alive connection, one at a time.
    static func serve(
        _ connection: NIOAsyncChannel<HTTPServerRequestPart, HTTPServerResponsePart>,
        _ endpoint: EnrollmentEndpoint
    ) async throws {
        try await connection.executeThenClose { inbound, outbound in
            var head: HTTPRequestHead?
            var body: [UInt8] = []
            for try await part in inbound {
                switch part {
                case .head(let requestHead):
                    head = requestHead
                    body = []
                case .body(let buffer):
                    // Past the limit only the count matters (413): keep no more than one extra chunk.
                    if body.count <= EnvelopeDecoder.maximumBytes { body += buffer.readableBytesView }
                case .end:
                    guard let request = head else { continue }
                    let reply = await route(request, body: body, endpoint)
                    try await write(reply, keepAlive: request.isKeepAlive, to: outbound)
                    if !request.isKeepAlive { return }
                }
            }
        }
    }

    static func route(_ request: HTTPRequestHead, body: [UInt8], _ endpoint: EnrollmentEndpoint) async -> HTTPReply {
        guard request.uri == "/enrollments" else {
            return .error(404, "not_found", "no route \(request.uri)")
        }
        guard request.method == .POST else {
            return .error(405, "method_not_allowed", "use POST")
        }
        guard body.count <= EnvelopeDecoder.maximumBytes else {
            return .error(413, "oversize", "the body is over \(EnvelopeDecoder.maximumBytes) bytes")
        }
        return await endpoint.post(body: body, idempotencyKey: request.headers.first(name: "Idempotency-Key"))
    }

    static func write(
        _ reply: HTTPReply,
        keepAlive: Bool,
        to outbound: NIOAsyncChannelOutboundWriter<HTTPServerResponsePart>
    ) async throws {
        let bytes = reply.body.serialized() + [UInt8(ascii: "\n")]
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: "application/json")
        headers.add(name: "Content-Length", value: "\(bytes.count)")
        headers.add(name: "Connection", value: keepAlive ? "keep-alive" : "close")
        let status = HTTPResponseStatus(statusCode: reply.status)
        try await outbound.write(.head(HTTPResponseHead(version: .http1_1, status: status, headers: headers)))
        try await outbound.write(.body(.byteBuffer(ByteBuffer(bytes: bytes))))
        try await outbound.write(.end(nil))
    }
}
