import CRabbitMQ
import Foundation
import Logging
import NIOCore
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// A reconnecting AMQP connection on a thread of its own: consumes queues with manual acks and
/// prefetch, and publishes with publisher confirms.
///
/// librabbitmq connections are not thread-safe and block, so exactly one dedicated thread owns the
/// ``AMQPConnection``; async callers hand it commands (ack, reject, publish) through a locked inbox
/// and an eventfd that wakes its `poll`. Deliveries come out as one `AsyncStream` per queue, bounded
/// by the queue's prefetch. When the broker goes away the thread reconnects with exponential backoff
/// and consumes again; acks for deliveries of the lost connection are dropped, because the broker
/// redelivers those messages anyway.
public final class AMQPClient: Sendable {
    /// A queue to consume, and how many unacked deliveries the broker may push for it.
    public struct Subscription: Sendable {
        /// The name of the queue.
        public let queue: String
        /// Unacked deliveries the broker may push to this consumer.
        public let prefetch: UInt16
        /// Bodies over this many bytes are dropped as they arrive, unread: such a delivery comes
        /// with ``AMQPDelivery/oversizeBodySize`` set. nil: no cap. (One connection serves every
        /// subscription of a client, so the largest cap of them applies to all.)
        public let maxBodySize: Int?

        /// Consumes `queue` with a prefetch (QoS) window of `prefetch` unacked deliveries.
        public init(queue: String, prefetch: UInt16, maxBodySize: Int? = nil) {
            self.queue = queue
            self.prefetch = prefetch
            self.maxBodySize = maxBodySize
        }
    }

    private enum Command: Sendable {
        case ack(tag: UInt64, generation: UInt64)
        case reject(tag: UInt64, requeue: Bool, generation: UInt64)
        case publish(AMQPOutgoingMessage, CheckedContinuation<Void, Error>)
        case cancelConsumers
    }

    private struct Inbox: ~Copyable {
        var commands: [Command] = []
        var closing = false
        var consuming = true
        var started = false
        var exitWaiters: [CheckedContinuation<Void, Never>] = []
        var exited = false
        /// The connection deliveries must come from to be acked: see ``isCurrent(_:)``.
        var generation: UInt64 = 0
        /// When a queued command wakes the thread, and how long the thread may sleep.
        var wake: AckWakePolicy
    }

    /// The broker this client connects to, and again after every reconnect.
    public let configuration: AMQPConfiguration
    private let subscriptions: [Subscription]
    private let streams: [String: AsyncStream<AMQPDelivery>]
    private let continuations: [String: AsyncStream<AMQPDelivery>.Continuation]
    private let inbox: Mutex<Inbox>
    private let wakeDescriptor: Int32
    private let logger: Logger
    /// Acks that are sent at once, without waiting out ``ackDelay``: a quarter of the smallest
    /// prefetch, so the broker always has window left to deliver while acks collect.
    private let ackBatch: Int
    /// The longest an ack waits for others to share its `multiple` ack frame.
    static let ackDelay = Duration.milliseconds(1)

    /// A client that does nothing until ``start()``.
    ///
    /// - Parameters:
    ///   - configuration: the broker to connect to.
    ///   - subscriptions: queues to consume; empty for a publish-only client.
    ///   - logger: connection events are logged at info, reconnect failures at warning.
    public init(configuration: AMQPConfiguration, subscriptions: [Subscription] = [], logger: Logger) {
        self.configuration = configuration
        self.subscriptions = subscriptions
        self.logger = logger
        var streams: [String: AsyncStream<AMQPDelivery>] = [:]
        var continuations: [String: AsyncStream<AMQPDelivery>.Continuation] = [:]
        for subscription in subscriptions {
            let (stream, continuation) = AsyncStream.makeStream(of: AMQPDelivery.self)
            streams[subscription.queue] = stream
            continuations[subscription.queue] = continuation
        }
        self.streams = streams
        self.continuations = continuations
        self.wakeDescriptor = fleet_wake_descriptor()
        self.ackBatch = max(1, Int(subscriptions.map(\.prefetch).min() ?? 1) / 4)
        self.inbox = Mutex(Inbox(wake: AckWakePolicy(ackBatch: ackBatch)))
    }

    deinit {
        close(wakeDescriptor)
    }

