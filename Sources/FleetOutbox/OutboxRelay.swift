import AMQP
import Dispatch
import FleetProducer
import Foundation
import Logging
import Postgres
import Synchronization

/// Publishes the rows of `fleet_outbox` with publisher confirms, in order per ordering key, and
/// marks them sent (`fleet outbox relay`). Any number of relays may run against one table.
///
/// **One batch** is one transaction on the outbox database:
/// 1. Claim: among the oldest unsent rows (a window of ten batches, in `seq` order), take the first
///    row of each ordering key (its head) with `FOR UPDATE SKIP LOCKED`, at most `batchSize`;
///    then the following unsent rows of the claimed keys, in `seq` order, up to `batchSize` in all.
/// 2. Publish: keys in parallel, each key's rows one after the other, each awaiting its confirm
///    before the next is sent (`mandatory`, through `JobProducer.publish`, which retries a lost
///    connection briefly).
/// 3. Mark: confirmed rows get `sent_at`; then commit.
///
/// **No row is published by two relays at once.** A relay holds the row lock on the head of each
/// key it works on until it commits. Another relay skips a locked head, and a later row of that key
/// is never a head for it: its snapshot still shows the locked head unsent (the writer's advisory
/// lock makes every snapshot show a prefix of each key's rows, see ``Outbox``). A head that another
/// relay has meanwhile marked sent fails the re-checked `sent_at IS NULL` under `FOR UPDATE` and
/// is skipped as well. A relay that dies loses its locks with its connection, so its rows are free
/// at once.
///
/// **Duplicates.** A relay that dies (or whose commit fails) after the broker confirmed a row but
/// before the mark commits leaves the row unsent: it is published again later, byte for byte the
/// same envelope, which the workers apply once (the envelope id, or its idempotency key, is the
/// job's dedup key). Per key, the first copies still arrive in `seq` order.
///
/// **Failures.** A row the broker returns as unroutable (no queue bound for its type) is marked
/// failed (`failed_at`, `failure` = the reason) and kept for an operator; so is a row the broker
/// refuses with 406 PRECONDITION_FAILED (e.g. over its `max_message_size`) and a row whose stored
/// envelope cannot be read. The key's later rows go on without it. An operator re-sends a failed
/// row with `UPDATE fleet_outbox SET failed_at = NULL, failure = NULL WHERE seq = …` (it is then
/// published after the key's rows already sent). Any other publish failure (broker unreachable,
/// nack, channel error, no confirm within `publishTimeout`) leaves the row and the rest of its key
/// unsent and counts an attempt with `last_error`; the row is tried again in the next batch, and
/// when a batch published nothing the relay first pauses, doubling from 250 ms up to 10 s.
///
/// **Polling.** The relay polls (our libpq client does not deliver NOTIFY): when a batch comes back
/// short it sleeps `pollInterval` before the next, else it goes on at once. A job therefore waits
/// up to about one poll interval after its commit.
///
/// **Stopping.** ``stop()`` (the CLI calls it on SIGTERM or SIGINT) lets the batch in flight
/// publish, mark and commit, then ``run()`` returns.
public final class OutboxRelay: Sendable {
    /// How a relay works: batch size, polling, pruning, backoff and its name in `pg_stat_activity`.
    public struct Options: Sendable {
        /// Rows per batch (per transaction).
        public var batchSize: Int
        /// The pause after a batch that found fewer rows than `batchSize`.
        public var pollInterval: Duration
        /// How often the relay prunes sent rows past their window; nil: never (leave it to
        /// `fleet maintenance`). The first pruning runs at start.
        public var pruneInterval: Duration?
        /// How long sent rows are kept (each job type's dedup window).
        public var retention: OutboxRetention
        /// The longest pause after failing batches.
        public var maximumBackoff: Duration
        /// Shown as `application_name` in `pg_stat_activity` (at most 63 bytes are kept).
        public var name: String
        /// How long one row's publish may wait for its confirm (retries through a broker loss
        /// included) before the row is left unsent for a later batch: the batch's transaction and
        /// its keys' locks stay open meanwhile, and a blocked broker (a memory or disk alarm) would
        /// otherwise hold them, and a SIGTERM, forever.
        public var publishTimeout: Duration
        /// The batch transaction's `lock_timeout`: how long it waits for another relay's row lock
        /// (a re-sent failed row, see ``claimFollowersSQL``) or for a table lock before marking its
        /// rows. Past it the batch rolls back, and rows it already published stay unsent and are
        /// published again (each applied once).
        public var lockTimeout: Duration

