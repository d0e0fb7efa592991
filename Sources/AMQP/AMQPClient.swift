import CRabbitMQ
import Foundation
import Logging
import NIOConcurrencyHelpers
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
/// and an eventfd that wakes its `poll`. Deliveries come out as one ``AMQPDeliveries`` per queue, bounded
/// by the queue's prefetch. When the broker goes away the thread reconnects to the next of the
/// configured nodes (``ReconnectSchedule``) and consumes again; acks for deliveries of the lost
/// connection are dropped, because the broker redelivers those messages anyway.
///
/// Broker faults it rides out without a reconnect: `connection.blocked` (an alarm) holds publishes
/// until `connection.unblocked` or their confirm timeout; a subscribed queue that is missing, or
/// that the broker cancels the consumer of (`basic.cancel`: queue deleted), is looked for again
/// with a capped backoff (``MissingQueueWatch``) and consumed as soon as it exists. Each such change
/// is logged once and reported to ``StatusChange`` listeners.
///
/// Tasks may run on the connection thread itself, between its passes (``executor``): a consumer
/// whose jobs never block then reads, runs and acks on one thread.
public final class AMQPClient: Sendable {
    /// A change in what the broker lets this client do; the connection thread reports each once.
    public enum StatusChange: Sendable, Equatable {
        /// Connected (or reconnected) to this node (`host:port/vhost`).
        case connected(address: String)
        /// The connection to this node was lost or could not be opened; reconnecting.
        case disconnected(address: String)
        /// The broker blocked the connection (`connection.blocked`, a memory or disk alarm):
        /// publishes wait, acks still flow on a connection that never published.
        case blocked(reason: String)
        /// The broker lifted the block.
        case unblocked
        /// A subscribed queue does not exist (yet, or any more); looked for again with backoff.
        case queueMissing(queue: String)
        /// A subscribed queue is consumed: after each connect, or once a missing one appears.
        case queueConsumed(queue: String)
    }
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
        /// The longest an ack waits for others to share its `multiple` ack frame (see
        /// ``AMQPClient/defaultAckDelay``). One connection serves every subscription of a client,
        /// so the shortest delay of them applies to all.
        public let ackDelay: Duration

