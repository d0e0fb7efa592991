import FleetCore
import Postgres
import Redis

/// Workload A's job: does nothing, so a run measures the fleet's own cost per job.
struct NoOpJob: JobHandler {
    static let jobType = "bench.noop"

    func parse(_ payload: FieldReader, version: Int) throws(EnvelopeRejection) {}

    func handle(_ payload: Void, context: JobContext) async throws -> JobOutcome { .applied }
}

/// Workload B's job: under a Redis lock on its key, one PostgreSQL upsert of that key's counter.
/// The C baseline does the same round trips with the same Lua scripts and SQL.
struct CounterWriteJob: JobHandler {
    static let jobType = "bench.write"
    static let table = "bench_counters"
    static let lockPrefix = "bench:lock:"
    static let upsert = """
        INSERT INTO \(table) (key, counter) VALUES ($1, 1)
        ON CONFLICT (key) DO UPDATE SET counter = \(table).counter + 1
        """

    let postgres: PostgresClient
    let redis: RedisClient

    func parse(_ payload: FieldReader, version: Int) throws(EnvelopeRejection) -> String {
        try payload.string("key")
    }

    func handle(_ key: String, context: JobContext) async throws -> JobOutcome {
        let lock = RedisLock(client: redis, key: Self.lockPrefix + key, lease: .seconds(5))
        try await lock.withLock(timeout: .seconds(10)) { _ in
            _ = try await postgres.query(Self.upsert, [key])
        }
        return .applied
    }
}
