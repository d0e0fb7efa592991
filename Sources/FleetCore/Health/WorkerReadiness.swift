import AMQP
import NIOConcurrencyHelpers

/// Whether a worker process can do its work now, and if not, why: what a readiness probe
/// (`/readyz`) serves. Each queue consumer reports its broker connections into it; the worker is
/// ready when no source reports a problem.
public final class WorkerReadiness: Sendable {
    /// Why a worker is not ready.
    public enum Reason: Hashable, Sendable, CustomStringConvertible {
        /// A broker connection is down (reconnecting to the next node).
        case disconnected(connection: String)
        /// The broker blocks a publishing connection (memory or disk alarm): jobs that need a
        /// publish (retry, dead-letter or delay copy) wait, with their delivery unacked.
        case brokerBlocked(connection: String, reason: String)
        /// A consumed queue does not exist (not declared yet, or deleted); looked for with backoff.
        case queueMissing(queue: String)

        public var description: String {
            switch self {
            case .disconnected(let connection): return "broker disconnected (\(connection))"
            case .brokerBlocked(let connection, let reason): return "broker blocked (\(connection)): \(reason)"
            case .queueMissing(let queue): return "queue missing: \(queue)"
            }
        }
    }

    private let reasons = NIOLockedValueBox<Set<Reason>>([])

    /// Ready until a source reports a problem.
    public init() {}

    /// True when nothing keeps the worker from its work.
    public var isReady: Bool { reasons.withLockedValue { $0.isEmpty } }

    /// The problems now, sorted by their text: empty when ready.
    public var currentReasons: [Reason] { reasons.withLockedValue { $0.sorted { $0.description < $1.description } } }

    /// Records that `reason` holds (`active`) or no longer does.
    public func set(_ reason: Reason, active: Bool) {
        reasons.withLockedValue { reasons in
            if active {
                reasons.insert(reason)
            } else {
                reasons.remove(reason)
            }
        }
    }

    /// Applies a broker client's status change for the connection named `connection` (say
    /// `fleet.learning consumer`): connected clears its disconnection, unblocked its block, a
    /// consumed queue its missing mark.
    public func apply(_ change: AMQPClient.StatusChange, connection: String) {
        reasons.withLockedValue { reasons in
            switch change {
            case .connected:
                reasons.remove(.disconnected(connection: connection))
            case .disconnected:
                reasons.insert(.disconnected(connection: connection))
                // A new connection starts unblocked, and looks for its queues again.
                reasons = reasons.filter {
                    if case .brokerBlocked(let other, _) = $0 { return other != connection }
                    return true
                }
            case .blocked(let reason):
                reasons.insert(.brokerBlocked(connection: connection, reason: reason))
            case .unblocked:
                reasons = reasons.filter {
                    if case .brokerBlocked(let other, _) = $0 { return other != connection }
                    return true
                }
            case .queueMissing(let queue):
                reasons.insert(.queueMissing(queue: queue))
            case .queueConsumed(let queue):
                reasons.remove(.queueMissing(queue: queue))
            }
        }
    }
}
