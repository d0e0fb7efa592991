import ArgumentParser
import FleetApp
import FleetCore
import FleetOutbox
import FleetProducer
import Foundation
import Logging
import Postgres
import ServiceLifecycle

struct OutboxCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "outbox",
        abstract: "The transactional outbox: publish the jobs applications wrote to fleet_outbox.",
        discussion: """
            An application writes jobs into fleet_outbox inside its own PostgreSQL transaction (Swift \
            library FleetOutbox); `fleet outbox relay` publishes them. The table comes from `fleet migrate` \
            (PostgreSQL step 0007) or from Outbox.schema in the application's own migrations. The database is \
            FLEET_OUTBOX_POSTGRES_URL (or a file named by FLEET_OUTBOX_POSTGRES_URL_FILE), else FLEET_POSTGRES_URL.
            """,
        subcommands: [OutboxRelayCommand.self, OutboxStatusCommand.self]
    )
}

/// The options both subcommands share: where the outbox is.
struct OutboxDatabaseOptions: ParsableArguments {
    @OptionGroup var common: CommonOptions

    /// The configuration, requiring `servers` and FLEET_POSTGRES_URL unless FLEET_OUTBOX_POSTGRES_URL
    /// (or its _FILE form) names the outbox database.
    func configuration(requiring servers: [FleetServer]) throws -> FleetConfiguration {
        let outboxOwnDatabase = EnvironmentSecrets().isSet("FLEET_OUTBOX_POSTGRES_URL")
        return try common.configuration(requiring: servers + (outboxOwnDatabase ? [] : [.postgres]))
    }

    /// The outbox database: FLEET_OUTBOX_POSTGRES_URL (or its _FILE form), else FLEET_POSTGRES_URL
    /// (whose errors `common.configuration()` reports).
    func database(_ configuration: FleetConfiguration) throws -> PostgresConfiguration {
        guard let url = try EnvironmentSecrets().value("FLEET_OUTBOX_POSTGRES_URL") else {
            return configuration.postgres
        }
        do {
            return try PostgresConfiguration(url: url)
        } catch let error as PostgresError {
            throw CommandError(description: "FLEET_OUTBOX_POSTGRES_URL: \(error.message)")
        }
    }
}

struct OutboxRelayCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "relay",
        abstract: "Publish the rows of fleet_outbox with confirms, in order per ordering key, and mark them sent.",
        discussion: """
            Runs until SIGTERM or SIGINT. Each batch is one transaction: among the 10 x --batch-size oldest \
            unsent rows it locks the first of each ordering key (FOR UPDATE SKIP LOCKED, at most \
            --batch-size), then the unsent rows after them of the same keys (--batch-size rows in all), \
            publishes each row's stored envelope bytes to the jobs exchange of queues.yaml (persistent, \
            mandatory, with publisher confirms; a key's rows one after the other, each after the previous \
            one's confirm), sets sent_at on the confirmed rows and commits. Any number of relays may run \
            against one table: a row is never published by two at once.

            Duplicates: a relay killed after the broker confirmed a row but before its commit leaves the \
            row unsent, and it is published again, as the same envelope (same id), which workers apply \
            once.

            Failures: a row the broker returns as unroutable (no queue bound for its job type) or \
            refuses with 406 (e.g. over its max_message_size) gets failed_at and failure (the reason), \
            is kept for an operator and is not retried; the key's later rows go on. Any other publish \
            failure, or no confirm within 30 s, leaves the row unsent (attempts and last_error record \
            it) and it is tried again in the next batch; a batch that published nothing is followed by \
            a pause doubling from 250 ms to 10 s. Database errors after the start are retried the same \
            way.

            Polling: when a batch finds fewer than --batch-size rows, the relay waits --poll-interval \
            before the next; otherwise it goes on at once (LISTEN/NOTIFY is not used).

            Pruning: at start and every --prune-interval, rows sent longer ago than their job type's \
            dedup_window (queues.yaml, 7d by default) are deleted; failed and unsent rows are kept.

            On SIGTERM or SIGINT the batch in flight is published, marked and committed, then the relay \
            prints its totals and exits 0. At start, an invalid or unreachable database or a missing \
            fleet_outbox table is an error naming the database, and an unreachable broker one naming \
            the broker.

            With --http-address (or FLEET_HTTP_ADDRESS) the relay serves /metrics, /healthz and /readyz \
            like `fleet run`; /readyz probes the outbox database on a connection of its own.

            Environment: FLEET_OUTBOX_POSTGRES_URL (else FLEET_POSTGRES_URL), FLEET_AMQP_URL, \
            FLEET_LOG_LEVEL (default info; debug logs every batch).
            """
    )

    @OptionGroup var database: OutboxDatabaseOptions
    @OptionGroup var observability: ObservabilityOptions

    @Option(help: "Rows per batch (one transaction), at most.")
    var batchSize: Int = 200

    @Option(help: "The wait after a batch that found fewer rows than --batch-size, e.g. 200ms or 1s.")
    var pollInterval: String = "200ms"

    @Option(
        help: "How often to prune sent rows past their dedup window, e.g. 1h; `never` leaves it to `fleet maintenance`."
    )
    var pruneInterval: String = "1h"

    @Option(
        help: """
            How long a batch waits for a lock (another relay's row, a table lock) before it rolls back, e.g. 5s; \
            rows it already published are then published again (each applied once).
            """
    )
    var lockTimeout: String = "5s"

    func validate() throws {
        guard batchSize >= 1 && batchSize <= 10_000 else { throw ValidationError("--batch-size must be 1 to 10000") }
        guard DurationText.parse(pollInterval) != nil else {
            throw ValidationError("--poll-interval: expected a duration such as 200ms, 1s or 1m")
        }
        guard pruneInterval == "never" || DurationText.parse(pruneInterval) != nil else {
            throw ValidationError("--prune-interval: expected a duration such as 10m or 1h, or never")
        }
        guard let lock = DurationText.parse(lockTimeout), lock > .zero else {
            throw ValidationError("--lock-timeout: expected a positive duration such as 5s or 1m")
        }
    }

    func run() async throws {
        let logger = bootstrapLogging(defaultLevel: .info)
        let configuration = try database.configuration(requiring: [.amqp])
        let topology = try configuration.loadTopology()
        let outboxDatabase = try database.database(configuration)
        observability.bootstrapMetrics()
        // Fail fast, naming the address, when the broker is unreachable.
        _ = try await withBroker(configuration) { _ in true }
        let producer = relayProducer(configuration, topology: topology, logger: logger)
        let probe = PostgresClient(configuration: outboxDatabase, maxConnections: 1)
        let listener = observability.server(
            processReasons: { [] },
            stores: ["postgres": { try await probe.query("SELECT 1") }],
            logger: logger
        )
        let relay = OutboxRelay(
            postgres: outboxDatabase,
            producer: producer,
            options: OutboxRelay.Options(
                batchSize: batchSize,
                pollInterval: DurationText.parse(pollInterval)!,
                pruneInterval: DurationText.parse(pruneInterval),
                retention: FleetMaintenance.outboxRetention(topology),
                lockTimeout: DurationText.parse(lockTimeout)!
            ),
            logger: logger
        )
        do {
            try await relay.check()
            let group = ServiceGroup(
                configuration: .init(
                    services: ([listener] as [(any Service)?]).compactMap { $0 }.map { .init(service: $0) }
                        + [.init(service: RelayService(relay: relay))],
                    gracefulShutdownSignals: [.sigterm, .sigint],
                    logger: logger
                )
            )
            try await group.run()
        } catch {
            await producer.shutdown()
            await relay.shutdown()
            await probe.shutdown()
            throw error
        }
        await producer.shutdown()
        await relay.shutdown()
        await probe.shutdown()
        print("outbox relay: \(relay.totals)")
    }
}

