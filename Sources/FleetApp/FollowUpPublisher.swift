import AMQP
import FleetContract
import FleetCore
import FleetJobs
import FleetProducer
import Logging
import Synchronization

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
    private let state = Mutex(State.idle)

    /// Each job is validated by its contract definition, as workers will.
    public init(amqp: AMQPConfiguration, exchange: String, logger: Logger) {
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
    }

    private func producer() throws -> JobProducer {
        try state.withLock { state throws -> JobProducer in
            switch state {
            case .running(let producer): return producer
            case .shutDown: throw JobError.transient("shutting_down", "the follow-up publisher is shut down")
            case .idle:
                let producer = JobProducer(amqp: amqp, exchange: exchange, logger: logger)
                state = .running(producer)
                return producer
            }
        }
    }

    /// Waits for outstanding confirms and closes the connection, if one was opened.
    public func shutdown() async {
        let running = state.withLock { state -> JobProducer? in
            defer { state = .shutDown }
            if case .running(let producer) = state { return producer }
            return nil
        }
        await running?.shutdown()
    }
}
