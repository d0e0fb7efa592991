import AMQP
import BlockingIO
import FleetContract
import FleetSigning
import Foundation
import Logging
import Metrics
import ServiceLifecycle
import Synchronization
import Tracing

/// Consumes one work queue: decodes each delivery, runs its handler under the type's deadline with
/// bounded concurrency, and settles it: ack on success, retry queue on a transient failure,
/// dead-letter queue on a permanent one or after the last attempt.
///
/// A delivery is acked only after its outcome is durable: the handler committed, or the retry or
/// dead-letter copy was confirmed by the broker. A crash at any point therefore leaves the message
/// unacked and the broker redelivers it; handlers being idempotent, nothing applies twice.
///
/// Deliveries and acks travel on one broker connection, the copies on another, publish-only one:
/// during a memory or disk alarm the broker blocks only connections that publish, so acks keep
/// flowing. While the copies' connection is blocked, a job whose copy must wait is parked: its
/// delivery stays unacked (it holds a prefetch slot, not a concurrency slot) and its copy is
/// published, then the delivery acked, once the alarm clears.
///
/// On graceful shutdown it stops consuming, lets in-flight jobs finish for `drainTimeout`, then
/// abandons the rest (parked ones included) unacked for redelivery, and closes both connections
/// within a few seconds whatever the broker does.
public struct QueueConsumer: Service {
    public let queue: Topology.Queue
    public let topology: Topology
    public let concurrency: Int
    public let drainTimeout: Duration
    private let registry: JobRegistry
    private let classifier: FailureClassifier
    private let decoder: EnvelopeDecoder
    /// The AMQP property and queue checks around the body (`invalid_content_type`, `type_mismatch`,
    /// `wrong_queue`).
    private let screen: DeliveryScreen
    /// Verifies deliveries (mode `permissive` or `required`) and signs the copies this consumer makes.
    private let signing: SigningSettings
    /// This queue's retry queues: an `x-death` from one of them makes the fleet headers trusted.
    private let retryQueues: Set<String>
    /// `fleet_jobs_unsigned_total{queue}` and `fleet_jobs_bad_signature_total{queue}`.
    private let unsignedJobs: Counter
    private let badSignatureJobs: Counter
    /// Consumes the queue and acks: never publishes, so a broker alarm never blocks it.
    private let client: AMQPClient
    /// Publishes the retry, dead-letter and delay copies. One per consumer rather than per worker
    /// process: a blocked or lost publisher then parks only its own queue's copies, and the
    /// connection count stays two per queue.
    private let publisher: AMQPClient
    /// Closed while the broker blocks ``publisher``.
    private let publishGate: PublishGate
    /// Copies that wait for the gate, handed from job tasks to ``runParkedCopies()``.
    private let parkedCopies: AsyncStream<ParkedCopy>
    private let parkSink: AsyncStream<ParkedCopy>.Continuation
    /// Where this consumer reports its broker problems (blocked, disconnected, queue missing).
    public let readiness: WorkerReadiness
    private let stats: FleetStats
    private let logger: Logger
    /// Threads that may block, one per running job, for handlers that call blocking stores.
    private let executors: BlockingExecutors?
    /// Told of every job that finished here (``FinishedJob``).
    private let onJobFinished: JobFinishedObserver?
    /// `fleet_jobs_in_flight{queue}`: deliveries being processed now; made once, updated per job.
    private let inFlight: Meter

