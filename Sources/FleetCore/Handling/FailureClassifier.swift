import AMQP
import BlockingIO
import Bolt
import MongoDB
import Postgres
import Redis

/// Decides whether a failed job is worth retrying.
public enum FailureClassifier {
    public struct Classification: Sendable, Equatable {
        public let permanent: Bool
        public let reason: String
        public let message: String
    }

    /// Store outages, timeouts and lock contention are transient; a store refusing the data
    /// (constraint, type) is permanent; anything unknown is retried, then dead-lettered with its error.
    ///
    /// Which store error is which is decided by each client's `isTransient` (``PostgresError``,
    /// ``RedisError``, ``MongoError``, ``BoltError``), where every transient code is listed with its
    /// reason. The reasons here are stable and machine-readable: `<store>_unavailable` (transient)
    /// or `<store>_rejected` (permanent), with the store's own code in the message.
    public static func classify(_ error: Error) -> Classification {
        switch error {
        case let error as JobError:
            return Classification(permanent: error.kind == .permanent, reason: error.reason, message: error.message)
        case let error as EnvelopeRejection:
            return Classification(permanent: true, reason: error.reason.description, message: error.detail)
        case let error as DeadlineExceeded:
            return Classification(permanent: false, reason: "deadline_exceeded", message: error.description)
        case let error as PostgresError:
            return Classification(
                permanent: !error.isTransient,
                reason: error.isTransient ? "postgres_unavailable" : "postgres_rejected",
                message: error.description
            )
        case let error as RedisError:
            return Classification(
                permanent: !error.isTransient,
                reason: error.isTransient ? "redis_unavailable" : "redis_rejected",
                message: error.description
            )
        case let error as MongoError:
            return Classification(
                permanent: !error.isTransient,
                reason: error.isTransient ? "mongodb_unavailable" : "mongodb_rejected",
                message: error.description
            )
        case let error as BoltError where error.code == .shutDown:
            // As BlockingPoolError for the other stores: this worker is draining, another runs the job.
            return Classification(permanent: false, reason: "shutting_down", message: error.description)
        case let error as BoltError:
            return Classification(
                permanent: !error.isTransient,
                reason: error.isTransient ? "neo4j_unavailable" : "neo4j_rejected",
                message: error.description
            )
        case let error as RedisLockError:
            return Classification(permanent: false, reason: "lock_unavailable", message: error.description)
        case let error as AMQPError:
            return Classification(permanent: !error.isTransient, reason: "broker_error", message: error.description)
        case let error as BlockingPoolError:
            return Classification(permanent: false, reason: "shutting_down", message: error.description)
        case is CancellationError:
            return Classification(permanent: false, reason: "cancelled", message: "the job was cancelled")
        default:
            return Classification(permanent: false, reason: "unexpected_error", message: String(describing: error))
        }
    }
}
