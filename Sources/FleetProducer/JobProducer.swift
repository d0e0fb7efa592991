import AMQP
import FleetContract
import Foundation
import Logging

/// Publishes jobs as the contract says: to the jobs exchange, routing key = type, persistent JSON,
/// `message_id` = envelope id, `mandatory`, with publisher confirms. Validates each job with the
/// workers' rules first, so a bad job fails here instead of in the dead-letter queue.
///
/// ```swift
/// let producer = JobProducer(amqp: try AMQPConfiguration(url: "amqp://guest:guest@localhost:5672/"), logger: logger)
/// try await producer.enqueue(EnrollmentUpdate(userId: user, courseId: course, action: .enroll))
/// ```
///
/// One producer holds one connection, opened on the first publish and reopened after a loss; share
/// it between requests. It is safe to use from any task.
public final class JobProducer: Sendable {
    private let client: AMQPClient
    private let exchange: String
    private let decoder: EnvelopeDecoder
    private let definitions: [String: any JobDefinition.Type]
    private let retry: PublishRetry

    /// - Parameters:
    ///   - exchange: the jobs exchange of `queues.yaml`.
    ///   - definitions: the job types this producer accepts (the whole contract by default).
    ///   - retry: how long to keep publishing through a broker loss before giving up.
    ///   - now: the clock that stamps `created_at` and checks it as the workers will.
    public init(
        amqp: AMQPConfiguration,
        exchange: String = "jobs",
        definitions: [any JobDefinition.Type] = JobContract.definitions,
        retry: PublishRetry = PublishRetry(),
        logger: Logger,
        now: @escaping @Sendable () -> Date = { Date() }
    ) {
        self.client = AMQPClient(configuration: amqp, logger: logger)
        self.exchange = exchange
        self.definitions = Dictionary(definitions.map { ($0.jobType, $0) }) { first, _ in first }
        self.decoder = EnvelopeDecoder(
            knownVersions: Dictionary(definitions.map { ($0.jobType, $0.versions) }) { first, _ in first },
            now: now
        )
        self.retry = retry
        client.start()
    }

    /// Publishes a typed job; returns its envelope once the broker confirmed it.
    ///
    /// - Parameters:
    ///   - idempotencyKey: jobs with the same type and key take effect once (within the dedup window).
    ///     Without one, the job's own id is its key: publishing the returned envelope again is safe.
    ///   - notBefore: the job waits in the retry queues until then.
    ///   - traceparent: W3C trace context, carried into the worker's logs and follow-up jobs.
    /// - Throws: ``EnvelopeRejection`` when the job breaks a rule (nothing is published),
    ///   `AMQPError` when the broker refused it or stayed unreachable for the whole ``PublishRetry``.
    @discardableResult
    public func enqueue<Job: JobDefinition>(
        _ job: Job,
        idempotencyKey: String? = nil,
        notBefore: Date? = nil,
        traceparent: String? = nil
    ) async throws -> JobEnvelope {
        try await enqueue(
            type: Job.jobType,
            payload: job.payload,
            version: Job.versions.max() ?? 1,
            idempotencyKey: idempotencyKey,
            notBefore: notBefore,
            traceparent: traceparent
        )
    }

    /// Builds, validates and publishes a job given as JSON (for tools); returns its envelope once
    /// the broker confirmed it.
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
        let body = try validated(envelope)
        try await publish(envelope: envelope, body: body, traceparent: traceparent)
        return envelope
    }

    /// Checks `envelope` with the workers' rules (key limits, `created_at` at most 24 h ahead, the
    /// payload's definition) and returns its JSON bytes.
    public func validated(_ envelope: JobEnvelope) throws(EnvelopeRejection) -> [UInt8] {
        let body = envelope.encoded()
        try decoder.validate(envelope, encodedSize: body.count)
        guard let definition = definitions[envelope.type] else {
            throw EnvelopeRejection(.unknownType, "no job type \(envelope.type) in this producer's contract")
        }
        _ = try definition.parse(envelope)
        return body
    }

    /// Publishes an envelope's bytes as a job message, as they are (for the outbox relay, tools and
    /// tests), retrying through a broker loss as ``PublishRetry`` allows. The same envelope published
    /// twice takes effect once: its id is its deduplication key.
    public func publish(envelope: JobEnvelope, body: [UInt8], traceparent: String? = nil) async throws {
        var headers: AMQPTable = [:]
        if let traceparent { headers[JobMessage.traceparentHeader] = .string(traceparent) }
        let message = AMQPOutgoingMessage(
            exchange: exchange,
            routingKey: envelope.type,
            properties: AMQPProperties(
                contentType: JobMessage.contentType,
                deliveryMode: JobMessage.deliveryMode,
                messageId: envelope.id,
                type: envelope.type,
                headers: headers,
                timestamp: UInt64(max(0, envelope.createdAt.timeIntervalSince1970))
            ),
            body: body,
            mandatory: true
        )
        try await retry.run {
            try await client.publish(message)
        }
    }

    /// Waits for outstanding confirms and closes the connection.
    public func shutdown() async {
        await client.shutdown()
    }
}