        /// `fleet outbox relay <pid> <host name>`.
        public static var defaultName: String {
            var host = [CChar](repeating: 0, count: 256)
            let bytes = gethostname(&host, host.count - 1) == 0 ? host.prefix { $0 != 0 } : []
            let name = String(decoding: bytes.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            return "fleet outbox relay \(getpid()) \(name)"
        }

        /// The defaults are the CLI's: 200 rows, 200 ms, pruning hourly with 7-day windows, 10 s,
        /// 30 s for a confirm, and 5 s for a lock.
        public init(
            batchSize: Int = 200,
            pollInterval: Duration = .milliseconds(200),
            pruneInterval: Duration? = .seconds(3600),
            retention: OutboxRetention = OutboxRetention(),
            maximumBackoff: Duration = .seconds(10),
            name: String = Options.defaultName,
            publishTimeout: Duration = .seconds(30),
            lockTimeout: Duration = .seconds(5)
        ) {
            self.batchSize = max(1, batchSize)
            self.pollInterval = pollInterval
            self.pruneInterval = pruneInterval
            self.retention = retention
            self.maximumBackoff = maximumBackoff
            self.name = name
            self.publishTimeout = publishTimeout
            self.lockTimeout = lockTimeout
        }
    }

    /// What one batch did.
    public struct BatchOutcome: Sendable, Equatable {
        /// Rows locked by the batch (heads and the rows after them).
        public var claimed = 0
        /// Confirmed by the broker and marked sent.
        public var published = 0
        /// Marked failed (unroutable, or an unreadable envelope).
        public var failed = 0
        /// Left unsent after a publish failure, to be tried again.
        public var deferred = 0
    }

    /// Since the relay started.
    public struct Totals: Sendable, Equatable, CustomStringConvertible {
        /// Batches that claimed at least one row.
        public var batches = 0
        /// Rows confirmed by the broker and marked sent.
        public var published = 0
        /// Rows marked failed.
        public var failed = 0
        /// Rows left unsent after a publish failure (a row tried in several batches counts each time).
        public var deferred = 0
        /// Sent rows deleted past their window.
        public var pruned = 0

        public var description: String {
            "published=\(published) failed=\(failed) deferred=\(deferred) pruned=\(pruned) batches=\(batches)"
        }
    }

    private struct State {
        var stopping = false
        var totals = Totals()
        /// The pooled connection last given the relay's `application_name`.
        weak var named: PostgresConnection?
    }

    private let postgres: PostgresClient
    private let producer: JobProducer
    private let options: Options
    private let logger: Logger
    private let state = Mutex(State())

    /// - Parameters:
    ///   - postgres: the database holding `fleet_outbox` (the API's).
    ///   - producer: publishes to the jobs exchange; shut it down after ``run()`` returns.
    public init(postgres: PostgresConfiguration, producer: JobProducer, options: Options = Options(), logger: Logger) {
        self.postgres = PostgresClient(configuration: postgres, maxConnections: 1)
        self.producer = producer
        self.options = options
        self.logger = logger
    }

    /// What the relay did since it started.
    public var totals: Totals { state.withLock { $0.totals } }

