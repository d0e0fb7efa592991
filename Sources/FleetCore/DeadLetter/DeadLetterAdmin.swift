import AMQP
import FleetContract
import FleetSigning
import Foundation

/// One dead-lettered job as operators see it.
public struct DeadLetterEntry: Sendable {
    public let queue: String
    public let messageId: String?
    public let type: String?
    /// Machine-readable: `invalid_json`, `unknown_type`, `max_attempts`, `delivery_limit`, ...
    public let reason: String
    public let error: String?
    public let deadLetteredAt: String?
    public let attempts: Int
    public let body: [UInt8]
    public let headers: AMQPTable
    /// The effect committed and only ``failedStep`` kept failing (`x-fleet-applied`).
    public let applied: Bool
    public let failedStep: String?
    /// Why `replay` left this entry in the DLQ; nil when it acted on it.
    public internal(set) var heldBack: String?

    init(queue: String, delivery: AMQPDelivery) {
        let headers = delivery.properties.headers
        // A worker's dead-letter copy carries no x-death (``FleetHeaders/forDeadLetter``), and the
        // broker puts its latest dead-lettering first. So a DLQ entry whose latest x-death is not a
        // retry expiry (`delivery_limit`, `rejected`) was moved here by the broker, not copied by a
        // worker: no worker wrote its x-fleet-* headers, and a reason or error among them is the
        // producer's own. (Copies made before x-death was dropped keep only a retry expiry there.)
        var brokerReason: String?
        var cameThroughRetries = false
        if case .array(let deaths)? = headers["x-death"] {
            if case .table(let latest)? = deaths.first, let reason = latest["reason"]?.string, reason != "expired" {
                brokerReason = Self.fleetReason(forBrokerReason: reason)
            }
            cameThroughRetries = deaths.contains {
                if case .table(let death) = $0 { return death["reason"]?.string == "expired" }
                return false
            }
        }
        self.queue = queue
        self.messageId = delivery.properties.messageId
        self.type = delivery.properties.type
        if delivery.body.count > EnvelopeDecoder.maximumBytes {
            // Only the broker dead-letters a body over the cap (workers drop it unread and never
            // republish it), so any x-fleet-reason or x-fleet-error on it is the producer's own.
            self.reason = EnvelopeRejection.Reason.oversize.description
            self.error = "body is \(delivery.body.count) bytes, the limit is \(EnvelopeDecoder.maximumBytes)"
        } else if let brokerReason {
            self.reason = brokerReason
            // A retry copy's last error was written by a worker (screened on receipt); none else is.
            self.error = cameThroughRetries ? headers[FleetHeaders.lastError]?.string : nil
        } else {
            self.reason = headers[FleetHeaders.reason]?.string ?? "unknown"
            self.error = headers[FleetHeaders.error]?.string ?? headers[FleetHeaders.lastError]?.string
        }
        self.deadLetteredAt = headers[FleetHeaders.deadLetteredAt]?.string
        self.attempts = FleetHeaders.attempt(of: headers)
        self.body = delivery.body
        self.headers = headers
        self.applied = headers[FleetHeaders.applied] == .bool(true)
        self.failedStep = headers[FleetHeaders.failedStep]?.string
    }

    /// The fleet's reason for a message the broker dead-lettered with x-death `reason`. Workers
    /// reject without requeue only a body over the size cap, which they drop unread (it cannot be
    /// republished with `x-fleet-*` headers), so `rejected` means `oversize`; `delivery_limit` and
    /// the others keep the broker's word.
    static func fleetReason(forBrokerReason reason: String) -> String {
        reason == "rejected" ? EnvelopeRejection.Reason.oversize.description : reason
    }

    /// When the job first failed, which for an applied job is about when its effect committed.
    var firstFailureAt: Date? {
        (headers[FleetHeaders.firstFailureAt]?.string ?? deadLetteredAt).flatMap(RFC3339.parse)
    }
}

/// List, inspect, replay and purge dead-lettered jobs. Each operation walks a DLQ with `basic.get`
/// and manual acks: messages it does not act on stay unacked and return to the queue, in order,
/// when the connection closes; acted-on ones are acked only after a replayed copy is confirmed.
public struct DeadLetterAdmin: Sendable {
    public struct Filter: Sendable {
        public var type: String?
        public var messageId: String?
        /// Only these jobs (a selection in the dashboard); nil: any id.
        public var messageIds: Set<String>?
        /// Only entries dead-lettered for this reason (`unknown_course`, `max_attempts`, ...).
        public var reason: String?
        /// Only entries dead-lettered at or after `since` and before `until` (`x-fleet-dead-lettered-at`);
        /// an entry without that header never matches a time bound.
        public var since: Date?
        public var until: Date?
        public var limit: Int?
        /// Replay applied entries even when their dedup record may be gone (see ``run``).
        public var reapplyPastWindow: Bool