    /// - Parameter jobsBlock: the queue's handlers call stores through blocking C clients
    ///   (PostgreSQL, Redis, MongoDB). Each running job then gets a thread that may block
    ///   (``BlockingExecutor``), where its store calls run without a hand-off each; off by default,
    ///   so that a worker whose jobs never block starts no such thread.
    /// - Parameter classifier: decides retry or dead-letter for a failure; give it the rules of the
    ///   stores the handlers use (FleetStoreKit's `FailureClassifier.stores`). Required: without
    ///   them a store's outage or refusal would be an `unexpected_error`.
    /// - Parameter onJobFinished: told of each job that finished (applied, rejected, retried,
    ///   dead-lettered), on the job's task; it must not wait.
    /// - Parameter signing: the signing mode and keys (``FleetSigning/SigningSettings``): which
    ///   deliveries must be signed, and the key that signs this consumer's retry, delay and
    ///   dead-letter copies.
    public init(
        queue: Topology.Queue,
        topology: Topology,
        registry: JobRegistry,
        classifier: FailureClassifier,
        amqp: AMQPConfiguration,
        concurrency: Int? = nil,
        drainTimeout: Duration = .seconds(20),
        jobsBlock: Bool = false,
        stats: FleetStats,
        readiness: WorkerReadiness = WorkerReadiness(),
        logger: Logger,
        signing: SigningSettings = .off,
        onJobFinished: JobFinishedObserver? = nil
    ) {
        self.onJobFinished = onJobFinished
        self.signing = signing
        self.retryQueues = Set(topology.retry.delays.map { queue.retryQueue(delay: $0) })
        unsignedJobs = Counter(label: "fleet_jobs_unsigned_total", dimensions: [("queue", queue.name)])
        badSignatureJobs = Counter(label: "fleet_jobs_bad_signature_total", dimensions: [("queue", queue.name)])
        self.queue = queue
        self.topology = topology
        self.registry = registry
        self.classifier = classifier
        self.decoder = registry.decoder
        self.screen = DeliveryScreen(queue: queue)
        self.concurrency = max(1, concurrency ?? queue.concurrency)
        self.drainTimeout = drainTimeout
        self.stats = stats
        self.executors = jobsBlock ? BlockingExecutors(limit: self.concurrency) : nil
        var logger = logger
        logger[metadataKey: "queue"] = "\(queue.name)"
        self.logger = logger
        self.readiness = readiness
        let consumerName = "\(queue.name) consumer"
        let publisherName = "\(queue.name) publisher"
        let consumerMetrics = BrokerConnectionMetrics(connection: consumerName)
        let publisherMetrics = BrokerConnectionMetrics(connection: publisherName)
        inFlight = Meter(label: "fleet_jobs_in_flight", dimensions: [("queue", queue.name)])
        // Not ready until each connection came up once.
        readiness.set(.disconnected(connection: consumerName), active: true)
        readiness.set(.disconnected(connection: publisherName), active: true)
        self.client = AMQPClient(
            configuration: amqp,
            subscriptions: [
                .init(
                    queue: queue.name,
                    prefetch: UInt16(queue.prefetch),
                    maxBodySize: EnvelopeDecoder.maximumBytes,
                    ackDelay: queue.ackDelay
                )
            ],
            logger: logger
        ) { change in
            readiness.apply(change, connection: consumerName)
            consumerMetrics.apply(change)
        }
        let gate = PublishGate()
        self.publishGate = gate
        var publisherLogger = logger
        publisherLogger[metadataKey: "amqp.role"] = "copies"
        self.publisher = AMQPClient(
            configuration: amqp,
            logger: publisherLogger,
            probesBeforePublishing: true,
            probeExchange: topology.copiesExchange,
            failsFastWhenBlocked: true
        ) { change in
            readiness.apply(change, connection: publisherName)
            publisherMetrics.apply(change)
            switch change {
            case .blocked: gate.setOpen(false)
            case .unblocked, .disconnected: gate.setOpen(true)
            default: break
            }
        }
        (parkedCopies, parkSink) = AsyncStream.makeStream(of: ParkedCopy.self)
    }