    /// Connects and checks that `fleet_outbox` exists.
    ///
    /// - Throws: ``OutboxRelayError`` naming the database (never its password) and what to do.
    public func check() async throws {
        let address = postgres.configuration.redactedAddress
        do {
            _ = try await postgres.withConnection { connection in
                try connection.query("SELECT seq FROM fleet_outbox WHERE false")
            }
        } catch let error as PostgresError where error.sqlState == "42P01" {
            throw OutboxRelayError(
                description: "there is no table fleet_outbox in the database at \(address): run `fleet migrate` "
                    + "there, or add Outbox.schema to the application's migrations"
            )
        } catch let error as PostgresError {
            throw OutboxRelayError(description: "cannot use the outbox database at \(address): \(error.message)")
        }
    }

    /// Relays until ``stop()`` is called or the task is cancelled; prunes every `pruneInterval`.
    /// Database and broker failures after the start are logged and retried with backoff.
    ///
    /// - Throws: what ``check()`` throws, at the start only.
    public func run() async throws {
        try await check()
        logger.info(
            "outbox.relay.started",
            metadata: [
                "outbox.database": "\(postgres.configuration.redactedAddress)",
                "outbox.batch_size": "\(options.batchSize)",
                "outbox.poll_interval": "\(options.pollInterval)",
                "outbox.prune_interval": "\(options.pruneInterval.map { "\($0)" } ?? "never")",
            ]
        )
        var nextPrune = options.pruneInterval.map { _ in ContinuousClock.now }
        var backoff = Duration.milliseconds(250)
        while !isStopping {
            if let due = nextPrune, ContinuousClock.now >= due, let interval = options.pruneInterval {
                nextPrune = ContinuousClock.now + interval
                do {
                    _ = try await prune()
                } catch {
                    logger.warning("outbox.relay.prune_failed", metadata: ["error": "\(error)"])
                }
            }
            do {
                let outcome = try await relayBatch()
                if outcome.deferred > 0 && outcome.published == 0 && outcome.failed == 0 {
                    await pause(backoff)
                    backoff = min(backoff * 2, options.maximumBackoff)
                } else {
                    backoff = .milliseconds(250)
                    if outcome.claimed < options.batchSize { await pause(options.pollInterval) }
                }
            } catch {
                logger.warning(
                    "outbox.relay.batch_failed",
                    metadata: ["error": "\(error)", "outbox.retry_in": "\(backoff)"]
                )
                await pause(backoff)
                backoff = min(backoff * 2, options.maximumBackoff)
            }
        }
        logger.info("outbox.relay.stopped", metadata: ["outbox.totals": "\(totals)"])
    }

    /// Asks ``run()`` to return after the batch in flight; safe from any thread, any number of times.
    public func stop() {
        let first = state.withLock { state in
            defer { state.stopping = true }
            return !state.stopping
        }
        if first { logger.info("outbox.relay.stopping: finishing the batch in flight") }
    }

    /// Closes the database connection; call after ``run()`` returned.
    public func shutdown() async {
        await postgres.shutdown()
    }

    /// Deletes sent rows past their window; returns how many per job type.
    @discardableResult
    public func prune(now: Date = Date()) async throws -> [String: Int] {
        let retention = options.retention
        let pruned = try await postgres.withConnection { connection in try retention.prune(on: connection, now: now) }
        let count = pruned.values.reduce(0, +)
        state.withLock { $0.totals.pruned += count }
        if count > 0 {
            logger.info("outbox.relay.pruned", metadata: ["outbox.rows": "\(count)"])
        }
        return pruned
    }

    /// Whole milliseconds, at least 1: PostgreSQL reads 0 as no timeout at all.
    var lockTimeoutMilliseconds: Int64 {
        max(1, Int64((options.lockTimeout / .milliseconds(1)).rounded(.up)))
    }