/// The relay as a service: a graceful shutdown lets the batch in flight finish.
/// The producer an outbox relay publishes with: a short retry through a broker hiccup, after which
/// the relay's own backoff takes over (`fleet outbox relay` and the scheduler role).
func relayProducer(_ configuration: FleetConfiguration, topology: Topology, logger: Logger) -> JobProducer {
    JobProducer(
        amqp: configuration.amqp,
        exchange: topology.exchange,
        retry: PublishRetry(attempts: 3, firstDelay: .milliseconds(100), maximumDelay: .seconds(1)),
        logger: logger,
        signer: configuration.signing.signer
    )
}

struct RelayService: Service {
    let relay: OutboxRelay

    func run() async throws {
        try await withGracefulShutdownHandler {
            try await relay.run()
        } onGracefulShutdown: {
            relay.stop()
        }
    }
}

struct OutboxStatusCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Count fleet_outbox rows by state and list the failed ones.",
        discussion: """
            Prints the rows waiting to be published (and how long the oldest has waited), the sent rows \
            still kept, and the failed rows, newest first, with their reason. A failed row is published \
            again once an operator clears it: UPDATE fleet_outbox SET failed_at = NULL, failure = NULL \
            WHERE seq = <seq>.
            """
    )

    @OptionGroup var database: OutboxDatabaseOptions

    @Option(help: "List at most this many failed rows.")
    var limit: Int = 20

    func run() async throws {
        _ = bootstrapLogging()
        let configuration = try database.configuration(requiring: [])
        let client = PostgresClient(configuration: try database.database(configuration), maxConnections: 1)
        do {
            let counts = try await client.query(
                """
                SELECT count(*) FILTER (WHERE sent_at IS NULL AND failed_at IS NULL) AS pending,
                       count(*) FILTER (WHERE sent_at IS NOT NULL) AS sent,
                       count(*) FILTER (WHERE failed_at IS NOT NULL) AS failed,
                       extract(epoch FROM now() - min(created_at) FILTER (WHERE sent_at IS NULL AND failed_at IS NULL))
                           AS oldest_pending_seconds
                FROM fleet_outbox
                """
            )
            let failed = try await client.query(
                """
                SELECT seq, envelope_id::text AS envelope_id, job_type, ordering_key, failed_at, failure
                FROM fleet_outbox WHERE failed_at IS NOT NULL ORDER BY seq DESC LIMIT $1
                """,
                [limit]
            )
            await client.shutdown()
            let row = counts.first
            let oldest = row?.double("oldest_pending_seconds").map { String(format: " (oldest %.1f s)", $0) } ?? ""
            print("pending: \(row?.int("pending") ?? 0)\(oldest)")
            print("sent: \(row?.int("sent") ?? 0)")
            print("failed: \(row?.int("failed") ?? 0)")
            for failure in failed {
                print(
                    "  seq \(failure["seq"] ?? "") \(failure["job_type"] ?? "") \(failure["envelope_id"] ?? "") "
                        + "key \(failure["ordering_key"] ?? "") at \(failure["failed_at"] ?? ""): "
                        + (failure["failure"] ?? "")
                )
            }
        } catch {
            await client.shutdown()
            throw error
        }
    }
}