    public func run() async throws {
        client.start()
        publisher.start()
        let labels = [("queue", queue.name)]
        Gauge(label: "fleet_consumer_concurrency", dimensions: labels).record(concurrency)
        Gauge(label: "fleet_consumer_prefetch", dimensions: labels).record(queue.prefetch)
        inFlight.set(0)
        logger.info("fleet.consumer started", metadata: ["concurrency": "\(concurrency)"])
        await withGracefulShutdownHandler {
            await withTaskGroup(of: Void.self) { group in
                group.addTask { await runParkedCopies() }
                await consumeAll()
                // Parked copies wait for an alarm to clear: leave their deliveries for redelivery.
                // Closing the publisher first fails the copies it holds, so no task waits on them.
                publisher.beginShutdown()
                parkSink.finish()
                group.cancelAll()
            }
        } onGracefulShutdown: {
            client.stopConsuming()
        }
        async let consumerClosed: Void = client.shutdown(within: Self.closeTimeout)
        async let publisherClosed: Void = publisher.shutdown(within: Self.closeTimeout)
        _ = await (consumerClosed, publisherClosed)
        await executors?.shutdown()
        logger.info("fleet.consumer stopped")
    }

    /// When this consumer last wrote an ack frame to the broker (CLOCK_REALTIME, ns; nil before the
    /// first), for `fleet bench`'s split of a drain's tail.
    public var lastAckWrittenUnixNanoseconds: Int64? { client.lastAckWrittenUnixNanoseconds }

    /// How long closing the broker connections may take after the drain: a blocked or silent
    /// broker does not hold up shutdown longer (the broker requeues what stayed unacked).
    static let closeTimeout = Duration.seconds(5)

    /// A copy (retry, dead letter, delay) that waits for the broker to unblock the publisher.
    struct ParkedCopy: Sendable {
        let delivery: AMQPDelivery
        let target: String
        let properties: AMQPProperties
        let outcome: FleetStats.Outcome
        let type: String
        let reason: String?
    }

    /// Publishes each parked copy once the gate opens, then acks its delivery; until cancelled at
    /// shutdown, when the deliveries still parked stay unacked for redelivery.
    private func runParkedCopies() async {
        await withDiscardingTaskGroup { group in
            for await copy in parkedCopies {
                group.addTask {
                    while true {
                        do {
                            try await publishGate.waitUntilOpen()
                        } catch {
                            stats.record(.requeued, type: copy.type, queue: queue.name)
                            return
                        }
                        // Its connection is gone meanwhile: the broker redelivers it.
                        guard client.isCurrent(copy.delivery) else {
                            stats.record(.requeued, type: copy.type, queue: queue.name)
                            return
                        }
                        let parkedAgain = await republish(
                            copy.delivery,
                            to: copy.target,
                            properties: copy.properties,
                            outcome: copy.outcome,
                            type: copy.type,
                            reason: copy.reason,
                            parkWhenBlocked: false
                        )
                        if !parkedAgain { return }
                    }
                }
            }
        }
    }

    private enum Finished { case slotEnded, drainTimeout }

    /// How many slots run a job now.
    private final class BusySlots: Sendable {
        private let jobs = Atomic<Int>(0)
        var count: Int { jobs.load(ordering: .relaxed) }
        func add(_ change: Int) { jobs.add(change, ordering: .relaxed) }
    }

    /// How long a refused retry or dead-letter copy is published again before its delivery is
    /// requeued (far below RabbitMQ's 30-minute `consumer_timeout`).
    static let refusedCopyPatience = Duration.seconds(300)