    /// Claims, publishes and marks one batch (see the type's documentation).
    @discardableResult
    public func relayBatch() async throws -> BatchOutcome {
        let outcome = try await postgres.withConnection { connection in
            try self.name(connection)
            return try connection.transaction { connection -> BatchOutcome in
                try connection.query("SET LOCAL lock_timeout = '\(self.lockTimeoutMilliseconds)ms'")
                let rows = try self.claim(on: connection)
                guard !rows.isEmpty else { return BatchOutcome() }
                let results = Self.blockingWait { await self.publish(rows) }
                return try self.record(rows, results, on: connection)
            }
        }
        state.withLock { state in
            if outcome.claimed > 0 { state.totals.batches += 1 }
            state.totals.published += outcome.published
            state.totals.failed += outcome.failed
            state.totals.deferred += outcome.deferred
        }
        if outcome.claimed > 0 {
            logger.debug(
                "outbox.relay.batch",
                metadata: [
                    "outbox.claimed": "\(outcome.claimed)", "outbox.published": "\(outcome.published)",
                    "outbox.failed": "\(outcome.failed)", "outbox.deferred": "\(outcome.deferred)",
                ]
            )
        }
        return outcome
    }

    // MARK: - Claim

    struct Row: Sendable {
        let seq: Int64
        let orderingKey: String
        let envelopeId: String
        let jobType: String
        let body: [UInt8]
        let traceparent: String?
    }

    static let claimHeadsSQL = """
        WITH oldest AS (
            SELECT seq, ordering_key FROM fleet_outbox
            WHERE sent_at IS NULL AND failed_at IS NULL
            ORDER BY seq
            LIMIT $2
        ), heads AS (
            SELECT DISTINCT ON (ordering_key) seq FROM oldest ORDER BY ordering_key, seq
        )
        SELECT o.seq, o.ordering_key, o.envelope_id::text AS envelope_id, o.job_type, o.envelope, o.traceparent
        FROM fleet_outbox o
        WHERE o.seq IN (SELECT seq FROM heads) AND o.sent_at IS NULL AND o.failed_at IS NULL
        ORDER BY o.seq
        LIMIT $1
        FOR UPDATE OF o SKIP LOCKED
        """

    /// The unsent rows after the claimed heads, of the same keys. No SKIP LOCKED, which could skip
    /// one row of a key and take the next. Another relay holds one of them only when an operator
    /// re-sent a failed row of the key (it became a head again): the batch's `lock_timeout` then
    /// ends this batch, which is rolled back and retried, rather than letting two relays wait for
    /// each other.
    static let claimFollowersSQL = """
        SELECT o.seq, o.ordering_key, o.envelope_id::text AS envelope_id, o.job_type, o.envelope, o.traceparent
        FROM fleet_outbox h
        JOIN fleet_outbox o ON o.ordering_key = h.ordering_key AND o.seq > h.seq
        WHERE h.seq = ANY($1::bigint[]) AND o.sent_at IS NULL AND o.failed_at IS NULL
        ORDER BY o.seq
        LIMIT $2
        FOR UPDATE OF o
        """

    private func claim(on connection: PostgresConnection) throws -> [Row] {
        let window = options.batchSize * 10
        let heads = try connection.query(Self.claimHeadsSQL, [options.batchSize, window]).map(Self.row)
        let room = options.batchSize - heads.count
        guard room > 0, !heads.isEmpty else { return heads }
        let followers = try connection.query(
            Self.claimFollowersSQL,
            [Self.bigintArray(heads.map(\.seq)), room]
        )
        .map(Self.row)
        return heads + followers
    }

    private static func row(_ row: PostgresRow) -> Row {
        Row(
            seq: Int64(row["seq"] ?? "") ?? -1,
            orderingKey: row["ordering_key"] ?? "",
            envelopeId: row["envelope_id"] ?? "",
            jobType: row["job_type"] ?? "",
            body: Array((row["envelope"] ?? "").utf8),
            traceparent: row["traceparent"]
        )
    }

    static func bigintArray(_ values: [Int64]) -> String {
        "{" + values.map(String.init).joined(separator: ",") + "}"
    }

    // MARK: - Publish

    enum RowResult: Sendable {
        case sent
        case failed(String)
        case deferred(String)
    }