        public init(
            type: String? = nil,
            messageId: String? = nil,
            messageIds: Set<String>? = nil,
            reason: String? = nil,
            since: Date? = nil,
            until: Date? = nil,
            limit: Int? = nil,
            reapplyPastWindow: Bool = false
        ) {
            self.type = type
            self.messageId = messageId
            self.messageIds = messageIds
            self.reason = reason
            self.since = since
            self.until = until
            self.limit = limit
            self.reapplyPastWindow = reapplyPastWindow
        }

        public func matches(_ entry: DeadLetterEntry) -> Bool {
            guard type == nil || entry.type == type, messageId == nil || entry.messageId == messageId,
                reason == nil || entry.reason == reason
            else { return false }
            if let messageIds, !(entry.messageId.map { messageIds.contains($0) } ?? false) { return false }
            guard since != nil || until != nil else { return true }
            guard let at = entry.deadLetteredAt.flatMap(RFC3339.parse) else { return false }
            return (since.map { at >= $0 } ?? true) && (until.map { at < $0 } ?? true)
        }
    }

    public enum Action: Sendable {
        case list
        /// Sends matching jobs back to their work queue with a fresh attempt count.
        case replay
        case purge
    }

    public let topology: Topology
    /// Signs replayed jobs (their `x-fleet-*` headers, the old signature included, are stripped).
    public let signer: JobSigner?

    public init(topology: Topology, signer: JobSigner? = nil) {
        self.topology = topology
        self.signer = signer
    }

    /// The dead-letter queues to walk: one work queue's, or all of them.
    public func deadLetterQueues(of workQueue: String?) throws -> [Topology.Queue] {
        guard let workQueue else { return topology.queues }
        guard
            let queue = topology.queue(named: workQueue)
                ?? topology.queues.first(where: {
                    $0.deadLetterQueue == workQueue
                })
        else {
            throw ConfigurationError(
                file: "queues.yaml",
                path: "queues",
                problem: "no queue named \(workQueue)"
            )
        }
        return [queue]
    }

    /// A replayed job applied before it was dead-lettered relies on its dedup record to skip the
    /// effect and redo only the failed step. Past the job type's dedup window (less this margin for
    /// the retries before the dead-lettering) the record may be pruned and the effect would apply
    /// again, so `replay` holds such entries back unless told to reapply.
    static let replayMargin: TimeInterval = 3600

    func heldBack(_ entry: DeadLetterEntry, filter: Filter, now: Date) -> String? {
        guard entry.applied, !filter.reapplyPastWindow, let type = entry.type else { return nil }
        let window = topology.dedupWindow(of: type).timeInterval
        guard let failedAt = entry.firstFailureAt else { return "applied, and its age is unknown" }
        let age = now.timeIntervalSince(failedAt)
        guard age >= window - Self.replayMargin else { return nil }
        return
            "applied \(Int(age / 3600)) h ago, near or past its \(DurationText.format(topology.dedupWindow(of: type))) "
            + "dedup window: a replay could apply it again"
    }

    /// Applies `action` (or, with `dryRun`, only lists what it would touch) to matching entries.
    public func run(
        _ action: Action,
        queues: [Topology.Queue],
        filter: Filter,
        dryRun: Bool,
        now: Date = Date(),
        on connection: AMQPConnection
    ) throws -> [DeadLetterEntry] {
        if action == .replay && !dryRun { try connection.enableConfirms() }
        var matched: [DeadLetterEntry] = []
        for queue in queues {
            let available = try connection.declareQueue(queue.deadLetterQueue, arguments: [:], passive: true)
            for _ in 0..<available {
                if let limit = filter.limit, matched.count >= limit { break }
                guard let delivery = try connection.get(queue: queue.deadLetterQueue) else { break }
                var entry = DeadLetterEntry(queue: queue.deadLetterQueue, delivery: delivery)
                guard filter.matches(entry) else { continue }
                if action == .replay { entry.heldBack = heldBack(entry, filter: filter, now: now) }
                matched.append(entry)
                guard entry.heldBack == nil else { continue }
                guard !dryRun else { continue }
                switch action {
                case .list:
                    continue
                case .replay:
                    var properties = delivery.properties
                    properties.headers = FleetHeaders.forReplay(properties.headers)
                    if let signer { properties.headers = signer.signed(properties.headers, body: delivery.body) }
                    properties.expiration = nil
                    properties.deliveryMode = 2
                    try connection.publishConfirmed(
                        AMQPOutgoingMessage(
                            exchange: "",
                            routingKey: queue.name,
                            properties: properties,
                            body: delivery.body
                        )
                    )
                    try connection.ack(delivery.deliveryTag)
                case .purge:
                    try connection.ack(delivery.deliveryTag)
                }
            }
        }
        return matched
    }
}
