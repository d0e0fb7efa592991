import ArgumentParser
import FleetApp
import FleetCore
import FleetOutbox
import FleetProducer
import Foundation
import Logging
import Postgres
import ServiceLifecycle

struct ScheduleCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "schedule",
        abstract: "Scheduled jobs: list schedules.yaml, show next fire times, run the scheduler role.",
        discussion: """
            Schedules live in schedules.yaml beside queues.yaml: a cron expression (5 fields, or 6 with a \
            leading second), an IANA time_zone (default UTC), a job_type and payload (checked by the \
            contract when the file is read), and `missed: skip | run_once`. Fire times are wall-clock \
            times in the zone: a time skipped by a DST jump fires once at the first instant after the jump \
            (02:30 on the spring-forward day fires at 03:00), a time repeated when clocks fall back fires \
            once, at its first occurrence.
            """,
        subcommands: [ScheduleListCommand.self, ScheduleNextCommand.self, ScheduleRunCommand.self]
    )
}

/// Formats fire times in a schedule's zone and in UTC.
enum FireTimeText {
    static func local(_ date: Date, _ zone: TimeZone) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = zone
        formatter.dateFormat = "yyyy-MM-dd HH:mm:ss xxx"
        return formatter.string(from: date)
    }

    static func utc(_ date: Date) -> String { RFC3339.format(date) }
}

struct ScheduleListCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list",
        abstract: "List the schedules of schedules.yaml with their next fire time, in their zone and in UTC."
    )

    @OptionGroup var common: CommonOptions

    func run() async throws {
        _ = bootstrapLogging()
        let configuration = try common.configuration(requiring: [])
        let schedules = try configuration.loadSchedules(topology: try configuration.loadTopology())
        let now = Date()
        var rows = [["NAME", "CRON", "ZONE", "JOB TYPE", "MISSED", "NEXT (ZONE)", "NEXT (UTC)"]]
        for schedule in schedules {
            let next = schedule.nextFire(after: now)
            rows.append([
                schedule.name, schedule.cron.text, schedule.timeZoneName, schedule.jobType,
                schedule.missed.rawValue, next.map { FireTimeText.local($0, schedule.timeZone) } ?? "never",
                next.map(FireTimeText.utc) ?? "never",
            ])
        }
        let widths = (0..<rows[0].count).map { column in rows.map { $0[column].count }.max() ?? 0 }
        for row in rows {
            print(
                zip(row, widths).map { $0.padding(toLength: $1, withPad: " ", startingAt: 0) }
                    .joined(separator: "  ").trimmingCharacters(in: .whitespaces)
            )
        }
        if schedules.isEmpty { print("(no schedules in \(configuration.schedulesPath))") }
    }
}

struct ScheduleNextCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "next",
        abstract: "Print a schedule's next fire times, in its zone and in UTC."
    )

    @OptionGroup var common: CommonOptions

    @Argument(help: "The schedule's name in schedules.yaml.")
    var name: String

    @Option(help: "How many fire times.")
    var count: Int = 5

    @Option(help: "Start after this RFC 3339 time instead of now, e.g. 2026-03-28T12:00:00Z.")
    var after: String?

    func validate() throws {
        guard (1...1000).contains(count) else { throw ValidationError("--count must be 1 to 1000") }
        if let after, RFC3339.parse(after) == nil {
            throw ValidationError("--after: expected an RFC 3339 time such as 2026-03-28T12:00:00Z")
        }
    }

    func run() async throws {
        _ = bootstrapLogging()
        let configuration = try common.configuration(requiring: [])
        let schedules = try configuration.loadSchedules(topology: try configuration.loadTopology())
        guard let schedule = schedules.first(where: { $0.name == name }) else {
            throw CommandError(
                description: "no schedule named \(name) in \(configuration.schedulesPath) (has: "
                    + "\(schedules.map(\.name).joined(separator: ", ")))"
            )
        }
        var cursor = after.flatMap(RFC3339.parse) ?? Date()
        for _ in 0..<count {
            guard let next = schedule.nextFire(after: cursor) else { break }
            print("\(FireTimeText.local(next, schedule.timeZone))  \(FireTimeText.utc(next))")
            cursor = next
        }
    }
}

/// The scheduler role's options, shared by `fleet schedule run` and `fleet run --with-scheduler`.
struct SchedulerOptions: ParsableArguments {
    @Option(help: "Scheduler lease TTL: the leader renews every third of it; a dead leader is replaced after it.")
    var leaseTTL: String = "15s"

