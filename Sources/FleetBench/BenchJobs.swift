import FleetContract
import FleetCore
import Postgres
import Redis

/// Workload A's job type: no payload.
struct BenchNoOp: JobDefinition {
    static let jobType = "bench.noop"

    init() {}

    init(payload: FieldReader, version: Int) throws(EnvelopeRejection) {}

    var payload: [String: JSONValue] { [:] }

    static var payloadSchema: JSONValue {
        ContractSchema.object(
            "No payload; any members are ignored.",
            required: [],
            properties: [:],
            additionalProperties: true
        )
    }
}

/// Workload B's job type: `{key}`, the counter to increment.
struct BenchCounterWrite: JobDefinition {
    static let jobType = "bench.write"

    let key: String

    init(key: String) {
        self.key = key
    }

    init(payload: FieldReader, version: Int) throws(EnvelopeRejection) {
        key = try payload.string("key")
    }

    var payload: [String: JSONValue] { ["key": .string(key)] }

    static var payloadSchema: JSONValue {
        ContractSchema.object(
            "The counter to increment; other members are ignored.",
            required: ["key"],
            properties: ["key": ContractSchema.string("The counter's key.")],
            additionalProperties: true
        )
    }
}

/// The benchmark's job types, which its producers accept instead of the contract's.
enum BenchJobTypes {
    static let definitions: [any JobDefinition.Type] = [BenchNoOp.self, BenchCounterWrite.self]
}

/// Workload A's job: does nothing, so a run measures the fleet's own cost per job.
struct NoOpJob: JobHandler {
    static let jobType = BenchNoOp.jobType

    func handle(_ job: BenchNoOp, context: JobContext) async throws -> JobOutcome { .applied }
}

/// Workload B's job: under a Redis lock on its key, one PostgreSQL upsert of that key's counter.
/// The C baseline does the same round trips with the same Lua scripts and SQL.
struct CounterWriteJob: JobHandler {
    static let jobType = BenchCounterWrite.jobType
    static let table = "bench_counters"
    static let lockPrefix = "bench:lock:"
    static let upsert = """
        INSERT INTO \(table) (key, counter) VALUES ($1, 1)
        ON CONFLICT (key) DO UPDATE SET counter = \(table).counter + 1
        """

    let postgres: PostgresClient
    let redis: RedisClient

    func handle(_ job: BenchCounterWrite, context: JobContext) async throws -> JobOutcome {
        let key = job.key
        let lock = RedisLock(client: redis, key: Self.lockPrefix + key, lease: .seconds(5))
        try await lock.withLock(timeout: .seconds(10)) { _ in
            _ = try await postgres.query(Self.upsert, [key])
        }
        return .applied
    }
}