    /// Keys in parallel; within a key, in `seq` order, each after the previous one's confirm. A row
    /// deferred holds back the rest of its key.
    private func publish(_ rows: [Row]) async -> [Int64: RowResult] {
        var keys: [String] = []
        var byKey: [String: [Row]] = [:]
        for row in rows.sorted(by: { $0.seq < $1.seq }) {
            if byKey[row.orderingKey] == nil { keys.append(row.orderingKey) }
            byKey[row.orderingKey, default: []].append(row)
        }
        return await withTaskGroup(of: [(Int64, RowResult)].self) { group in
            for key in keys {
                let keyRows = byKey[key] ?? []
                group.addTask {
                    var results: [(Int64, RowResult)] = []
                    for row in keyRows {
                        let result = await self.publish(row)
                        results.append((row.seq, result))
                        if case .deferred = result { break }
                    }
                    return results
                }
            }
            var all: [Int64: RowResult] = [:]
            for await results in group {
                for (seq, result) in results { all[seq] = result }
            }
            return all
        }
    }

    private func publish(_ row: Row) async -> RowResult {
        let envelope: JobEnvelope
        do {
            envelope = try Self.envelope(of: row)
        } catch {
            return .failed("stored envelope cannot be published: \(error)")
        }
        let producer = self.producer
        let outcome = await Self.within(options.publishTimeout) {
            try await producer.publish(envelope: envelope, body: row.body, traceparent: row.traceparent)
        }
        switch outcome {
        case nil:
            return .deferred("no confirm within \(options.publishTimeout)")
        case .success?:
            return .sent
        case .failure(let error as AMQPError)? where error.code == .unroutable:
            return .failed("unroutable: \(error.message)")
        case .failure(let error as AMQPError)? where error.replyCode == 406:
            // PRECONDITION_FAILED for this message (e.g. larger than the broker's max_message_size):
            // sending it again cannot succeed, and it would hold its key's later rows forever.
            return .failed("refused: \(error.message)")
        case .failure(let error)?:
            return .deferred("\(error)")
        }
    }

    /// The result of `operation`, or nil when it has not finished after `limit`. The operation is
    /// left running (a publish cannot be taken back); its late result is dropped.
    static func within(
        _ limit: Duration,
        _ operation: @escaping @Sendable () async throws -> Void
    ) async -> Result<Void, any Error>? {
        let waiter = FirstResult()
        return await withCheckedContinuation { continuation in
            waiter.waiting.withLock { $0 = continuation }
            let timer = Task {
                try? await Task.sleep(for: limit)
                waiter.resume(nil)
            }
            Task {
                do {
                    try await operation()
                    waiter.resume(.success(()))
                } catch {
                    waiter.resume(.failure(error))
                }
                timer.cancel()
            }
        }
    }

    /// What the message properties need (id, type, `created_at`), read from the stored bytes without
    /// the contract's checks: the writer validated the job, and a relay older than the writer must
    /// still pass on job types it does not know.
    static func envelope(of row: Row) throws -> JobEnvelope {
        let value: JSONValue
        do {
            value = try JSONParser.parse(row.body)
        } catch {
            throw OutboxRelayError(description: "not JSON: \(error)")
        }
        guard case .object(let object) = value else { throw OutboxRelayError(description: "not a JSON object") }
        guard case .string(let id)? = object["id"], id == row.envelopeId else {
            throw OutboxRelayError(description: "its id is not the row's envelope_id \(row.envelopeId)")
        }
        guard case .string(let type)? = object["type"], type == row.jobType else {
            throw OutboxRelayError(description: "its type is not the row's job_type \(row.jobType)")
        }
        guard case .string(let createdText)? = object["created_at"], let createdAt = RFC3339.parse(createdText) else {
            throw OutboxRelayError(description: "created_at is missing or not RFC 3339")
        }
        return JobEnvelope(id: id, type: type, createdAt: createdAt, payload: [:])
    }

    // MARK: - Mark