    @Option(
        help: "This replica's name in the lease and schedule_ticks (default <host name>:<pid>); unique per replica."
    )
    var replica: String?

    func validate() throws {
        guard let ttl = DurationText.parse(leaseTTL), ttl >= .seconds(1) else {
            throw ValidationError("--lease-ttl: expected a duration of at least 1s, such as 15s")
        }
    }

    /// The scheduler and an outbox relay for the fleet's database, as services; nil without schedules.
    func services(
        configuration: FleetConfiguration,
        topology: Topology,
        logger: Logger
    ) throws -> SchedulerRole {
        let schedules = try configuration.loadSchedules(topology: topology)
        let scheduler = Scheduler(
            schedules: schedules,
            postgres: configuration.postgres,
            options: Scheduler.Options(
                leaseTTL: DurationText.parse(leaseTTL)!,
                replica: replica ?? Scheduler.Options.defaultReplica
            ),
            logger: logger
        )
        let producer = relayProducer(configuration, topology: topology, logger: logger)
        let relay = OutboxRelay(
            postgres: configuration.postgres,
            producer: producer,
            options: OutboxRelay.Options(retention: FleetMaintenance.outboxRetention(topology)),
            logger: logger
        )
        return SchedulerRole(scheduler: scheduler, relay: relay, producer: producer)
    }
}

/// The scheduler with the outbox relay that publishes what it enqueues: one process suffices.
struct SchedulerRole {
    let scheduler: Scheduler
    let relay: OutboxRelay
    let producer: JobProducer

    var services: [ServiceGroupConfiguration.ServiceConfiguration] {
        [.init(service: scheduler), .init(service: RelayService(relay: relay))]
    }

    func shutdown() async {
        await producer.shutdown()
        await relay.shutdown()
    }

    var summary: String { "scheduler: \(scheduler.totals); outbox relay: \(relay.totals)" }
}

struct ScheduleRunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run the scheduler role in the foreground until SIGTERM or SIGINT.",
        discussion: """
            Any number of replicas may run against one PostgreSQL database (FLEET_POSTGRES_URL, migrated \
            by `fleet migrate`); exactly one enqueue happens per tick. The replica holding the lease \
            (table scheduler_lease, taken or renewed every third of --lease-ttl by the database's clock) \
            enqueues each due tick in one transaction fenced by its lease token: it locks the lease row \
            if still its own, unexpired, with its token (else writes nothing), records the tick in \
            schedule_ticks (primary key schedule + tick: a tick already there is not enqueued again) and \
            writes the job into fleet_outbox. This process also runs an outbox relay (as `fleet outbox \
            relay`) that publishes those rows to the jobs exchange. The job's idempotency key is \
            schedule:<name>:<tick in RFC 3339 UTC>, so even a duplicate publish applies once. A replica \
            paused past its lease enqueues nothing when it resumes. Ticks due more than 4 lease TTLs ago \
            count as missed: `missed: skip` drops them, `run_once` enqueues the most recent one once. \
            Leadership changes are logged at notice level. On SIGTERM the leader gives the lease up.
            """
    )

    @OptionGroup var common: CommonOptions
    @OptionGroup var scheduler: SchedulerOptions
    @OptionGroup var observability: ObservabilityOptions

    func run() async throws {
        let logger = bootstrapLogging(defaultLevel: .info)
        let configuration = try common.configuration(requiring: [.amqp, .postgres])
        let topology = try configuration.loadTopology()
        observability.bootstrapMetrics()
        let traceExport = try TraceExport.bootstrap()
        let role = try scheduler.services(configuration: configuration, topology: topology, logger: logger)
        // Fail fast, naming the address, when the broker or the outbox table is missing.
        _ = try await withBroker(configuration) { _ in true }
        // The role's store is PostgreSQL: /readyz probes it on a connection of its own.
        let probe = PostgresClient(configuration: configuration.postgres, maxConnections: 1)
        let listener = observability.server(
            processReasons: { [] },
            stores: ["postgres": { try await probe.query("SELECT 1") }],
            logger: logger
        )
        do {
            try await role.relay.check()
            let group = ServiceGroup(
                configuration: .init(
                    services: ([traceExport, listener] as [(any Service)?]).compactMap { $0 }.map {
                        ServiceGroupConfiguration.ServiceConfiguration(service: $0)
                    } + role.services,
                    gracefulShutdownSignals: [.sigterm, .sigint],
                    logger: logger
                )
            )
            try await group.run()
        } catch {
            await role.shutdown()
            await probe.shutdown()
            throw error
        }
        await role.shutdown()
        await probe.shutdown()
        print(role.summary)
    }
}
