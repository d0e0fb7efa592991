@_exported import FleetContract
import Foundation
import Postgres

/// The transactional outbox: an API writes a job into `fleet_outbox` inside its own PostgreSQL
/// transaction, next to the rows the job is about, and `fleet outbox relay` publishes it once the
/// transaction committed. A commit can therefore never lose its job, and a rollback never publishes
/// one.
///
/// Two ways to write, both validated with the workers' rules before anything is written (the same
/// rules as `JobProducer.validated`: key limits, `created_at`, the payload's definition):
///
/// ```swift
/// let outbox = Outbox()
/// // With this package's libpq client, in the transaction that writes the API's own rows:
/// try await client.withTransaction { connection in
///     try connection.query("UPDATE ...", [...])
///     try outbox.enqueue(EnrollmentUpdate(userId: user, courseId: course, action: .enroll), on: connection)
/// }
/// // With any other driver (PostgresNIO, ...): run the statement on the transaction's connection.
/// let statement = try outbox.statement(for: EnrollmentUpdate(userId: user, courseId: course, action: .enroll))
/// // statement.sql with statement.parameters bound as text ($1...$5; nil is NULL)
/// ```
///
/// **Order.** Jobs with the same ordering key are published in the order their transactions
/// committed. The key defaults to the idempotency key, else the job's own id: without an explicit
/// `orderingKey`, distinct jobs are not ordered. The writer's statement first takes
/// `pg_advisory_xact_lock(1718581346, hashtext(ordering_key))` (``advisoryLockClass``), which it holds
/// until its transaction ends, and only then draws `seq` from the identity. So two transactions
/// writing one key run their inserts one after the other, and the second draws its `seq` after
/// the first committed (or rolled back): per key, `seq` order is commit order, and the rows of a
/// key that any snapshot sees are always a prefix of the key's rows in `seq` order. The relay
/// relies on this (it publishes a key's rows in `seq` order, and never one whose predecessor is
/// still unsent). Without the lock a transaction could draw seq 10, another seq 11 for the same
/// key, and commit first: a relay would publish 11 before 10 existed for it.
///
/// The cost: transactions writing the same key wait for each other's commit, and a transaction
/// that writes several keys should write them in a consistent order (sorted, say) or be ready to
/// retry a deadlock (SQLSTATE 40P01). Hash collisions between keys only make unrelated keys wait.
/// Rows must be written through ``statement(for:idempotencyKey:orderingKey:notBefore:traceparent:)``
/// or ``enqueue(_:on:idempotencyKey:orderingKey:notBefore:traceparent:)``: a plain INSERT skips
/// the lock and voids the order guarantee.
public struct Outbox: Sendable {
    /// The first key of the writer's two-key advisory lock (the second is `hashtext(ordering_key)`).
    /// Two-key advisory locks are a space of their own: they never collide with one-key ones such
    /// as `fleet migrate`'s.
    public static let advisoryLockClass: Int32 = 1_718_581_346
    /// The most UTF-8 bytes an ordering key may have (the most an idempotency key may have).
    public static let maximumOrderingKeyBytes = 800

    /// The table, its indexes and constraints, for an API's own migrations (`fleet migrate` runs the
    /// same as PostgreSQL step 0007). Safe to run twice. The database must be UTF8: the envelope is
    /// stored as text, byte for byte as the relay publishes it.
    ///
    /// Columns: `seq` (order of writing), `ordering_key`, `envelope_id`, `job_type`, `envelope` (the
    /// exact JSON bytes), `traceparent`, `created_at`; the relay's `attempts` and `last_error`; then
    /// `sent_at` once the broker confirmed it, or `failed_at` and `failure` when it never can be
    /// published (kept for an operator).
    public static let schema = """
        CREATE TABLE IF NOT EXISTS fleet_outbox (
            seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            ordering_key TEXT NOT NULL,
            envelope_id UUID NOT NULL,
            job_type TEXT NOT NULL,
            envelope TEXT NOT NULL,
            traceparent TEXT,
            created_at TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(),
            attempts INTEGER NOT NULL DEFAULT 0,
            last_error TEXT,
            sent_at TIMESTAMP WITH TIME ZONE,
            failed_at TIMESTAMP WITH TIME ZONE,
            failure TEXT,
            CONSTRAINT ck_fleet_outbox_ordering_key CHECK (octet_length(ordering_key) BETWEEN 1 AND 800),
            CONSTRAINT ck_fleet_outbox_one_outcome CHECK (sent_at IS NULL OR failed_at IS NULL)
        );
        CREATE UNIQUE INDEX IF NOT EXISTS uq_fleet_outbox_envelope_id ON fleet_outbox (envelope_id);
        CREATE INDEX IF NOT EXISTS ix_fleet_outbox_pending ON fleet_outbox (seq)
            WHERE sent_at IS NULL AND failed_at IS NULL;
        CREATE INDEX IF NOT EXISTS ix_fleet_outbox_pending_key ON fleet_outbox (ordering_key, seq)
            WHERE sent_at IS NULL AND failed_at IS NULL;
        CREATE INDEX IF NOT EXISTS ix_fleet_outbox_sent ON fleet_outbox (sent_at) WHERE sent_at IS NOT NULL;
        """

    /// The writer's statement: lock the key for the rest of the transaction, then insert. Parameters,
    /// all text: `$1` ordering key, `$2` envelope id, `$3` job type, `$4` envelope JSON, `$5`
    /// traceparent or NULL. The casts make it work with drivers that send parameters typed as text.
    public static let insertSQL = """
        WITH key_lock AS (SELECT pg_advisory_xact_lock(\(advisoryLockClass), hashtext($1::text)))
        INSERT INTO fleet_outbox (ordering_key, envelope_id, job_type, envelope, traceparent)
        SELECT $1::text, $2::uuid, $3::text, $4::text, $5::text FROM key_lock
        """

