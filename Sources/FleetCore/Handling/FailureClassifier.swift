import AMQP
import BlockingIO
import FleetContract

/// Decides whether a failed job is worth retrying.
///
/// The runtime knows its own errors (``JobError``, rejections, deadlines, the broker, shutdown);
/// which store error is which is decided beside each store and injected as ``Rule``s (FleetStoreKit's
/// `StoreFailureRules`), so this module links no store client.
public struct FailureClassifier: Sendable {
    public struct Classification: Sendable, Equatable {
        public let permanent: Bool
        public let reason: String
        public let message: String

        public init(permanent: Bool, reason: String, message: String) {
            self.permanent = permanent
            self.reason = reason
            self.message = message
        }
    }

    /// Classifies the errors of one store (or other dependency), or returns nil for other errors.
    public typealias Rule = @Sendable (any Error) -> Classification?

    private let rules: [Rule]

    /// - Parameter rules: tried in order after the runtime's own errors, before the fallback.
    public init(rules: [Rule] = []) {
        self.rules = rules
    }

    /// Store outages, timeouts and lock contention are transient; a store refusing the data
    /// (constraint, type) is permanent; anything unknown is retried, then dead-lettered with its error.
    ///
    /// The reasons are stable and machine-readable: `<store>_unavailable` (transient) or
    /// `<store>_rejected` (permanent), with the store's own code in the message.
    public func classify(_ error: any Error) -> Classification {
        switch error {
        case let error as JobError:
            return Classification(permanent: error.kind == .permanent, reason: error.reason, message: error.message)
        case let error as EnvelopeRejection:
            return Classification(permanent: true, reason: error.reason.description, message: error.detail)
        case let error as DeadlineExceeded:
            return Classification(permanent: false, reason: "deadline_exceeded", message: error.description)
        case let error as AMQPError:
            return Classification(permanent: !error.isTransient, reason: "broker_error", message: error.description)
        case let error as BlockingPoolError:
            // This worker is draining: another runs the job.
            return Classification(permanent: false, reason: "shutting_down", message: error.description)
        case is CancellationError:
            return Classification(permanent: false, reason: "cancelled", message: "the job was cancelled")
        default:
            for rule in rules {
                if let classification = rule(error) { return classification }
            }
            return Classification(permanent: false, reason: "unexpected_error", message: String(describing: error))
        }
    }
}