    private func record(
        _ rows: [Row],
        _ results: [Int64: RowResult],
        on connection: PostgresConnection
    ) throws -> BatchOutcome {
        var outcome = BatchOutcome(claimed: rows.count)
        var sent: [Int64] = []
        for row in rows {
            switch results[row.seq] {
            case .sent?:
                sent.append(row.seq)
            case .failed(let reason)?:
                outcome.failed += 1
                try connection.query(
                    """
                    UPDATE fleet_outbox SET failed_at = now(), failure = $2, attempts = attempts + 1, last_error = $2
                    WHERE seq = $1
                    """,
                    [row.seq, reason]
                )
                logger.error(
                    "outbox.relay.row_failed",
                    metadata: [
                        "outbox.seq": "\(row.seq)", "job.id": "\(row.envelopeId)", "job.type": "\(row.jobType)",
                        "outbox.ordering_key": "\(row.orderingKey)", "outbox.failure": "\(reason)",
                    ]
                )
            case .deferred(let error)?:
                outcome.deferred += 1
                try connection.query(
                    "UPDATE fleet_outbox SET attempts = attempts + 1, last_error = $2 WHERE seq = $1",
                    [row.seq, error]
                )
                logger.warning(
                    "outbox.relay.publish_failed",
                    metadata: [
                        "outbox.seq": "\(row.seq)", "job.id": "\(row.envelopeId)", "job.type": "\(row.jobType)",
                        "error": "\(error)",
                    ]
                )
            case nil:
                // Behind a deferred row of its key: not tried.
                outcome.deferred += 1
            }
        }
        if !sent.isEmpty {
            try connection.query(
                "UPDATE fleet_outbox SET sent_at = now(), attempts = attempts + 1, last_error = NULL "
                    + "WHERE seq = ANY($1::bigint[])",
                [Self.bigintArray(sent)]
            )
        }
        outcome.published = sent.count
        return outcome
    }

    // MARK: - Helpers

    private var isStopping: Bool { state.withLock { $0.stopping } || Task.isCancelled }

    /// Sleeps up to `duration`, waking early once the relay is stopping.
    private func pause(_ duration: Duration) async {
        let end = ContinuousClock.now + duration
        while !isStopping, ContinuousClock.now < end {
            try? await Task.sleep(for: min(.milliseconds(50), end - ContinuousClock.now))
        }
    }

    /// Sets `application_name` once per pooled connection, so operators can tell relays apart.
    private func name(_ connection: PostgresConnection) throws {
        guard state.withLock({ $0.named !== connection }) else { return }
        // The server keeps the first 63 bytes.
        try connection.query("SELECT set_config('application_name', $1, false)", [options.name])
        state.withLock { $0.named = connection }
    }

    /// Runs async work from a pool thread, which may block, and waits for it. The batch's
    /// transaction stays open on this thread's connection while its rows are published.
    private static func blockingWait<T: Sendable>(_ operation: @escaping @Sendable () async -> T) -> T {
        let semaphore = DispatchSemaphore(value: 0)
        let result = ResultBox<T>()
        Task {
            let value = await operation()
            result.value.withLock { $0 = value }
            semaphore.signal()
        }
        semaphore.wait()
        return result.value.withLock { $0! }
    }
}

/// The first of a publish and its timer to finish resumes the waiting batch; the other is dropped.
private final class FirstResult: Sendable {
    let waiting = Mutex<CheckedContinuation<Result<Void, any Error>?, Never>?>(nil)

    func resume(_ result: Result<Void, any Error>?) {
        waiting.withLock { waiting in
            waiting?.resume(returning: result)
            waiting = nil
        }
    }
}

private final class ResultBox<T: Sendable>: Sendable {
    let value = Mutex<T?>(nil)
}

/// A relay failure worth a plain sentence: the database is unusable, or a stored row is unreadable.
public struct OutboxRelayError: Error, CustomStringConvertible {
    public let description: String

    /// A failure described by `description`.
    public init(description: String) {
        self.description = description
    }
}