    private func consumeAll() async {
        // At concurrency 1 with blocking stores, the one slot's task, its jobs and their store calls run on
        // one thread that may block, as the C writer does: measured, each hand-off between Swift's
        // pool and that thread cost two context switches and a wake-up's latency per job. Each job is
        // still a task under its deadline; a store call stuck past it sends the waiting tasks to
        // Swift's pool (``BlockingExecutor``), so the job settles on time as before.
        if concurrency == 1, let executors, let executor = executors.lease() {
            await withTaskExecutorPreference(executor) { await consumeDeliveries(holding: executor) }
            executors.giveBack(executor)
        } else if slotsOnConnectionThread {
            // Jobs that never block: the slots, and each job up to its first suspension, run on the
            // connection thread (``ConnectionThreadExecutor``), which reads, runs and acks as the C
            // consumer does: no delivery handed to Swift's pool, no ack handed back. Measured on the
            // no-op drain: 15–16 µs of CPU a job instead of 22–23. Not for jobs that block: there the
            // sixteen executor threads' completions each woke the connection thread, and B at
            // concurrency 16 ran 1.96× the C writer against 2.42× with the slots on the pool.
            await withTaskExecutorPreference(client.executor) { await consumeDeliveries(holding: nil) }
        } else {
            await consumeDeliveries(holding: nil)
        }
    }

    /// `executor`: the one its jobs run on (a consumer at concurrency 1 holds it for its whole run;
    /// nil: each job leases one for its body). Running the whole job on a leased executor instead
    /// (decode and settlement too) was measured at concurrency 16: 5–10% slower, its sixteen threads
    /// switching among themselves.
    ///
    /// One task per slot, each taking the next delivery when its job is done: a job costs no child
    /// task in this group (its body still runs in a task of its own, under its deadline), nor a
    /// wake-up of a loop that hands it out. A slot's task waits for the broker only when that slot is
    /// idle, the moment the client sends the acks it holds (`AckWakePolicy.starved()`).
    private func consumeDeliveries(holding executor: BlockingExecutor?) async {
        let deliveries = client.deliveries(of: queue.name)
        let busy = BusySlots()
        await withTaskGroup(of: Finished.self) { group in
            for _ in 0..<concurrency {
                group.addTask {
                    for await delivery in deliveries {
                        busy.add(1)
                        await process(delivery, holding: executor)
                        busy.add(-1)
                        if slotsOnConnectionThread { await client.yieldToConnection() }
                    }
                    return .slotEnded
                }
            }
            // The first slot to find no more deliveries means consuming stopped: the jobs still
            // running get the drain timeout, then what is left is cancelled.
            var running = concurrency
            var draining = false
            while let finished = await group.next() {
                switch finished {
                case .slotEnded:
                    running -= 1
                    if running == 0 {
                        group.cancelAll()
                    } else if !draining {
                        draining = true
                        // Idle slots end at once: only a job still running makes this a drain to log.
                        let inFlight = busy.count
                        if inFlight > 0 {
                            logger.info("fleet.consumer draining", metadata: ["in_flight": "\(inFlight)"])
                        }
                        group.addTask {
                            try? await Task.sleep(for: drainTimeout)
                            return .drainTimeout
                        }
                    }
                case .drainTimeout:
                    guard running > 0 else { break }
                    logger.warning(
                        "fleet.consumer drain timeout, leaving jobs for redelivery",
                        metadata: ["in_flight": "\(running)"]
                    )
                    // A job waiting for a confirm the broker will not send (blocked) ends now.
                    publisher.beginShutdown()
                    group.cancelAll()
                }
            }
        }
    }

    /// Jobs that never block (no blocking executors): the slots run on the connection thread
    /// (``consumeAll()``) and step aside for its passes (``AMQPClient/yieldToConnection()``).
    private var slotsOnConnectionThread: Bool { executors == nil }

    // MARK: - One delivery

    nonisolated(nonsending) func process(_ delivery: AMQPDelivery, holding executor: BlockingExecutor? = nil) async {
        // Its connection is gone and the broker redelivers it: this copy must not run too.
        guard client.isCurrent(delivery) else { return }
        inFlight.increment()
        defer { inFlight.decrement() }
        guard let span = JobTracing.start(delivery.properties.headers, queue: queue.name) else {
            _ = await handle(delivery, span: nil, holding: executor)
            return
        }
        // The job's span is the current context while it runs: store calls become its children.
        let (outcome, reason) = await InstrumentationContext.$current.withValue(span.context) {
            await handle(delivery, span: span, holding: executor)
        }
        JobTracing.finish(span, outcome: outcome, reason: reason)
    }

