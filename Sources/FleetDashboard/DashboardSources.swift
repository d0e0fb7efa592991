import FleetCore
import FleetOps
import Foundation

/// What the dashboard reads and acts on, supplied by `fleet dashboard` from the fleet's configuration:
/// the pages know no server address or store client, so tests can start them against any world.
public struct DashboardSources: Sendable {
    public var topology: Topology
    /// The broker's management API without credentials, for the page footer.
    public var managementURL: String
    /// The work queues with their retry and dead-letter counts (management API).
    public var queueOverview: @Sendable () async throws -> [QueueOverview]
    /// Runs a ``DeadLetterAdmin`` operation on its own broker connection (`dryRun` changes nothing).
    public var deadLetters:
        @Sendable (DeadLetterAdmin.Action, [Topology.Queue], DeadLetterAdmin.Filter, _ dryRun: Bool) async throws ->
            [DeadLetterEntry]
    /// `host:port` or URLs of the workers' `/metrics`.
    public var workerAddresses: [String]
    public var scrapeWorker: @Sendable (String) async throws -> WorkerMetricsSummary
    public var schedules: @Sendable () async throws -> [ScheduleStatus]
    public var backups: @Sendable () async throws -> [BackupStatus]

    public init(
        topology: Topology,
        managementURL: String,
        queueOverview: @escaping @Sendable () async throws -> [QueueOverview],
        deadLetters:
            @escaping @Sendable (DeadLetterAdmin.Action, [Topology.Queue], DeadLetterAdmin.Filter, Bool) async throws
            -> [DeadLetterEntry],
        workerAddresses: [String],
        scrapeWorker: @escaping @Sendable (String) async throws -> WorkerMetricsSummary,
        schedules: @escaping @Sendable () async throws -> [ScheduleStatus],
        backups: @escaping @Sendable () async throws -> [BackupStatus]
    ) {
        self.topology = topology
        self.managementURL = managementURL
        self.queueOverview = queueOverview
        self.deadLetters = deadLetters
        self.workerAddresses = workerAddresses
        self.scrapeWorker = scrapeWorker
        self.schedules = schedules
        self.backups = backups
    }
}

/// One schedule of schedules.yaml as the schedules page shows it.
public struct ScheduleStatus: Sendable {
    public var name: String
    public var cron: String
    public var timeZone: String
    public var jobType: String
    public var nextFire: Date?
    /// The newest tick enqueued (PostgreSQL `schedule_ticks`); nil before the first, or when unreadable.
    public var lastTick: Date?

    public init(name: String, cron: String, timeZone: String, jobType: String, nextFire: Date?, lastTick: Date?) {
        self.name = name
        self.cron = cron
        self.timeZone = timeZone
        self.jobType = jobType
        self.nextFire = nextFire
        self.lastTick = lastTick
    }
}

/// The newest backup of one store, from its manifest.
public struct BackupStatus: Sendable {
    public var store: String
    /// nil: no backup yet.
    public var finishedAt: Date?
    public var size: Int?
    public var encrypted: Bool
    /// Why the newest manifest could not be read, if so.
    public var problem: String?

    public init(store: String, finishedAt: Date?, size: Int?, encrypted: Bool, problem: String?) {
        self.store = store
        self.finishedAt = finishedAt
        self.size = size
        self.encrypted = encrypted
        self.problem = problem
    }
}