        /// Consumes `queue` with a prefetch (QoS) window of `prefetch` unacked deliveries.
        public init(
            queue: String,
            prefetch: UInt16,
            maxBodySize: Int? = nil,
            ackDelay: Duration = AMQPClient.defaultAckDelay
        ) {
            self.queue = queue
            self.prefetch = prefetch
            self.maxBodySize = maxBodySize
            self.ackDelay = ackDelay
        }
    }

    private enum Command: Sendable {
        case ack(tag: UInt64, generation: UInt64)
        case reject(tag: UInt64, requeue: Bool, generation: UInt64)
        case publish(AMQPOutgoingMessage, CheckedContinuation<Void, Error>, deadline: ContinuousClock.Instant)
        case cancelConsumers

        /// Acks are batched (``sendAcks`` writes them after a pass), so they neither wake the
        /// thread at once nor count as a write of their pass.
        var isAck: Bool { wakeKind == .ack }

        var wakeKind: AckWakePolicy.Command {
            switch self {
            case .ack: .ack
            case .reject: .reject
            case .publish, .cancelConsumers: .other
            }
        }
    }

    private struct Inbox {
        var commands: [Command] = []
        var closing = false
        var consuming = true
        var started = false
        var exitWaiters: [UInt64: CheckedContinuation<Void, Never>] = [:]
        var nextWaiterId: UInt64 = 0
        /// Mirrors the thread's ``BlockedState`` for ``isBlocked``.
        var blocked = false
        var exited = false
        /// The connection deliveries must come from to be acked: see ``isCurrent(_:)``.
        var generation: UInt64 = 0
        /// When a queued command wakes the thread, and how long the thread may sleep.
        var wake: AckWakePolicy
    }

    /// The broker this client connects to, and again after every reconnect.
    public let configuration: AMQPConfiguration
    private let subscriptions: [Subscription]
    private let streams: [String: AMQPDeliveries]
    private let inbox: NIOLockedValueBox<Inbox>
    /// CLOCK_REALTIME (ns) when the connection thread last wrote an ack frame; 0 before the first.
    private let lastAckWritten = Atomic<Int64>(0)
    private let wakeDescriptor: Int32
    /// Runs tasks on the connection thread between its passes: see ``ConnectionThreadExecutor``.
    public let executor: ConnectionThreadExecutor
    private let logger: Logger
    private let onStatusChange: (@Sendable (StatusChange) -> Void)?
    /// Whether the first publish after an idle spell waits for a probe's confirm (see `init`).
    private let probesBeforePublishing: Bool
    /// The exchange probes go to, with ``probeRoutingKey``, which nothing binds (see `init`).
    private let probeExchange: String
    /// The routing key of probes: no queue is bound by it, so the broker drops them. A user whose
    /// write on ``probeExchange`` is limited by a topic permission needs it allowed.
    public static let probeRoutingKey = "amq.fleet.publish-probe"
    /// Whether publishes fail at once with `.blocked` while the broker blocks the connection.
    private let failsFastWhenBlocked: Bool
    /// How long without a confirm makes a connection idle, for ``probesBeforePublishing``.
    static let probeAfterIdle = Duration.seconds(1)
    /// Acks that are sent at once, without waiting out ``ackDelay``: a quarter of the smallest
    /// prefetch, so the broker always has window left to deliver while acks collect.
    private let ackBatch: Int
    /// The longest an ack waits for others to share its `multiple` ack frame: the shortest of the
    /// subscriptions' (``Subscription/ackDelay``).
    let ackDelay: Duration
    /// The ack delay of a subscription that names none. Each ack frame costs the broker a command
    /// (for a quorum queue, a Raft log entry) and this thread wake-ups; at 1 ms, a worker running
    /// workload B (a lock and an upsert per job) one job at a time sent nearly every ack alone, and
    /// the broker's work slowed the stores' answers on two cores. At 10 ms it ran 0.90–1.12 times
    /// the C writer in single runs, against 0.61–0.82 (README, "Acks collect for 10 ms"). An ack
    /// that settles every delivery the worker holds, or fills a batch, still goes at once.
    public static let defaultAckDelay = Duration.milliseconds(10)

    /// A client that does nothing until ``start()``.
    ///
    /// - Parameters:
    ///   - configuration: the broker to connect to.
    ///   - subscriptions: queues to consume; empty for a publish-only client.
    ///   - logger: connection events are logged at info, reconnect failures at warning.
    ///   - probesBeforePublishing: before the first publish after a second without confirms (or on
    ///     a new connection), send two empty probe messages the broker drops, and write the real
    ///     ones only once the second is confirmed (see `sendProbe`). A broker under a memory or disk
    ///     alarm blocks a connection at its first publish and reads nothing more; a message written
    ///     then sits in the socket, its outcome unknown until the alarm clears. With the probe, the real messages are held
    ///     instead, and can be given up without a duplicate. Costs one round trip after idle spells.
    ///   - probeExchange: where probes go (the default exchange unless given): one the user may write,
    ///     and on which nothing is bound by ``probeRoutingKey``.
    ///   - failsFastWhenBlocked: while the broker blocks the connection, fail publishes at once
    ///     with `.blocked` (never written, so safe to publish again later) instead of holding them
    ///     until the block lifts or their confirm timeout passes.
    ///   - onStatusChange: called on the connection thread at every ``StatusChange``; must return quickly.
    public init(
        configuration: AMQPConfiguration,
        subscriptions: [Subscription] = [],
        logger: Logger,
        probesBeforePublishing: Bool = false,
        probeExchange: String = "",
        failsFastWhenBlocked: Bool = false,
        onStatusChange: (@Sendable (StatusChange) -> Void)? = nil
    ) {
        self.probesBeforePublishing = probesBeforePublishing
        self.probeExchange = probeExchange
        self.failsFastWhenBlocked = failsFastWhenBlocked
        self.configuration = configuration
        self.subscriptions = subscriptions
        self.logger = logger
        self.onStatusChange = onStatusChange
        var streams: [String: AMQPDeliveries] = [:]
        for subscription in subscriptions { streams[subscription.queue] = AMQPDeliveries() }
        self.streams = streams
        let wakeDescriptor = fleet_wake_descriptor()
        self.wakeDescriptor = wakeDescriptor
        self.executor = ConnectionThreadExecutor { Self.wake(wakeDescriptor) }
        self.ackBatch = max(1, Int(subscriptions.map(\.prefetch).min() ?? 1) / 4)
        self.ackDelay = subscriptions.map(\.ackDelay).min() ?? Self.defaultAckDelay
        self.inbox = NIOLockedValueBox(Inbox(wake: AckWakePolicy(ackBatch: ackBatch)))
        for stream in streams.values { stream.onWait { [weak self] in self?.consumerStarved() } }
    }

    /// A consumer waits for a delivery: the acks held for the delay go now (``AckWakePolicy/starved()``).
    private func consumerStarved() {
        if inbox.withLockedValue({ $0.wake.starved() }) { wake() }
    }

    deinit {
        close(wakeDescriptor)
    }

    /// Starts the connection thread. Deliveries flow once the broker is reachable.
    public func start() {
        let alreadyStarted = inbox.withLockedValue { inbox in
            defer { inbox.started = true }
            return inbox.started
        }
        guard !alreadyStarted else { return }
        NamedThread.start(name: "amqp-connection") { [self] in self.threadMain() }
    }

    /// The deliveries of one subscribed queue. Finishes when consuming stops.
    public func deliveries(of queue: String) -> AMQPDeliveries {
        guard let stream = streams[queue] else { preconditionFailure("not subscribed to \(queue)") }
        return stream
    }

    /// Publishes and returns once the broker confirmed the message (persisted for durable queues).
    /// Throws ``AMQPError`` `.unroutable` when a mandatory message matched no queue, `.nacked` when
    /// the broker refused it, `.connection` when the connection dropped before the confirm (the
    /// message may or may not have been stored: publish again, consumers are idempotent) or the
    /// broker could not be reached, `.timeout` when no confirm came within the configuration's
    /// `confirmTimeout` (a publish held while the broker blocks the connection is never written,
    /// one written may still be stored), and `.closed` once the client shut down. It never waits out
    /// an outage: a caller that must not lose the message keeps it (a consumer leaves its delivery
    /// unacked) and tries again. Queues the message on the caller's executor (no hop), then suspends.
    nonisolated(nonsending) public func publish(_ message: AMQPOutgoingMessage) async throws {
        let deadline = ContinuousClock.now + configuration.confirmTimeout
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, Error>) in
            let accepted = inbox.withLockedValue { inbox -> Bool? in
                guard !inbox.exited else { return nil }
                let command = Command.publish(message, continuation, deadline: deadline)
                inbox.commands.append(command)
                return inbox.wake.queued(.other)
            }
            switch accepted {
            case nil: continuation.resume(throwing: closedError)
            case true: wakeForCommand()
            case false: break  // see send(_:)
            }
        }
    }

    private var closedError: AMQPError {
        AMQPError(code: .closed, message: "client closed", address: configuration.redactedAddress)
    }

    /// Whether the broker blocks this client's connection now (`connection.blocked`): publishes
    /// wait until it lifts or their confirm timeout passes.
    public var isBlocked: Bool { inbox.withLockedValue { $0.blocked } }

    /// False for a delivery of a connection since lost: the broker redelivers it, so processing
    /// this copy too would only duplicate work (and, for a failing job, its dead letter).
    public func isCurrent(_ delivery: AMQPDelivery) -> Bool {
        inbox.withLockedValue { $0.generation } == delivery.generation
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
        inbox.withLockedValue { $0.consuming = false }
        for stream in streams.values { stream.finish() }
        send(.cancelConsumers)
    }

    /// Starts closing without waiting: publishes the broker holds (blocked) fail at once with
    /// `.closed`, the rest get a few seconds for their confirms. ``shutdown(within:)`` waits for it.
    public func beginShutdown() {
        let started = inbox.withLockedValue { inbox -> Bool in
            inbox.closing = true
            return inbox.started
        }
        if started { wake() }
    }

    /// Sends what is queued (acks, publishes), waits for outstanding confirms, closes the connection
    /// and ends the thread. Returns after `within` at the latest, even if the thread is still stuck
    /// in a connect or an RPC to an unresponsive broker (each bounded by its own timeout): the
    /// broker requeues the deliveries left unacked once the thread drops the connection.
    public func shutdown(within limit: Duration = .seconds(15)) async {
        stopConsuming()
        let started = inbox.withLockedValue { inbox -> Bool in
            inbox.closing = true
            return inbox.started
        }
        guard started else {
            // No thread will ever read the inbox: fail what waits in it.
            let commands = inbox.withLockedValue { inbox in
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
        let waiterId = inbox.withLockedValue { inbox in
            defer { inbox.nextWaiterId += 1 }
            return inbox.nextWaiterId
        }
        let timer = Task { [self] in
            try? await Task.sleep(for: limit)
            let waiter = self.inbox.withLockedValue { $0.exitWaiters.removeValue(forKey: waiterId) }
            waiter?.resume()
        }
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let exited = inbox.withLockedValue { inbox -> Bool in
                if !inbox.exited { inbox.exitWaiters[waiterId] = continuation }
                return inbox.exited
            }
            if exited { continuation.resume() }
        }
        timer.cancel()
    }

    private func send(_ command: Command) {
        let mustWake = inbox.withLockedValue { inbox in
            inbox.commands.append(command)
            return inbox.wake.queued(command.wakeKind)
        }
        if mustWake { wakeForCommand() }
    }

    /// For a command the thread must take soon. A job on the thread itself (``executor``) holds
    /// it: the pass comes once the jobs of this one have run up to their next suspension, and the
    /// slots step aside for it; the wake policy lets the thread not sleep before that pass, so the
    /// eventfd write (a syscall, and a spurious wake-up after the pass) is only for other threads.
    private func wakeForCommand() {
        if executor.isCurrentThread { executor.requestTurn() } else { wake() }
    }

    /// For a task that prefers ``executor``, between its jobs. On the connection thread: suspends
    /// until the next pass when a command queued in this pass asked for one (an ack that fills a
    /// batch or settles every delivery handed out, a reject), so that the thread takes and sends it
    /// first. Elsewhere while the thread serves a connection: moves onto the thread (see
    /// ``ConnectionThreadExecutor/runsElsewhere``). Otherwise returns at once.
    public func yieldToConnection() async {
        if executor.turnRequested || executor.runsElsewhere { await executor.waitForNextPass() }
    }

    private func wake() {
        Self.wake(wakeDescriptor)
    }

    private static func wake(_ descriptor: Int32) {
        var one: UInt64 = 1
        _ = write(descriptor, &one, 8)
    }

    // MARK: - The connection thread

    /// State only the connection thread touches.
    private final class ThreadState {
        var generation: UInt64 = 0
        var consumerQueues: [String: String] = [:]
        var nextSequence: UInt64 = 0
        /// Publishes awaiting their confirm, in sequence order.
        /// A nil waiter is a probe (see ``probesBeforePublishing``).
        var unconfirmed = PendingConfirms<CheckedContinuation<Void, Error>?>()
        /// The probe awaiting its confirm; publishes are held meanwhile.
        var probeSequence: UInt64?
        /// When the broker last confirmed a publish on this connection.
        var lastConfirmAt: ContinuousClock.Instant?
        /// Publishes not written while the broker blocks the connection, oldest first.
        var held:
            [(
                message: AMQPOutgoingMessage, continuation: CheckedContinuation<Void, Error>,
                deadline: ContinuousClock.Instant
            )] = []
        var blocked = BlockedState()
        /// Subscribed queues the broker does not have, by name.
        var missing: [String: MissingQueueWatch] = [:]
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
            missing = [:]
            probeSequence = nil
            lastConfirmAt = nil
            nextSequence = 0
            unsettled.removeAll(keepingCapacity: true)
            settled = [:]
            lastSettlementSentAt = nil
            acksToSend = 0
            ackFlushDeadline = nil
        }
    }

    /// How long a connection must have lasted for its loss to restart the reconnect backoff.
    static let connectionLastedAfter = Duration.seconds(1)

    private func threadMain() {
        let state = ThreadState()
        var schedule = ReconnectSchedule(
            addressCount: configuration.addresses.count,
            maxDelay: configuration.maxReconnectDelay
        )
        while true {
            let address = configuration.addresses[schedule.next]
            let connection: AMQPConnection
            let connectedAt: ContinuousClock.Instant
            do {
                connection = try connect(to: address, state)
                connectedAt = .now
            } catch {
                // Publishes must not wait out an outage: their callers decide (a consumer requeues).
                failQueuedPublishes(error)
                if inbox.withLockedValue({ $0.closing }) { break }
                let pause = schedule.failed()
                logger.warning(
                    "amqp.connect failed, trying the next address",
                    metadata: [
                        "amqp.address": "\(configuration.redacted(address))", "amqp.error": "\(error)",
                        "amqp.next_address": "\(configuration.redacted(configuration.addresses[schedule.next]))",
                        "amqp.retry_in_ms": "\(pause.wholeMilliseconds)",
                    ]
                )
                onStatusChange?(.disconnected(address: configuration.redacted(address)))
                if pause > .zero { waitForWake(milliseconds: Int32(clamping: pause.wholeMilliseconds)) }
                continue
            }
            do {
                try serve(connection, state)
                // A blocked broker reads nothing, and one that left confirms unanswered through the
                // closing grace is not answering: neither would answer connection.close. Their
                // publishers learn it now, not after a close that waits out the RPC timeout.
                let brokerSilent = state.blocked.isBlocked || !state.unconfirmed.isEmpty
                failUnconfirmed(state, closedError)
                connection.close(waitForBroker: !brokerSilent)
                break
            } catch {
                logger.warning(
                    "amqp.connection lost",
                    metadata: ["amqp.address": "\(configuration.redacted(address))", "amqp.error": "\(error)"]
                )
                connection.close(waitForBroker: false)
                failUnconfirmed(state, error)
                // Held publishes were never written: the next connection sends them.
                let held = state.held.map { Command.publish($0.message, $0.continuation, deadline: $0.deadline) }
                state.held = []
                inbox.withLockedValue { $0.commands.insert(contentsOf: held, at: 0) }
                setUnblocked(state)
                onStatusChange?(.disconnected(address: configuration.redacted(address)))
                // A connection that dies at once (a broker that accepts and drops) keeps backing off.
                if ContinuousClock.now - connectedAt >= Self.connectionLastedAfter { schedule.connected() }
                let pause = schedule.failed()
                if pause > .zero { waitForWake(milliseconds: Int32(clamping: pause.wholeMilliseconds)) }
            }
        }
        failUnconfirmed(
            state,
            closedError
        )
        for entry in state.held { entry.continuation.resume(throwing: closedError) }
        state.held = []
        for stream in streams.values { stream.finish() }
        // Its id may go to a new thread now, which must not pass for this one.
        executor.threadEnded()
        // Under the lock that marks the exit, so no publish can slip in unanswered.
        let (waiters, leftover) = inbox.withLockedValue { inbox in
            inbox.exited = true
            defer {
                inbox.exitWaiters = [:]
                inbox.commands = []
            }
            return (Array(inbox.exitWaiters.values), inbox.commands)
        }
        failPublishes(
            in: leftover,
            closedError
        )
        for waiter in waiters { waiter.resume() }
    }

    private func connect(to address: AMQPConfiguration.Address, _ state: ThreadState) throws -> AMQPConnection {
        let connection = try AMQPConnection.open(configuration, address: address)
        connection.maxBodySize = subscriptions.map { $0.maxBodySize ?? .max }.max() ?? .max
        do {
            try connection.enableConfirms()
            state.reset()
            let consuming = inbox.withLockedValue { inbox in
                inbox.wake.connectionReplaced()
                return inbox.consuming
            }
            if consuming {
                for subscription in subscriptions {
                    try startConsuming(subscription, on: connection, state)
                }
            }
            state.generation += 1
            let generation = state.generation
            inbox.withLockedValue { $0.generation = generation }
            logger.info(
                "amqp.connected",
                metadata: [
                    "amqp.address": "\(configuration.redacted(address))",
                    "amqp.queues": "\(subscriptions.map(\.queue).joined(separator: ","))",
                ]
            )
            onStatusChange?(.connected(address: configuration.redacted(address)))
            for queue in state.consumerQueues.values.sorted() { onStatusChange?(.queueConsumed(queue: queue)) }
            for queue in state.missing.keys.sorted() { onStatusChange?(.queueMissing(queue: queue)) }
            return connection
        } catch {
            connection.close(waitForBroker: false)
            throw error
        }
    }

    /// Consumes `subscription`'s queue when it exists; otherwise notes it missing, to look again.
    /// Returns whether it consumes now.
    @discardableResult
    private func startConsuming(
        _ subscription: Subscription,
        on connection: AMQPConnection,
        _ state: ThreadState
    )
        throws -> Bool
    {
        guard try connection.queueExists(subscription.queue) else {
            if state.missing[subscription.queue] == nil {
                state.missing[subscription.queue] = MissingQueueWatch(now: .now)
                logger.warning(
                    "amqp.queue missing, waiting for it to be declared",
                    metadata: ["amqp.queue": "\(subscription.queue)", "amqp.address": "\(connection.addressText)"]
                )
            }
            return false
        }
        try connection.setPrefetch(subscription.prefetch)
        let tag = try connection.consume(queue: subscription.queue)
        state.consumerQueues[tag] = subscription.queue
        return true
    }

    /// Looks again for the missing queues whose time has come, and consumes those that exist now.
    private func probeMissingQueues(on connection: AMQPConnection, _ state: ThreadState) throws {
        guard !state.missing.isEmpty, inbox.withLockedValue({ $0.consuming }) else { return }
        let now = ContinuousClock.now
        for (queue, watch) in state.missing where watch.isDue(now: now) {
            guard let subscription = subscriptions.first(where: { $0.queue == queue }) else { continue }
            if try withTasksElsewhere({ try startConsuming(subscription, on: connection, state) }) {
                let missingFor = now - watch.since
                state.missing[queue] = nil
                logger.info(
                    "amqp.queue found, consuming",
                    metadata: ["amqp.queue": "\(queue)", "amqp.missing_for_ms": "\(missingFor.wholeMilliseconds)"]
                )
                onStatusChange?(.queueConsumed(queue: queue))
            } else {
                var watch = watch
                if watch.stillMissing(now: now) {
                    logger.warning(
                        "amqp.queue still missing",
                        metadata: [
                            "amqp.queue": "\(queue)", "amqp.missing_for_ms": "\((now - watch.since).wholeMilliseconds)",
                        ]
                    )
                }
                state.missing[queue] = watch
            }
        }
    }

    /// How long a closing connection stays open after its last ack. A quorum queue drops acks still
    /// queued inside the broker when their channel closes, and redelivers those messages
    /// (rabbitmq-server issue 10327; seen here for the last ~5% of a fast run of acks).
    static let ackLinger = Duration.milliseconds(250)

    /// Runs until the client closes (returns) or the connection fails (throws).
    private func serve(_ connection: AMQPConnection, _ state: ThreadState) throws {
        executor.attend()
        defer { executor.leave() }
        var closingSince: ContinuousClock.Instant?
        // Read the socket only when the last poll said it is readable (or there was no poll): each
        // read that finds nothing costs a `recv` and a `poll` in librabbitmq, which was two of the
        // thread's six or so system calls per job at concurrency 1. A pass that comes round
        // `quietReadInterval` or more after the last read reads anyway, since reading is also what
        // sends heartbeats (an idle thread still sleeps up to a second between passes, as before).
        var socketMayHaveInput = true
        var lastRead = ContinuousClock.now
        while true {
            // Tasks on this thread first: the acks they queue go out in this pass.
            executor.runQueued()
            let (commands, closing, consumerWaits) = inbox.withLockedValue { inbox in
                defer {
                    inbox.commands = []
                    inbox.wake.taken()
                }
                return (inbox.commands, inbox.closing, inbox.wake.flushRequested)
            }
            // Acks are only counted here (sendAcks writes them): cork only passes that write twice.
            if commands.lazy.filter({ !$0.isAck }).count > 1 {
                try connection.corked { try execute(commands, on: connection, state) }
            } else {
                try execute(commands, on: connection, state)
            }
            // The clock is read here only on a pass that found the socket quiet.
            let reads =
                socketMayHaveInput || connection.hasBufferedInput
                || ContinuousClock.now - lastRead >= Self.quietReadInterval
            if reads {
                // One `recv` brings what the socket holds; its frames are then parsed from the
                // buffer. Reading on until `recv` finds nothing would cost the two calls above (a
                // frame cut at the buffer's end still takes one more `recv`).
                repeat {
                    guard let event = try connection.nextEvent() else { break }
                    try handle(event, on: connection, state)
                } while connection.hasBufferedInput
            }
            let now = ContinuousClock.now
            if reads { lastRead = now }
            // Every delivery handed out is settled: no other ack can join these (the broker sends
            // no more until it has them), so they go now instead of after the delay. Likewise when a
            // consumer waits for deliveries: held acks would only hold the broker's prefetch slots.
            let allSettled = state.settled.count == state.unsettled.count
            if let due = state.ackFlushDeadline,
                closing || state.acksToSend >= ackBatch || now >= due || allSettled || consumerWaits
            {
                try sendAcks(on: connection, state)
            }
            expirePublishes(state, now: now)
            if state.probeSequence == nil, !state.blocked.isBlocked, !state.held.isEmpty {
                // Their probe timed out unconfirmed: probe again rather than strand them.
                try sendProbe(on: connection, state)
            }
            try probeMissingQueues(on: connection, state)
            if closing {
                closingSince = closingSince ?? now
                if state.blocked.isBlocked {
                    // The broker reads nothing: no confirm can come. Fail what waits, do not linger.
                    let error = closedError
                    for held in state.held { held.continuation.resume(throwing: error) }
                    state.held = []
                    failUnconfirmed(state, error)
                    return
                }
                let queuedEmpty = inbox.withLockedValue { $0.commands.isEmpty }
                // Give outstanding confirms a bounded time; their publishers then see an error.
                let settling = state.lastSettlementSentAt.map { now - $0 < Self.ackLinger } ?? false
                let done = queuedEmpty && state.unconfirmed.isEmpty && !settling
                if done || (queuedEmpty && now - closingSince! > .seconds(5)) { return }
            }
            socketMayHaveInput = true
            if !connection.hasBufferedInput {
                socketMayHaveInput = sleep(on: connection, state, closing: closing) ?? true
            }
        }
    }

    /// Runs `body`, which waits for the broker's reply (up to the RPC timeout), with the tasks of
    /// ``executor`` on Swift's pool meanwhile: a slow broker must not hold up the jobs, nor the drain
    /// timer at shutdown (`basic.cancel` is sent just as consuming stops).
    private func withTasksElsewhere<T>(_ body: () throws -> T) rethrows -> T {
        executor.leave()
        defer { executor.attend() }
        return try body()
    }

    /// After this long without a read, the connection thread's next pass reads its socket even if
    /// the last poll found it quiet: reading also sends heartbeats.
    static let quietReadInterval = Duration.milliseconds(250)

    /// Waits for the broker, a wake, or the next ack flush, whichever comes first. Returns whether
    /// the socket became readable, or nil when it did not wait (commands are queued).
    private func sleep(on connection: AMQPConnection, _ state: ThreadState, closing: Bool) -> Bool? {
        let flushDue = state.ackFlushDeadline.map { max(.zero, $0 - .now) }
        let idle: Duration = closing ? .milliseconds(50) : .seconds(1)
        let pendingAcks = state.acksToSend
        guard
            let length = inbox.withLockedValue({
                $0.wake.sleep(flushDue: flushDue, pendingAcks: pendingAcks, idle: idle)
            })
        else {
            return nil
        }
        // Tasks wait to run here: only look whether the socket has input.
        let waits = executor.maySleep()
        let (seconds, attoseconds) = length.components
        let whole = seconds * 1000 + (attoseconds + 999_999_999_999_999) / 1_000_000_000_000_000
        let readable = poll(connection.socketDescriptor, milliseconds: waits ? Int32(clamping: whole) : 0)
        executor.woke()
        inbox.withLockedValue { $0.wake.woke() }
        return readable
    }

    private func execute(_ commands: [Command], on connection: AMQPConnection, _ state: ThreadState) throws {
        for (index, command) in commands.enumerated() {
            do {
                switch command {
                case .ack(let tag, let generation):
                    if generation == state.generation {
                        state.settled[tag] = true
                        state.acksToSend += 1
                        state.ackFlushDeadline = state.ackFlushDeadline ?? .now + ackDelay
                    }
                case .reject(let tag, let requeue, let generation):
                    if generation == state.generation {
                        try connection.reject(tag, requeue: requeue)
                        state.settled[tag] = false
                        state.lastSettlementSentAt = .now
                    }
                case .publish(let message, let continuation, let deadline):
                    if state.blocked.isBlocked && failsFastWhenBlocked {
                        continuation.resume(throwing: blockedError(state))
                    } else if state.blocked.isBlocked || state.probeSequence != nil {
                        // Written now, it would sit unread in the socket and could land after its
                        // publisher gave up on it: held until the broker unblocks, or the deadline.
                        state.held.append((message, continuation, deadline))
                    } else if probesBeforePublishing,
                        state.lastConfirmAt.map({ .now - $0 > Self.probeAfterIdle }) ?? true
                    {
                        state.held.append((message, continuation, deadline))
                        try sendProbe(on: connection, state)
                    } else {
                        try writePublish(message, continuation, deadline: deadline, on: connection, state)
                    }
                case .cancelConsumers:
                    try withTasksElsewhere {
                        for tag in state.consumerQueues.keys { try connection.cancel(consumerTag: tag) }
                    }
                    state.consumerQueues = [:]
                }
            } catch {
                // Publishes not yet written go out on the next connection; acks are moot there.
                let unsent =
                    state.held.map { Command.publish($0.message, $0.continuation, deadline: $0.deadline) }
                    + commands[(index + 1)...].filter {
                        if case .publish = $0 { return true } else { return false }
                    }
                state.held = []
                inbox.withLockedValue { $0.commands.insert(contentsOf: unsent, at: 0) }
                throw error
            }
        }
    }

    private func writePublish(
        _ message: AMQPOutgoingMessage,
        _ continuation: CheckedContinuation<Void, Error>,
        deadline: ContinuousClock.Instant,
        on connection: AMQPConnection,
        _ state: ThreadState
    ) throws {
        // Its confirm timeout passed while it waited (a reconnect, a slow login): the caller gets a
        // timeout and publishes again, so writing it now would store a second copy.
        guard deadline > .now else {
            continuation.resume(
                throwing: AMQPError(
                    code: .timeout,
                    message: "not published within \(configuration.confirmTimeout) (never written)",
                    address: configuration.redactedAddress
                )
            )
            return
        }
        state.nextSequence += 1
        state.unconfirmed.add(sequence: state.nextSequence, waiter: continuation, deadline: deadline)
        // Returns are matched by this, not by message id: retry copies share their id.
        try connection.publish(message, sequence: state.nextSequence)
    }

    /// Two empty messages the broker drops (no queue is named so, not mandatory), written together
    /// before the first publish after an idle spell; the real publishes wait for the second's
    /// confirm. A broker under an alarm blocks the connection at the first probe: it reads and
    /// confirms that one, then reads nothing more, so the second is never confirmed while the block
    /// lasts. One probe would not do: its confirm comes from the channel and `connection.blocked`
    /// from the connection, in either order, and a confirm first would release the real publishes
    /// into a socket the broker no longer reads (seen in CI as a job dead-lettered twice).
    private func sendProbe(on connection: AMQPConnection, _ state: ThreadState) throws {
        for _ in 0..<2 {
            state.nextSequence += 1
            state.probeSequence = state.nextSequence
            state.unconfirmed.add(
                sequence: state.nextSequence,
                waiter: nil,
                deadline: .now + configuration.confirmTimeout
            )
            try connection.publish(
                AMQPOutgoingMessage(
                    exchange: probeExchange,
                    routingKey: Self.probeRoutingKey,
                    properties: AMQPProperties(),
                    body: [],
                    mandatory: false
                ),
                sequence: state.nextSequence
            )
        }
    }

    private func blockedError(_ state: ThreadState) -> AMQPError {
        AMQPError(
            code: .blocked,
            message: "not published: the broker blocks the connection (\(state.blocked.reason ?? "-"))",
            address: configuration.redactedAddress
        )
    }

    /// Fails the held publishes (never written) with `.blocked`, for callers that park them.
    private func failHeldAsBlocked(_ state: ThreadState) {
        let held = state.held
        state.held = []
        let error = blockedError(state)
        for entry in held { entry.continuation.resume(throwing: error) }
    }

    /// Writes the publishes held for a probe or a block, once neither holds them any more.
    private func writeHeld(on connection: AMQPConnection, _ state: ThreadState) throws {
        guard !state.blocked.isBlocked, state.probeSequence == nil, !state.held.isEmpty else { return }
        let held = state.held
        state.held = []
        for (index, entry) in held.enumerated() {
            do {
                try writePublish(entry.message, entry.continuation, deadline: entry.deadline, on: connection, state)
            } catch {
                // Not written: the next connection takes them.
                let unsent = held[(index + 1)...].map {
                    Command.publish($0.message, $0.continuation, deadline: $0.deadline)
                }
                inbox.withLockedValue { $0.commands.insert(contentsOf: unsent, at: 0) }
                throw error
            }
        }
    }

    /// Fails the publishes whose confirm timeout passed, held or written; each exactly once.
    private func expirePublishes(_ state: ThreadState, now: ContinuousClock.Instant) {
        let timeout = configuration.confirmTimeout
        let expiredHeld = state.held.filter { $0.deadline <= now }
        if !expiredHeld.isEmpty {
            state.held.removeAll { $0.deadline <= now }
            let error = AMQPError(
                code: .timeout,
                message:
                    "not published within \(timeout): the broker blocks the connection (\(state.blocked.reason ?? "-"))",
                address: configuration.redactedAddress
            )
            for entry in expiredHeld { entry.continuation.resume(throwing: error) }
        }
        let expired = state.unconfirmed.expire(now: now)
        if !expired.isEmpty {
            let error = AMQPError(
                code: .timeout,
                message: "no publisher confirm within \(timeout)",
                address: configuration.redactedAddress
            )
            for entry in expired {
                if entry.sequence == state.probeSequence { state.probeSequence = nil }
                entry.waiter?.resume(throwing: error)
            }
        }
    }

    /// The connection is gone or unblocked: a new connection starts unblocked.
    private func setUnblocked(_ state: ThreadState) {
        guard let lasted = state.blocked.unblocked(now: .now) else { return }
        inbox.withLockedValue { $0.blocked = false }
        logger.notice("amqp.connection unblocked", metadata: ["amqp.blocked_for_ms": "\(lasted.wholeMilliseconds)"])
        onStatusChange?(.unblocked)
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
        if highestInRun != nil || !outOfOrder.isEmpty {
            lastAckWritten.store(Self.unixNanoseconds(), ordering: .relaxed)
        }
    }

    /// When this client last wrote an ack frame to its socket (CLOCK_REALTIME, ns; nil before the
    /// first): `fleet bench` splits a drain's tail there, into the process's share and the broker's.
    public var lastAckWrittenUnixNanoseconds: Int64? {
        let value = lastAckWritten.load(ordering: .relaxed)
        return value == 0 ? nil : value
    }

    private static func unixNanoseconds() -> Int64 {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        return Int64(now.tv_sec) * 1_000_000_000 + Int64(now.tv_nsec)
    }

    private func handle(_ event: AMQPConnection.Event, on connection: AMQPConnection, _ state: ThreadState) throws {
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
            inbox.withLockedValue { $0.wake.delivered() }
            streams[queue]?.yield(
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
            if ack { state.lastConfirmAt = .now }
            for entry in state.unconfirmed.confirm(deliveryTag: deliveryTag, multiple: multiple) {
                guard let waiter = entry.waiter else {
                    if entry.sequence == state.probeSequence { state.probeSequence = nil }
                    continue
                }
                if let reason = entry.returnedBecause {
                    waiter.resume(
                        throwing: AMQPError(
                            code: .unroutable,
                            message: reason,
                            address: configuration.redactedAddress
                        )
                    )
                } else if ack {
                    waiter.resume()
                } else {
                    waiter.resume(
                        throwing: AMQPError(
                            code: .nacked,
                            message: "broker refused the message",
                            address: configuration.redactedAddress
                        )
                    )
                }
            }
            try writeHeld(on: connection, state)
        case .returned(let properties, let replyCode, let replyText):
            if let sequence = properties.headers[AMQPConnection.publishSequenceHeader]?.int.map({ UInt64($0) }) {
                state.unconfirmed.markReturned(
                    sequence: sequence,
                    reason: "no queue is bound for it (\(replyCode) \(replyText))"
                )
            }
        case .consumerCancelled(let consumerTag):
            // The queue was deleted: its unacked deliveries are gone with it. Look for it again.
            guard let queue = state.consumerQueues.removeValue(forKey: consumerTag) else { return }
            state.missing[queue] = MissingQueueWatch(now: .now)
            logger.warning(
                "amqp.consumer cancelled by the broker (queue deleted?), waiting for the queue",
                metadata: ["amqp.queue": "\(queue)", "amqp.address": "\(connection.addressText)"]
            )
            onStatusChange?(.queueMissing(queue: queue))
        case .blocked(let reason):
            guard state.blocked.blocked(reason: reason, now: .now) else { return }
            inbox.withLockedValue { $0.blocked = true }
            logger.warning(
                "amqp.connection blocked by the broker, holding publishes",
                metadata: ["amqp.reason": "\(reason)", "amqp.address": "\(connection.addressText)"]
            )
            onStatusChange?(.blocked(reason: reason))
            if failsFastWhenBlocked { failHeldAsBlocked(state) }
        case .unblocked:
            setUnblocked(state)
            // The probe written before the block is read now; no need to wait for its confirm.
            state.probeSequence = nil
            try writeHeld(on: connection, state)
        }
    }

    private func failUnconfirmed(_ state: ThreadState, _ error: Error) {
        for entry in state.unconfirmed.removeAll() { entry.waiter?.resume(throwing: error) }
    }

    private func failQueuedPublishes(_ error: Error) {
        let commands = inbox.withLockedValue { inbox in
            defer { inbox.commands.removeAll { if case .publish = $0 { return true } else { return false } } }
            return inbox.commands
        }
        failPublishes(in: commands, error)
    }

    private func failPublishes(in commands: [Command], _ error: Error) {
        for case .publish(_, let continuation, _) in commands { continuation.resume(throwing: error) }
    }

    /// Returns whether the socket is readable (or failed: the read then says how).
    private func poll(_ socket: Int32, milliseconds: Int32) -> Bool {
        var descriptors = [
            pollfd(fd: socket, events: Int16(POLLIN), revents: 0),
            pollfd(fd: wakeDescriptor, events: Int16(POLLIN), revents: 0),
        ]
        // An interrupted poll (EINTR) reports nothing: read anyway rather than miss input.
        guard Glibc.poll(&descriptors, 2, milliseconds) >= 0 else { return true }
        if descriptors[1].revents != 0 { drainWake() }
        return descriptors[0].revents != 0
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

extension Duration {
    /// Whole milliseconds, rounded down: for logs and poll timeouts.
    var wholeMilliseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1000 + attoseconds / 1_000_000_000_000_000
    }
}