    /// Runs and settles one delivery; returns its outcome (``FinishedJob/Outcome``, or `delayed`,
    /// `requeued`) and the dead-letter or retry reason, for the job's span.
    nonisolated(nonsending) private func handle(
        _ delivery: AMQPDelivery,
        span: (any Span)?,
        holding executor: BlockingExecutor?
    ) async -> (String, String?) {
        let arrived = ContinuousClock.now
        if let size = delivery.oversizeBodySize {
            stats.started(type: metricType(delivery.properties.type), queue: queue.name)
            rejectOversize(delivery, size: size)
            return (FinishedJob.Outcome.rejected.rawValue, "oversize")
        }
        let (signatureRejection, verified) = checkSignature(delivery)
        // Untrusted fleet headers are dropped here, before any copy of the job can carry them on.
        let trust = FleetHeaderTrust.screen(
            delivery.properties.headers,
            signatureVerified: verified,
            retryQueues: retryQueues
        )
        let attempt = trust.attempt
        var screened = delivery.properties
        screened.headers = trust.headers
        let prepared: JobRegistry.PreparedJob
        do throws(EnvelopeRejection) {
            // The contract's check order: signature, properties, body, the body's type against the
            // properties and this queue, then the payload. A worker runs only its own queue's job types.
            if let signatureRejection { throw signatureRejection }
            try screen.checkProperties(delivery.properties)
            let envelope = try decoder.decode(delivery.body)
            try screen.checkRouting(bodyType: envelope.type, properties: delivery.properties)
            prepared = try registry.prepare(envelope)
        } catch {
            stats.started(type: metricType(delivery.properties.type), queue: queue.name)
            logger.error(
                "fleet.job rejected",
                metadata: [
                    "job.message_id": "\(delivery.properties.messageId ?? "-")", "reason": "\(error.reason)",
                    "error": "\(error.detail)", "outcome": "dead_lettered",
                ]
            )
            await deadLetter(
                delivery,
                properties: screened,
                type: metricType(delivery.properties.type),
                reason: error.reason.description,
                detail: error.detail
            )
            finished(metricType(delivery.properties.type), .rejected, since: arrived, reason: error.reason.description)
            return (FinishedJob.Outcome.rejected.rawValue, error.reason.description)
        }
        let envelope = prepared.envelope
        stats.started(type: envelope.type, queue: queue.name)
        JobTracing.describe(span, id: envelope.id, type: envelope.type, attempt: attempt)
        let context = JobContext(
            envelope: envelope,
            attempt: attempt,
            traceparent: JobTracing.traceparent(
                of: span,
                carried: delivery.properties.headers[FleetHeaders.traceparent]?.string
            ),
            classifier: classifier,
            logger: logger
        )

        if let notBefore = prepared.notBefore, notBefore > Date() {
            await delay(delivery, properties: screened, type: envelope.type, until: notBefore, logger: context.logger)
            return (FleetStats.Outcome.delayed.rawValue, nil)
        }

        let started = ContinuousClock.now
        do {
            let outcome = try await withDeadline(topology.deadline(of: envelope.type), on: executors, held: executor) {
                try await prepared.run(context)
            }
            client.ack(delivery)
            stats.record(
                outcome == .applied ? .applied : .alreadyApplied,
                type: envelope.type,
                queue: queue.name,
                duration: ContinuousClock.now - started,
                receivedAt: delivery.receivedAt
            )
            if logger.logLevel <= .debug {
                context.logger.debug(
                    "fleet.job done",
                    metadata: ["outcome": "\(outcome.rawValue)", "duration_ms": "\(Self.milliseconds(since: started))"]
                )
            }
            let finishedAs: FinishedJob.Outcome = outcome == .applied ? .applied : .alreadyApplied
            // On the connection thread, a full ack batch or the last ack goes before the job's
            // observer runs: a performance_metrics row that fills its batch starts the batch's write
            // on other threads, and on two busy cores those took the CPU from the thread about to
            // send the ack (the last ack of a drain written up to 8 ms after the last job).
            if slotsOnConnectionThread { await client.yieldToConnection() }
            finished(envelope.type, finishedAs, since: arrived, reason: nil)
            return (finishedAs.rawValue, nil)
        } catch {
            if Task.isCancelled {
                // Shutting down: leave it unacked; the broker redelivers it to another worker.
                stats.record(.requeued, type: envelope.type, queue: queue.name)
                return (FleetStats.Outcome.requeued.rawValue, nil)
            }
            var failureLogger = context.logger
            failureLogger[metadataKey: "duration_ms"] = "\(Self.milliseconds(since: started))"
            let settled = await settleFailure(
                delivery,
                properties: screened,
                envelope: envelope,
                attempt: attempt,
                error: error,
                logger: failureLogger
            )
            finished(envelope.type, settled.outcome, since: arrived, reason: settled.reason)
            return (settled.outcome.rawValue, settled.reason)
        }
    }