    /// Starts the connection thread. Deliveries flow once the broker is reachable.
    public func start() {
        let alreadyStarted = inbox.withLock { inbox in
            defer { inbox.started = true }
            return inbox.started
        }
        guard !alreadyStarted else { return }
        let thread = Thread { [self] in self.threadMain() }
        thread.name = "amqp \(configuration.redactedAddress)"
        thread.start()
    }

    /// The deliveries of one subscribed queue. Finishes when consuming stops.
    public func deliveries(of queue: String) -> AsyncStream<AMQPDelivery> {
        guard let stream = streams[queue] else { preconditionFailure("not subscribed to \(queue)") }
        return stream
    }

    /// Publishes and returns once the broker confirmed the message (persisted for durable queues).
    /// Throws ``AMQPError`` `.unroutable` when a mandatory message matched no queue, `.nacked` when
    /// the broker refused it, `.connection` when the connection dropped before the confirm (the
    /// message may or may not have been stored: publish again, consumers are idempotent) or the
    /// broker could not be reached, and `.closed` once the client shut down. It never waits out an
    /// outage: a caller that must not lose the message keeps it (a consumer leaves its delivery
    /// unacked) and tries again.
    public func publish(_ message: AMQPOutgoingMessage) async throws {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, Error>) in
            let accepted = inbox.withLock { inbox -> Bool? in
                guard !inbox.exited else { return nil }
                let command = Command.publish(message, continuation)
                inbox.commands.append(command)
                return inbox.wake.queued(isAck: false)
            }
            switch accepted {
            case nil: continuation.resume(throwing: closedError)
            case true: wake()
            case false: break  // see send(_:)
            }
        }
    }

    private var closedError: AMQPError {
        AMQPError(code: .closed, message: "client closed", address: configuration.redactedAddress)
    }

    /// False for a delivery of a connection since lost: the broker redelivers it, so processing
    /// this copy too would only duplicate work (and, for a failing job, its dead letter).
    public func isCurrent(_ delivery: AMQPDelivery) -> Bool {
        inbox.withLock { $0.generation } == delivery.generation
    }

    /// Acknowledges a delivery. A no-op if its connection has since been lost.
    public func ack(_ delivery: AMQPDelivery) {
        send(.ack(tag: delivery.deliveryTag, generation: delivery.generation))
    }

    /// Rejects a delivery, back to its queue or (without requeue) to its dead-letter exchange.
    public func reject(_ delivery: AMQPDelivery, requeue: Bool) {
        send(.reject(tag: delivery.deliveryTag, requeue: requeue, generation: delivery.generation))
    }

    /// Stops consuming: cancels the consumers at the broker and finishes the delivery streams.
    /// Deliveries not yet acked stay with the broker and are redelivered once this client closes.
    public func stopConsuming() {
        inbox.withLock { $0.consuming = false }
        for continuation in continuations.values { continuation.finish() }
        send(.cancelConsumers)
    }

    /// Sends what is queued (acks, publishes), waits for outstanding confirms, closes the connection
    /// and ends the thread.
    public func shutdown() async {
        stopConsuming()
        let started = inbox.withLock { inbox -> Bool in
            inbox.closing = true
            return inbox.started
        }
        guard started else {
            // No thread will ever read the inbox: fail what waits in it.
            let commands = inbox.withLock { inbox in
                inbox.exited = true
                defer { inbox.commands = [] }
                return inbox.commands
            }
            failPublishes(
                in: commands,
                closedError
            )
            return
        }
        wake()
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let exited = inbox.withLock { inbox -> Bool in
                if !inbox.exited { inbox.exitWaiters.append(continuation) }
                return inbox.exited
            }
            if exited { continuation.resume() }
        }
    }

    private func send(_ command: Command) {
        let mustWake = inbox.withLock { inbox in
            inbox.commands.append(command)
            if case .ack = command { return inbox.wake.queued(isAck: true) }
            return inbox.wake.queued(isAck: false)
        }
        if mustWake { wake() }
    }

    private func wake() {
        var one: UInt64 = 1
        _ = write(wakeDescriptor, &one, 8)
    }

    // MARK: - The connection thread

    /// State only the connection thread touches.
    private final class ThreadState {
        var generation: UInt64 = 0
        var consumerQueues: [String: String] = [:]
        var nextSequence: UInt64 = 0
        /// Publishes awaiting their confirm, in sequence order.
        var unconfirmed: [Unconfirmed] = []
        /// Delivery tags of this connection in arrival order (ascending) until settled in order.
        var unsettled = CircularBuffer<UInt64>(initialCapacity: 256)
        /// Settled by the consumer: true while the ack is still to be sent, false once sent (a
        /// reject, or an ack that could not join a `multiple` one).
        var settled: [UInt64: Bool] = [:]
        /// When the last ack or reject was written: see ``ackLinger``.
        var lastSettlementSentAt: ContinuousClock.Instant?
        /// Acks taken from the inbox and not yet sent, and when they must go at the latest.
        var acksToSend = 0
        var ackFlushDeadline: ContinuousClock.Instant?

        func reset() {
            consumerQueues = [:]
            nextSequence = 0
            unsettled.removeAll(keepingCapacity: true)
            settled = [:]
            lastSettlementSentAt = nil
            acksToSend = 0
            ackFlushDeadline = nil
        }
    }

    /// A publish awaiting its confirm.
    private struct Unconfirmed {
        let sequence: UInt64
        let continuation: CheckedContinuation<Void, Error>
        /// Set when the broker returned it as unroutable; its confirm then fails the publish.
        var returnedBecause: String?
    }

    private func threadMain() {
        let state = ThreadState()
        var backoffSeconds = 0.25
        while true {
            let connection: AMQPConnection
            do {
                connection = try connect(state)
                backoffSeconds = 0.25
            } catch {
                // Publishes must not wait out an outage: their callers decide (a consumer requeues).
                failQueuedPublishes(error)
                if inbox.withLock({ $0.closing }) { break }
                logger.warning(
                    "amqp.connect failed, retrying",
                    metadata: [
                        "amqp.error": "\(error)", "amqp.retry_in_seconds": "\(backoffSeconds)",
                    ]
                )
                waitForWake(milliseconds: Int32(backoffSeconds * 1000))
                backoffSeconds = min(backoffSeconds * 2, 30)
                continue
            }
            do {
                try serve(connection, state)
                connection.close()
                break
            } catch {
                logger.warning("amqp.connection lost", metadata: ["amqp.error": "\(error)"])
                connection.close()
                failUnconfirmed(state, error)
            }
        }
        failUnconfirmed(
            state,
            closedError
        )
        for continuation in continuations.values { continuation.finish() }
        // Under the lock that marks the exit, so no publish can slip in unanswered.
        let (waiters, leftover) = inbox.withLock { inbox in
            inbox.exited = true
            defer {
                inbox.exitWaiters = []
                inbox.commands = []
            }
            return (inbox.exitWaiters, inbox.commands)
        }
        failPublishes(
            in: leftover,
            closedError
        )
        for waiter in waiters { waiter.resume() }
    }

    private func connect(_ state: ThreadState) throws -> AMQPConnection {
        let connection = try AMQPConnection.open(configuration)
        connection.maxBodySize = subscriptions.map { $0.maxBodySize ?? .max }.max() ?? .max
        do {
            try connection.enableConfirms()
            state.reset()
            if inbox.withLock({ $0.consuming }) {
                for subscription in subscriptions {
                    try connection.setPrefetch(subscription.prefetch)
                    let tag = try connection.consume(queue: subscription.queue)
                    state.consumerQueues[tag] = subscription.queue
                }
            }
            state.generation += 1
            let generation = state.generation
            inbox.withLock { $0.generation = generation }
            logger.info(
                "amqp.connected",
                metadata: [
                    "amqp.address": "\(configuration.redactedAddress)",
                    "amqp.queues": "\(subscriptions.map(\.queue).joined(separator: ","))",
                ]
            )
            return connection
        } catch {
            connection.close()
            throw error
        }
    }

    /// How long a closing connection stays open after its last ack. A quorum queue drops acks still
    /// queued inside the broker when their channel closes, and redelivers those messages
    /// (rabbitmq-server issue 10327; seen here for the last ~5% of a fast run of acks).
    static let ackLinger = Duration.milliseconds(250)

    /// Runs until the client closes (returns) or the connection fails (throws).
    private func serve(_ connection: AMQPConnection, _ state: ThreadState) throws {
        var closingSince: ContinuousClock.Instant?
        while true {
            let (commands, closing) = inbox.withLock { inbox in
                defer {
                    inbox.commands = []
                    inbox.wake.taken()
                }
                return (inbox.commands, inbox.closing)
            }
            try execute(commands, on: connection, state)
            while let event = try connection.nextEvent() {
                try handle(event, state)
            }
            let now = ContinuousClock.now
            if let due = state.ackFlushDeadline, closing || state.acksToSend >= ackBatch || now >= due {
                try sendAcks(on: connection, state)
            }
            if closing {
                closingSince = closingSince ?? now
                let queuedEmpty = inbox.withLock { $0.commands.isEmpty }
                // Give outstanding confirms a bounded time; their publishers then see an error.
                let settling = state.lastSettlementSentAt.map { now - $0 < Self.ackLinger } ?? false
                let done = queuedEmpty && state.unconfirmed.isEmpty && !settling
                if done || (queuedEmpty && now - closingSince! > .seconds(10)) { return }
            }
            if !connection.hasBufferedInput { sleep(on: connection, state, closing: closing) }
        }
    }

    /// Waits for the broker, a wake, or the next ack flush, whichever comes first.
    private func sleep(on connection: AMQPConnection, _ state: ThreadState, closing: Bool) {
        let flushDue = state.ackFlushDeadline.map { max(.zero, $0 - .now) }
        let idle: Duration = closing ? .milliseconds(50) : .seconds(1)
        guard let length = inbox.withLock({ $0.wake.sleep(flushDue: flushDue, idle: idle) }) else { return }
        let (seconds, attoseconds) = length.components
        let whole = seconds * 1000 + (attoseconds + 999_999_999_999_999) / 1_000_000_000_000_000
        poll(connection.socketDescriptor, milliseconds: Int32(clamping: whole))
        inbox.withLock { $0.wake.woke() }
    }

    private func execute(_ commands: [Command], on connection: AMQPConnection, _ state: ThreadState) throws {
        for (index, command) in commands.enumerated() {
            do {
                switch command {
                case .ack(let tag, let generation):
                    if generation == state.generation {
                        state.settled[tag] = true
                        state.acksToSend += 1
                        state.ackFlushDeadline = state.ackFlushDeadline ?? .now + Self.ackDelay
                    }
                case .reject(let tag, let requeue, let generation):
                    if generation == state.generation {
                        try connection.reject(tag, requeue: requeue)
                        state.settled[tag] = false
                        state.lastSettlementSentAt = .now
                    }
                case .publish(let message, let continuation):
                    state.nextSequence += 1
                    state.unconfirmed.append(Unconfirmed(sequence: state.nextSequence, continuation: continuation))
                    // Returns are matched by this, not by message id: retry copies share their id.
                    var numbered = message
                    numbered.properties.headers[AMQPConnection.publishSequenceHeader] = .int(Int64(state.nextSequence))
                    try connection.publish(numbered)
                case .cancelConsumers:
                    for tag in state.consumerQueues.keys { try connection.cancel(consumerTag: tag) }
                    state.consumerQueues = [:]
                }
            } catch {
                // Publishes not yet written go out on the next connection; acks are moot there.
                let unsent = commands[(index + 1)...].filter {
                    if case .publish = $0 { return true } else { return false }
                }
                inbox.withLock { $0.commands.insert(contentsOf: unsent, at: 0) }
                throw error
            }
        }
    }

    /// Acks what the consumer settled since the last call: the settled run at the front of the
    /// delivery order with one `multiple` ack (the broker then acks every tag up to it that is still
    /// unacked: none is, but these), the rest one by one, so that no ack waits for a slower job.
    private func sendAcks(on connection: AMQPConnection, _ state: ThreadState) throws {
        state.acksToSend = 0
        state.ackFlushDeadline = nil
        var highestInRun: UInt64?
        while let front = state.unsettled.first, let ackPending = state.settled.removeValue(forKey: front) {
            state.unsettled.removeFirst()
            if ackPending { highestInRun = front }
        }
        if let highestInRun {
            try connection.ack(highestInRun, multiple: true)
            state.lastSettlementSentAt = .now
        }
        let outOfOrder = state.settled.filter(\.value).keys
        for tag in outOfOrder {
            try connection.ack(tag)
            state.settled[tag] = false
            state.lastSettlementSentAt = .now
        }
    }

    private func handle(_ event: AMQPConnection.Event, _ state: ThreadState) throws {
        switch event {
        case .delivery(
            let consumerTag,
            let deliveryTag,
            let redelivered,
            let exchange,
            let routingKey,
            let properties,
            let body,
            let oversizeBodySize
        ):
            // Every tag, even one no consumer takes any more: a `multiple` ack must never pass it.
            state.unsettled.append(deliveryTag)
            guard let queue = state.consumerQueues[consumerTag] else { return }
            continuations[queue]?.yield(
                AMQPDelivery(
                    body: body,
                    properties: properties,
                    deliveryTag: deliveryTag,
                    redelivered: redelivered,
                    exchange: exchange,
                    routingKey: routingKey,
                    queue: queue,
                    generation: state.generation,
                    oversizeBodySize: oversizeBodySize
                )
            )
        case .confirm(let deliveryTag, let multiple, let ack):
            let settled: ArraySlice<Unconfirmed>
            if multiple {
                let end = state.unconfirmed.firstIndex { $0.sequence > deliveryTag } ?? state.unconfirmed.endIndex
                settled = state.unconfirmed[..<end]
                state.unconfirmed.removeSubrange(..<end)
            } else if let index = state.unconfirmed.firstIndex(where: { $0.sequence == deliveryTag }) {
                settled = [state.unconfirmed.remove(at: index)]
            } else {
                settled = []
            }
            for entry in settled {
                if let reason = entry.returnedBecause {
                    entry.continuation.resume(
                        throwing: AMQPError(
                            code: .unroutable,
                            message: reason,
                            address: configuration.redactedAddress
                        )
                    )
                } else if ack {
                    entry.continuation.resume()
                } else {
                    entry.continuation.resume(
                        throwing: AMQPError(
                            code: .nacked,
                            message: "broker refused the message",
                            address: configuration.redactedAddress
                        )
                    )
                }
            }
        case .returned(let properties, let replyCode, let replyText):
            let sequence = properties.headers[AMQPConnection.publishSequenceHeader]?.int.map { UInt64($0) }
            if let index = state.unconfirmed.firstIndex(where: { $0.sequence == sequence }) {
                state.unconfirmed[index].returnedBecause = "no queue is bound for it (\(replyCode) \(replyText))"
            }
        case .consumerCancelled(let consumerTag):
            let queue = state.consumerQueues[consumerTag] ?? consumerTag
            throw AMQPError(
                code: .server,
                message: "broker cancelled the consumer of \(queue)",
                address: configuration.redactedAddress
            )
        }
    }

    private func failUnconfirmed(_ state: ThreadState, _ error: Error) {
        let failed = state.unconfirmed
        state.unconfirmed = []
        for entry in failed { entry.continuation.resume(throwing: error) }
    }

    private func failQueuedPublishes(_ error: Error) {
        let commands = inbox.withLock { inbox in
            defer { inbox.commands.removeAll { if case .publish = $0 { return true } else { return false } } }
            return inbox.commands
        }
        failPublishes(in: commands, error)
    }

    private func failPublishes(in commands: [Command], _ error: Error) {
        for case .publish(_, let continuation) in commands { continuation.resume(throwing: error) }
    }

    private func poll(_ socket: Int32, milliseconds: Int32) {
        var descriptors = [
            pollfd(fd: socket, events: Int16(POLLIN), revents: 0),
            pollfd(fd: wakeDescriptor, events: Int16(POLLIN), revents: 0),
        ]
        _ = Glibc.poll(&descriptors, 2, milliseconds)
        if descriptors[1].revents != 0 { drainWake() }
    }

    private func waitForWake(milliseconds: Int32) {
        var descriptor = pollfd(fd: wakeDescriptor, events: Int16(POLLIN), revents: 0)
        _ = Glibc.poll(&descriptor, 1, milliseconds)
        drainWake()
    }

    private func drainWake() {
        var value: UInt64 = 0
        _ = read(wakeDescriptor, &value, 8)
    }
}
