import FleetContract

/// One machine-readable reason the fleet gives for a job it did not apply.
public struct DeadLetterReason: Sendable, Equatable {
    /// Where the reason shows up.
    public enum Kind: String, Sendable, CaseIterable {
        /// The body or payload breaks the contract: dead-lettered at once, before any store is
        /// touched, reason in `x-fleet-reason`.
        case rejected
        /// A failure that can never succeed: dead-lettered at once, reason in `x-fleet-reason`.
        case permanent
        /// Retried on the schedule; each retry copy carries it in `x-fleet-last-error`, and when the
        /// retries run out the dead letter's `x-fleet-reason` is `max_attempts` with this reason in
        /// `x-fleet-error`.
        case transient
        /// The retries ran out (`x-fleet-reason`).
        case retriesExhausted = "retries_exhausted"
        /// Dead-lettered by the broker itself: `reason` of the first `x-death` entry, no `x-fleet-*`.
        case broker
    }

    /// The reason as the header carries it.
    public let reason: String
    /// Where it shows up.
    public let kind: Kind
    /// What raises it.
    public let raisedBy: String
    /// What it means.
    public let meaning: String

    /// A reason of the catalog.
    public init(_ reason: String, _ kind: Kind, raisedBy: String, _ meaning: String) {
        self.reason = reason
        self.kind = kind
        self.raisedBy = raisedBy
        self.meaning = meaning
    }
}

/// Every reason the fleet can give, for the generated AsyncAPI document. `ContractTests` checks this
/// list against the reasons written in the sources (rejections, `JobError`s, the classifier's and the
/// store rules'), both ways, so a new reason cannot go undocumented.
public enum DeadLetterReasons {
    /// The stores whose client errors become `<store>_unavailable` (transient) or `<store>_rejected`
    /// (permanent), as `StoreFailureRules` names them.
    public static let stores = ["postgres", "redis", "mongodb", "neo4j", "clickhouse"]

    /// The steps that can fail after a job's effect committed (`x-fleet-failed-step`).
    public static let failedSteps: [(step: String, meaning: String)] = [
        ("follow_up_publish", "`assessment.score` could not publish its follow-up recalculations"),
        ("cache_refresh", "`profile.completion.recalculate` could not refresh the Redis cache"),
        ("cache_invalidation", "a content job could not invalidate the content's Redis cache entries"),
    ]

    /// The whole catalog, rejections first.
    public static let all: [DeadLetterReason] =
        rejections + permanent + transient + backup + [
            DeadLetterReason(
                "max_attempts",
                .retriesExhausted,
                raisedBy: "the worker",
                "A transient failure outlasted the retry schedule; `x-fleet-error` names the last error."
            ),
            DeadLetterReason(
                "delivery_limit",
                .broker,
                raisedBy: "RabbitMQ (quorum queue)",
                "Delivered `delivery_limit` times without an ack or a retry decision, e.g. a worker crashing on "
                    + "it each time; routed through the dead-letter exchange."
            ),
        ]

    /// The reasons that can be a dead letter's `x-fleet-reason`, sorted.
    public static var headerValues: [String] {
        Set(all.filter { [.rejected, .permanent, .retriesExhausted].contains($0.kind) }.map(\.reason)).sorted()
    }