    /// One job to write: run ``sql`` with ``parameters`` on the connection of the transaction that
    /// must carry it.
    public struct Statement: Sendable {
        /// ``Outbox/insertSQL``: lock the ordering key, insert the row.
        public let sql: String
        /// `$1`...`$5` as text; nil binds NULL.
        public let parameters: [String?]
        /// The job as it will be published.
        public let envelope: JobEnvelope
        /// The envelope's exact JSON bytes (``parameters`` `[3]` as UTF-8).
        public let body: [UInt8]
        /// The key the job is ordered by (``parameters`` `[0]`).
        public let orderingKey: String
    }

    private let validator: JobValidator

    /// - Parameters:
    ///   - definitions: the job types accepted (the whole contract by default).
    ///   - now: the clock that stamps `created_at` and checks it as the workers will.
    public init(
        definitions: [any JobDefinition.Type] = JobContract.definitions,
        now: @escaping @Sendable () -> Date = { Date() }
    ) {
        self.validator = JobValidator(definitions: definitions, owner: "this outbox", now: now)
    }

    /// Builds and validates a typed job; returns the statement that writes it.
    ///
    /// - Parameters:
    ///   - idempotencyKey: jobs with the same type and key take effect once (within the dedup window).
    ///   - orderingKey: jobs with the same key are published in commit order; default: the
    ///     idempotency key, else the job's id. 1 to 800 UTF-8 bytes, no U+0000.
    ///   - notBefore: the job waits in the retry queues until then.
    ///   - traceparent: W3C trace context, published as the `traceparent` header.
    /// - Throws: ``EnvelopeRejection`` when the job breaks a rule.
    public func statement<Job: JobDefinition>(
        for job: Job,
        idempotencyKey: String? = nil,
        orderingKey: String? = nil,
        notBefore: Date? = nil,
        traceparent: String? = nil
    ) throws(EnvelopeRejection) -> Statement {
        try statement(
            for: JobEnvelope(
                id: UUIDText.random(),
                type: Job.jobType,
                version: Job.versions.max() ?? 1,
                createdAt: validator.now(),
                idempotencyKey: idempotencyKey,
                notBefore: notBefore,
                payload: job.payload
            ),
            orderingKey: orderingKey,
            traceparent: traceparent
        )
    }

    /// Validates a ready-made envelope (for tools: a job given as JSON); returns the statement that
    /// writes it.
    public func statement(
        for envelope: JobEnvelope,
        orderingKey: String? = nil,
        traceparent: String? = nil
    ) throws(EnvelopeRejection) -> Statement {
        let body = try validated(envelope)
        let key = orderingKey ?? envelope.deduplicationKey
        guard !key.isEmpty, key.utf8.count <= Self.maximumOrderingKeyBytes, !key.utf8.contains(0) else {
            throw EnvelopeRejection(
                .invalidField,
                "ordering key: must be 1 to \(Self.maximumOrderingKeyBytes) UTF-8 bytes without U+0000 "
                    + "(has \(key.utf8.count))"
            )
        }
        if let traceparent, traceparent.utf8.contains(0) {
            throw EnvelopeRejection(.invalidField, "traceparent: contains U+0000")
        }
        return Statement(
            sql: Self.insertSQL,
            parameters: [key, envelope.id, envelope.type, String(decoding: body, as: UTF8.self), traceparent],
            envelope: envelope,
            body: body,
            orderingKey: key
        )
    }

    /// Writes a typed job on `connection`, as part of the transaction open there (or alone, when
    /// none is). Nothing is written when the job breaks a rule.
    ///
    /// - Returns: the envelope the relay will publish.
    /// - Throws: ``EnvelopeRejection`` before any statement runs; `PostgresError` from the insert
    ///   (for instance 42P01 when `fleet_outbox` is missing: add ``schema`` to the migrations).
    @discardableResult
    public func enqueue<Job: JobDefinition>(
        _ job: Job,
        on connection: PostgresConnection,
        idempotencyKey: String? = nil,
        orderingKey: String? = nil,
        notBefore: Date? = nil,
        traceparent: String? = nil
    ) throws -> JobEnvelope {
        let statement = try statement(
            for: job,
            idempotencyKey: idempotencyKey,
            orderingKey: orderingKey,
            notBefore: notBefore,
            traceparent: traceparent
        )
        try connection.query(statement.sql, statement.parameters)
        return statement.envelope
    }

    /// Writes a ready-made envelope on `connection` (see ``statement(for:orderingKey:traceparent:)``).
    @discardableResult
    public func enqueue(
        _ envelope: JobEnvelope,
        on connection: PostgresConnection,
        orderingKey: String? = nil,
        traceparent: String? = nil
    ) throws -> JobEnvelope {
        let statement = try statement(for: envelope, orderingKey: orderingKey, traceparent: traceparent)
        try connection.query(statement.sql, statement.parameters)
        return statement.envelope
    }

    /// Checks `envelope` as `JobProducer.validated` does (key limits, `created_at` at most 24 h
    /// ahead, known type and version, the payload's definition) and returns its JSON bytes.
    public func validated(_ envelope: JobEnvelope) throws(EnvelopeRejection) -> [UInt8] {
        try validator.validated(envelope)
    }
}