    /// Verifies the delivery's signature in modes `permissive` and `required`; returns the
    /// `bad_signature` rejection (mode `required` only) and whether the signature verified. Mode
    /// `off` verifies nothing. Unsigned and badly signed jobs are counted and, when run, logged.
    private func checkSignature(_ delivery: AMQPDelivery) -> (EnvelopeRejection?, verified: Bool) {
        guard signing.mode != .off else { return (nil, false) }
        let verdict = signing.verifier?.verify(delivery.properties.headers, body: delivery.body) ?? .unsigned
        if verdict.isVerified { return (nil, true) }
        (verdict == .unsigned ? unsignedJobs : badSignatureJobs).increment()
        if signing.mode == .required {
            return (EnvelopeRejection(.badSignature, verdict.explanation), false)
        }
        logger.warning(
            "fleet.job signature not verified, running it with untrusted fleet headers",
            metadata: [
                "job.message_id": "\(delivery.properties.messageId ?? "-")",
                "signature": "\(verdict.explanation)",
            ]
        )
        return (nil, false)
    }

    /// A job's run time in whole milliseconds, for its log lines.
    private static func milliseconds(since start: ContinuousClock.Instant) -> Int64 {
        let elapsed = ContinuousClock.now - start
        return elapsed.components.seconds * 1000 + elapsed.components.attoseconds / 1_000_000_000_000_000
    }

    private func finished(
        _ type: String,
        _ outcome: FinishedJob.Outcome,
        since: ContinuousClock.Instant,
        reason: String?
    ) {
        guard let onJobFinished else { return }
        onJobFinished(
            FinishedJob(type: type, queue: queue.name, outcome: outcome, duration: .now - since, reason: reason)
        )
    }

