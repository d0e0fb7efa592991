import AMQP
import FleetContract
import FleetCore
import FleetJobs
import FleetProducer
import FleetSigning
import Logging
import Metrics
import NIOConcurrencyHelpers

/// A ``JobProducer`` that connects on its first publish, so a worker whose jobs start no follow-up
/// (and a tool that only builds the registry) never opens an AMQP connection for it. Owned by
/// ``FleetStores``, which shuts it down with the worker.
public final class FollowUpPublisher: FollowUpPublishing {
    private enum State {
        case idle
        case running(JobProducer)
        case shutDown
    }

    private let amqp: AMQPConfiguration
    private let exchange: String
    private let logger: Logger
    /// Signs the follow-up jobs, as the worker's own copies are signed.
    private let signer: JobSigner?
    private let state = NIOLockedValueBox(State.idle)
    /// `fleet_followups_published_total{type}`, one per type, made on its first publish.
    private let published = NIOLockedValueBox<[String: Counter]>([:])

    /// Each job is validated by its contract definition, as workers will.
    public init(amqp: AMQPConfiguration, exchange: String, logger: Logger, signer: JobSigner? = nil) {
        self.signer = signer
        self.amqp = amqp
        self.exchange = exchange
        self.logger = logger
    }

    public func enqueue(
        type: String,
        payload: [String: JSONValue],
        idempotencyKey: String,
        traceparent: String?
    ) async throws {
        try await producer().enqueue(
            type: type,
            payload: payload,
            idempotencyKey: idempotencyKey,
            traceparent: traceparent
        )
        // Counted once confirmed; `type` is a contract type (the producer validated it).
        published.withLockedValue { counters in
            if let counter = counters[type] { return counter }
            let counter = Counter(label: "fleet_followups_published_total", dimensions: [("type", type)])
            counters[type] = counter
            return counter
        }.increment()
    }

    private func producer() throws -> JobProducer {
        try state.withLockedValue { state throws -> JobProducer in
            switch state {
            case .running(let producer): return producer
            case .shutDown: throw JobError.transient("shutting_down", "the follow-up publisher is shut down")
            case .idle:
                let producer = JobProducer(amqp: amqp, exchange: exchange, logger: logger, signer: signer)
                state = .running(producer)
                return producer
            }
        }
    }

    /// Waits for outstanding confirms and closes the connection, if one was opened.
    public func shutdown() async {
        let running = state.withLockedValue { state -> JobProducer? in
            defer { state = .shutDown }
            if case .running(let producer) = state { return producer }
            return nil
        }
        await running?.shutdown()
    }
}
