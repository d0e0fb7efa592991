import Bolt
import ClickHouse
import FleetCore
import MongoDB
import Postgres
import Redis

/// Which store error is worth a retry, for each store the fleet writes to, injected into the
/// consumer's ``FailureClassifier``.
///
/// The decision is each client's `isTransient` (``PostgresError``, ``RedisError``, ``MongoError``,
/// ``BoltError``, ``ClickHouseError``), where every transient code is listed with its reason. The reasons are
/// `<store>_unavailable` (transient) or `<store>_rejected` (permanent).
public enum StoreFailureRules {
    public static let postgres: FailureClassifier.Rule = { error in
        guard let error = error as? PostgresError else { return nil }
        return classification(error.isTransient, store: "postgres", error.description)
    }

    public static let redis: FailureClassifier.Rule = { error in
        switch error {
        case let error as RedisError:
            return classification(error.isTransient, store: "redis", error.description)
        case let error as RedisLockError:
            return .init(permanent: false, reason: "lock_unavailable", message: error.description)
        default:
            return nil
        }
    }

    public static let mongodb: FailureClassifier.Rule = { error in
        guard let error = error as? MongoError else { return nil }
        return classification(error.isTransient, store: "mongodb", error.description)
    }

    public static let neo4j: FailureClassifier.Rule = { error in
        guard let error = error as? BoltError else { return nil }
        // As BlockingPoolError for the other stores: this worker is draining, another runs the job.
        if error.code == .shutDown {
            return .init(permanent: false, reason: "shutting_down", message: error.description)
        }
        return classification(error.isTransient, store: "neo4j", error.description)
    }

    /// Connection failures, timeouts and overload codes retry; syntax errors, unknown tables and bad
    /// data dead-letter (``ClickHouseError/isTransient``).
    public static let clickhouse: FailureClassifier.Rule = { error in
        guard let error = error as? ClickHouseError else { return nil }
        return classification(error.isTransient, store: "clickhouse", error.description)
    }

    public static let all: [FailureClassifier.Rule] = [postgres, redis, mongodb, neo4j, clickhouse]

    private static func classification(
        _ transient: Bool,
        store: String,
        _ message: String
    ) -> FailureClassifier.Classification {
        .init(permanent: !transient, reason: transient ? "\(store)_unavailable" : "\(store)_rejected", message: message)
    }
}

extension FailureClassifier {
    /// The runtime's rules and every store's.
    public static let stores = FailureClassifier(rules: StoreFailureRules.all)
}