    /// Retries or dead-letters the delivery; returns which, with the failure's reason.
    private func settleFailure(
        _ delivery: AMQPDelivery,
        properties screened: AMQPProperties,
        envelope: JobEnvelope,
        attempt: Int,
        error: Error,
        logger: Logger
    ) async -> (outcome: FinishedJob.Outcome, reason: String) {
        let failure = classifier.classify(error)
        let failedStep = (error as? JobError)?.failedStepAfterEffect
        let decision: RetrySchedule.Decision =
            failure.permanent
            ? .deadLetter : topology.retry.afterFailure(ofAttempt: attempt, random: .random(in: 0..<1))
        switch decision {
        case .retry(let tier, let delay):
            logger.warning(
                "fleet.job failed, will retry",
                metadata: [
                    "outcome": "retried", "reason": "\(failure.reason)", "error": "\(failure.message)",
                    "retry_in_ms": "\(delay.milliseconds)",
                ]
            )
            var properties = screened
            properties.headers = FleetHeaders.forRetry(
                properties.headers,
                failedAttempt: attempt,
                error: "\(failure.reason): \(failure.message)",
                failedStep: failedStep,
                now: Date()
            )
            properties.expiration = String(delay.milliseconds)
            let target = queue.retryQueue(delay: topology.retry.delays[tier])
            await republish(delivery, to: target, properties: properties, outcome: .retried, type: envelope.type)
            return (.retried, failure.reason)
        case .deadLetter:
            let reason = failure.permanent ? failure.reason : "max_attempts"
            let detail =
                failure.permanent
                ? failure.message : "failed \(attempt) attempts; last error: \(failure.reason): \(failure.message)"
            logger.error(
                "fleet.job dead-lettered",
                metadata: [
                    "outcome": "dead_lettered", "reason": "\(reason)", "error": "\(detail)",
                    "failed_step": "\(failedStep ?? "-")",
                ]
            )
            await deadLetter(
                delivery,
                properties: screened,
                type: envelope.type,
                reason: reason,
                detail: detail,
                failedStep: failedStep
            )
            return (.deadLettered, reason)
        }
    }

    private func delay(
        _ delivery: AMQPDelivery,
        properties screened: AMQPProperties,
        type: String,
        until notBefore: Date,
        logger: Logger
    ) async {
        let remaining = Duration.milliseconds(Int64((notBefore.timeIntervalSinceNow * 1000).rounded(.up)))
        let hop = topology.retry.delayHop(remaining: remaining)
        var properties = screened
        properties.expiration = String(hop.delay.milliseconds)
        logger.debug(
            "fleet.job delayed",
            metadata: ["outcome": "delayed", "not_before": "\(RFC3339.format(notBefore))"]
        )
        await republish(
            delivery,
            to: queue.retryQueue(delay: topology.retry.delays[hop.tier]),
            properties: properties,
            outcome: .delayed,
            type: type
        )
    }

    /// Metrics are labelled only with this worker's job types: the AMQP `type` of a rejected
    /// message is whatever its publisher wrote.
    private func metricType(_ type: String?) -> String {
        guard let type, registry.knownVersions[type] != nil else { return "unknown" }
        return type
    }

    /// A body over the contract's cap was dropped unread (``AMQPDelivery/oversizeBodySize``): this
    /// worker cannot republish it, so it rejects it without requeue and the broker dead-letters the
    /// whole message to the queue's DLQ (x-death reason `rejected`, which the fleet uses for nothing
    /// else: `fleet dlq` reports it as `oversize`).
    private func rejectOversize(_ delivery: AMQPDelivery, size: UInt64) {
        logger.error(
            "fleet.job rejected",
            metadata: [
                "job.message_id": "\(delivery.properties.messageId ?? "-")", "reason": "oversize",
                "error": "body is \(size) bytes, the limit is \(EnvelopeDecoder.maximumBytes)",
            ]
        )
        client.reject(delivery, requeue: false)
        stats.record(.deadLettered, type: metricType(delivery.properties.type), queue: queue.name, reason: "oversize")
    }

    /// `failedStep`: the job's effect committed and this step kept failing; the dead letter says
    /// so (`x-fleet-applied`), and a replay finds the effect recorded and redoes only the step.
    private func deadLetter(
        _ delivery: AMQPDelivery,
        properties screened: AMQPProperties,
        type: String,
        reason: String,
        detail: String,
        failedStep: String? = nil
    ) async {
        var properties = screened
        properties.headers = FleetHeaders.forDeadLetter(
            properties.headers,
            reason: reason,
            error: detail,
            queue: queue.name,
            failedStep: failedStep,
            now: Date()
        )
        properties.expiration = nil
        await republish(
            delivery,
            to: queue.deadLetterQueue,
            properties: properties,
            outcome: .deadLettered,
            type: type,
            reason: reason
        )
    }