    static let rejections: [DeadLetterReason] = EnvelopeRejection.Reason.all.map { reason in
        let meanings: [EnvelopeRejection.Reason: String] = [
            .oversize: "The body is over 1 MiB. Workers read the size from the content header and drop such a body "
                + "unread: the broker dead-letters the whole message (`x-death` reason `rejected`, no `x-fleet-*` "
                + "headers), and `fleet dlq` reports it as `oversize`.",
            .invalidUTF8: "The body is not valid UTF-8.",
            .invalidJSON: "The body is not strict RFC 8259 JSON (or nests deeper than 64).",
            .notAnObject: "The body is JSON but not an object.",
            .missingField: "A required envelope field is absent or null.",
            .invalidField: "An envelope field is ill-typed or out of range (`created_at` over 24 h ahead, "
                + "`not_before` over 366 days ahead included).",
            .unknownType: "The `type` is not a job type of the contract, or this worker has no handler for it.",
            .unknownVersion: "The type has no such payload `version`.",
            .invalidPayload: "The payload breaks its type's schema (or a rule the schema cannot state, such as "
                + "`publish_at` over 366 days ahead).",
            .badSignature: "Signing mode is `required` and the message is unsigned, names a key id the worker does "
                + "not have, or its `x-fleet-signature` does not verify. Checked before anything else is read.",
            .invalidContentType: "The AMQP `content_type` property is present, non-empty and is not "
                + "`application/json` (optionally with `; charset=utf-8`; case-insensitive).",
            .typeMismatch: "The AMQP `type` property is present, non-empty and differs from the body's `type`.",
            .wrongQueue: "The body's `type` is not bound to the queue the delivery came from (`queues.yaml`'s "
                + "`job_types`): a worker runs only its queues' jobs. No store is touched.",
        ]
        // The decoder checks the body; the consumer checks the signature, the AMQP properties and the queue.
        let byConsumer: Set<EnvelopeRejection.Reason> = [
            .badSignature, .invalidContentType, .typeMismatch, .wrongQueue,
        ]
        let raisedBy = byConsumer.contains(reason) ? "the worker" : "the envelope decoder"
        return DeadLetterReason(reason.description, .rejected, raisedBy: raisedBy, meanings[reason] ?? "")
    }

    static let permanent: [DeadLetterReason] =
        [
            DeadLetterReason(
                "unknown_user",
                .permanent,
                raisedBy: "enrollment.update, profile.completion.recalculate, career.progress.recalculate",
                "The user does not exist."
            ),
            DeadLetterReason("unknown_course", .permanent, raisedBy: "enrollment.update", "The course does not exist."),
            DeadLetterReason(
                "unknown_path",
                .permanent,
                raisedBy: "career.progress.recalculate",
                "The career path does not exist."
            ),
            DeadLetterReason(
                "invalid_milestone",
                .permanent,
                raisedBy: "career.progress.recalculate",
                "A milestone's `required_skills` cannot be read."
            ),
            DeadLetterReason(
                "unknown_content",
                .permanent,
                raisedBy: "content.publish, content.unpublish",
                "The content item does not exist; its idempotency key stays unused."
            ),
            DeadLetterReason(
                "unknown_event",
                .permanent,
                raisedBy: "event.register, event.cancel",
                "The event does not exist."
            ),
            DeadLetterReason(
                "unreadable_trend_document",
                .permanent,
                raisedBy: "jobmarket.trend.ingest",
                "The stored `job_market_trends` document cannot be read as a series."
            ),
            DeadLetterReason(
                "invalid_payload",
                .permanent,
                raisedBy: "MongoDB handlers",
                "An ObjectId field failed to convert (normally caught by the payload schema first)."
            ),
            DeadLetterReason(
                "broker_error",
                .permanent,
                raisedBy: "the broker client",
                "The broker refused an operation for good."
            ),
        ]
        + stores.map {
            DeadLetterReason(
                "\($0)_rejected",
                .permanent,
                raisedBy: $0,
                "The store refused the data for good (constraint, type); its code is in `x-fleet-error`."
            )
        }

