import AMQP
import Foundation
import Logging

/// Publishes jobs as the contract says: to the jobs exchange, routing key = type, persistent JSON,
/// `message_id` = envelope id, with publisher confirms. Validates the job with the same rules as
/// the workers, so a bad job fails here instead of in the dead-letter queue.
public final class JobProducer: Sendable {
    private let client: AMQPClient
    private let exchange: String
    private let registry: JobRegistry
    private let decoder: EnvelopeDecoder

    /// - Parameter now: the clock that stamps `created_at` and checks it as the workers will.
    public init(
        amqp: AMQPConfiguration,
        exchange: String = "jobs",
        registry: JobRegistry,
        logger: Logger,
        now: @escaping @Sendable () -> Date = { Date() }
    ) {
        self.client = AMQPClient(configuration: amqp, logger: logger)
        self.exchange = exchange
        self.registry = registry
        self.decoder = EnvelopeDecoder(knownVersions: registry.knownVersions, now: now)
        client.start()
    }

    /// Builds, validates and publishes a job; returns its envelope once the broker confirmed it.
    @discardableResult
    public func enqueue(
        type: String,
        payload: [String: JSONValue],
        version: Int = 1,
        idempotencyKey: String? = nil,
        notBefore: Date? = nil,
        traceparent: String? = nil
    ) async throws -> JobEnvelope {
        let envelope = JobEnvelope(
            id: UUIDText.random(),
            type: type,
            version: version,
            createdAt: decoder.now(),
            idempotencyKey: idempotencyKey,
            notBefore: notBefore,
            payload: payload
        )
        // The worker's rules (key limits, created_at at most 24 h ahead...), on the envelope as built
        // rather than re-parsed from its bytes.
        let body = envelope.encoded()
        try decoder.validate(envelope, encodedSize: body.count)
        _ = try registry.prepare(envelope)
        try await publish(envelope: envelope, body: body, traceparent: traceparent)
        return envelope
    }

    /// Publishes raw bytes as a job message (for tools and tests that send what they like).
    public func publish(envelope: JobEnvelope, body: [UInt8], traceparent: String? = nil) async throws {
        var headers: AMQPTable = [:]
        if let traceparent { headers[FleetHeaders.traceparent] = .string(traceparent) }
        let properties = AMQPProperties(
            contentType: "application/json",
            deliveryMode: 2,
            messageId: envelope.id,
            type: envelope.type,
            headers: headers,
            timestamp: UInt64(envelope.createdAt.timeIntervalSince1970)
        )
        try await client.publish(
            AMQPOutgoingMessage(
                exchange: exchange,
                routingKey: envelope.type,
                properties: properties,
                body: body
            )
        )
    }

    public func shutdown() async {
        await client.shutdown()
    }
}