    /// Publishes the changed copy, waits for the broker's confirm, and only then acks the original.
    ///
    /// A copy the broker refuses while the connection lives (returned as unroutable, nacked: the
    /// retry queue is missing or full) is published again after a growing pause
    /// (``RepublishBackoff``), never requeued: a requeued delivery comes straight back and fails
    /// again, looping until the delivery limit dead-letters it without its error. When the
    /// connection is lost, or the worker stops, the delivery is left unacked for the broker to
    /// redeliver. A copy still refused after ``refusedCopyPatience`` (its queue deleted for good, say)
    /// is requeued, well before the broker's `consumer_timeout` would close the channel: one more
    /// run of the job every few minutes, not a hot loop, and its slot is freed for healthy jobs.
    ///
    /// While the broker blocks the publisher, the copy is parked instead (``ParkedCopy``): this job
    /// task returns and frees its concurrency slot. Returns true when it parked the copy (only with
    /// `parkWhenBlocked` false: the caller, already a parked copy's task, waits for the gate again).
    @discardableResult
    private func republish(
        _ delivery: AMQPDelivery,
        to target: String,
        properties: AMQPProperties,
        outcome: FleetStats.Outcome,
        type: String,
        reason: String? = nil,
        parkWhenBlocked: Bool = true
    ) async -> Bool {
        var properties = properties
        properties.deliveryMode = 2
        // The copy's headers changed: sign it again, or drop a signature that no longer matches.
        properties.headers =
            signing.signer?.signed(properties.headers, body: delivery.body) ?? JobSigner.unsigned(properties.headers)
        var backoff = RepublishBackoff()
        let firstTry = ContinuousClock.now
        func park() -> Bool {
            if parkWhenBlocked {
                logger.debug("fleet.job copy parked until the broker unblocks", metadata: ["target": "\(target)"])
                parkSink.yield(
                    ParkedCopy(
                        delivery: delivery,
                        target: target,
                        properties: properties,
                        outcome: outcome,
                        type: type,
                        reason: reason
                    )
                )
                return false
            }
            return true
        }
        while true {
            if !publishGate.isOpen || publisher.isBlocked { return park() }
            do {
                try await publisher.publish(
                    AMQPOutgoingMessage(
                        exchange: topology.copiesExchange,
                        routingKey: target,
                        properties: properties,
                        body: delivery.body
                    )
                )
                client.ack(delivery)
                stats.record(outcome, type: type, queue: queue.name, receivedAt: delivery.receivedAt, reason: reason)
                return false
            } catch {
                // Not written because the broker blocks the publisher: publishing it later is safe.
                if let amqpError = error as? AMQPError, amqpError.code == .blocked, !Task.isCancelled {
                    return park()
                }
                guard client.isCurrent(delivery), !Task.isCancelled else {
                    logger.error(
                        "fleet.job could not be moved, leaving it for redelivery",
                        metadata: ["target": "\(target)", "error": "\(error)"]
                    )
                    stats.record(.requeued, type: type, queue: queue.name)
                    return false
                }
                guard ContinuousClock.now - firstTry < Self.refusedCopyPatience else {
                    logger.error(
                        "fleet.job copy still refused, returning the delivery to its queue",
                        metadata: ["target": "\(target)", "error": "\(error)", "attempts": "\(backoff.failures)"]
                    )
                    client.reject(delivery, requeue: true)
                    stats.record(.requeued, type: type, queue: queue.name)
                    return false
                }
                let pause = backoff.next(random: .random(in: 0..<1))
                logger.error(
                    "fleet.job copy refused by the broker, publishing it again",
                    metadata: [
                        "target": "\(target)", "error": "\(error)", "attempt": "\(backoff.failures)",
                        "retry_in_ms": "\(pause.milliseconds)",
                    ]
                )
                do {
                    try await Task.sleep(for: pause)
                } catch {
                    stats.record(.requeued, type: type, queue: queue.name)
                    return false  // shutting down: unacked, redelivered
                }
            }
        }
    }
}