    /// `backup.run` and `backup.verify` (FleetJobs/Backup/BackupJobFailure.swift).
    static let backup: [DeadLetterReason] = [
        DeadLetterReason(
            "backup_failed",
            .transient,
            raisedBy: "backup.run, backup.verify",
            "pg_dump/pg_restore, a file or zlib failed."
        ),
        DeadLetterReason(
            "backup_in_progress",
            .permanent,
            raisedBy: "backup.run",
            "Another backup of the store holds its lock."
        ),
        DeadLetterReason(
            "backup_corrupted",
            .permanent,
            raisedBy: "backup.verify",
            "The artifact's bytes are damaged (sha256, framing or compression)."
        ),
        DeadLetterReason("backup_truncated", .permanent, raisedBy: "backup.verify", "The artifact was cut off."),
        DeadLetterReason(
            "backup_wrong_key",
            .permanent,
            raisedBy: "backup.verify",
            "Wrong key or corrupted artifact: AES-GCM authentication failed, or another key sealed it."
        ),
        DeadLetterReason(
            "backup_key_missing",
            .permanent,
            raisedBy: "backup.run, backup.verify",
            "The key file is unreadable or malformed, or an encrypted artifact has no key configured."
        ),
        DeadLetterReason(
            "backup_manifest_invalid",
            .permanent,
            raisedBy: "backup.verify",
            "The manifest is missing, malformed, of an unknown format, or of another store."
        ),
        DeadLetterReason(
            "backup_mismatch",
            .permanent,
            raisedBy: "backup.verify",
            "The restored copy's counts or sample checksums differ from the manifest."
        ),
        DeadLetterReason("backup_not_found", .permanent, raisedBy: "backup.verify", "The store has no backup yet."),
        DeadLetterReason(
            "backup_unsupported",
            .permanent,
            raisedBy: "backup.run, backup.verify",
            "The worker has no backup source for the store."
        ),
    ]

    static let transient: [DeadLetterReason] =
        stores.map {
            DeadLetterReason(
                "\($0)_unavailable",
                .transient,
                raisedBy: $0,
                "The store is down, restarting, busy or timed out; its code is in the error."
            )
        } + [
            DeadLetterReason(
                "deadline_exceeded",
                .transient,
                raisedBy: "the worker",
                "The job ran past its type's `deadline`."
            ),
            DeadLetterReason(
                "broker_error",
                .transient,
                raisedBy: "the broker client",
                "A broker operation failed for now."
            ),
            DeadLetterReason(
                "shutting_down",
                .transient,
                raisedBy: "the worker",
                "This worker is draining; another runs the job."
            ),
            DeadLetterReason("cancelled", .transient, raisedBy: "the worker", "The job was cancelled."),
            DeadLetterReason("unexpected_error", .transient, raisedBy: "the worker", "An error no rule classifies."),
            DeadLetterReason(
                "lock_unavailable",
                .transient,
                raisedBy: "redis",
                "A Redis lock was not acquired in time."
            ),
            DeadLetterReason(
                "lock_lost",
                .transient,
                raisedBy: "event.register, event.cancel",
                "A newer holder of the event's lock wrote first."
            ),
            DeadLetterReason(
                "idempotency_key_busy",
                .transient,
                raisedBy: "MongoDB handlers",
                "The idempotency key is bound to another entity whose job has not recorded it yet."
            ),
            DeadLetterReason(
                "idempotency_key_lease_expired",
                .transient,
                raisedBy: "MongoDB handlers",
                "The job's binding of its key is too old to write under."
            ),
            DeadLetterReason(
                "write_conflict",
                .transient,
                raisedBy: "MongoDB handlers",
                "Concurrent writes to the document kept conflicting."
            ),
            DeadLetterReason(
                "skills_changing",
                .transient,
                raisedBy: "profile.completion.recalculate, career.progress.recalculate",
                "The user's skills kept changing while the job read them."
            ),
            DeadLetterReason(
                "follow_up_not_published",
                .transient,
                raisedBy: "assessment.score",
                "The follow-up jobs were not published; after the retries the dead letter is marked applied "
                    + "(step `follow_up_publish`)."
            ),
            DeadLetterReason(
                "cache_not_invalidated",
                .transient,
                raisedBy: "content.publish, content.unpublish",
                "The Redis cache entries were not invalidated; after the retries the dead letter is marked "
                    + "applied (step `cache_invalidation`)."
            ),
        ]
}
