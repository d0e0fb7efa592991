import ArgumentParser
import FleetApp
import FleetBackup
import FleetCore
import FleetDashboard
import FleetObservability
import FleetOps
import Foundation
import Logging
import Postgres

struct DashboardCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dashboard",
        abstract: "Serve the operations dashboard: queues, workers, failures, dead letters, schedules, backups.",
        discussion: """
            Server-rendered pages, no JavaScript. Queue counts come from the broker's management API \
            (FLEET_RABBITMQ_MGMT_URL, as for fleet status; its credentials are never shown), worker figures from the \
            workers' /metrics (--worker-metrics), dead letters from the DLQs themselves. The dashboard is \
            read-only unless an admin token is configured (--admin-token-file or FLEET_DASHBOARD_ADMIN_TOKEN_FILE; \
            never on the command line): logging in with it opens an 8-hour session (HttpOnly, SameSite=Strict \
            cookie) whose forms carry a CSRF token; replay and purge need both, and each is logged with the \
            session's id prefix. With port 0 the bound address is logged (fleet.http listening) and written to \
            the file named by FLEET_HTTP_ADDRESS_FILE when set.
            """
    )

    @OptionGroup var common: CommonOptions

    @Option(help: "Listen on HOST:PORT (port 0: any free port).")
    var httpAddress: String = "127.0.0.1:8080"

    @Option(
        help: "Workers' metrics listeners, HOST:PORT or URL, comma-separated (default: FLEET_WORKER_METRICS)."
    )
    var workerMetrics: String?

    @Option(help: "File holding the admin token (default: FLEET_DASHBOARD_ADMIN_TOKEN_FILE; unset: read-only).")
    var adminTokenFile: String?

    @Option(help: "Seconds between the samples of the queue sparklines.")
    var sampleInterval: Int = 5

    func validate() throws {
        guard HTTPListenAddress(httpAddress) != nil else {
            throw ValidationError("--http-address must be HOST:PORT, not \(httpAddress)")
        }
        guard sampleInterval > 0 else { throw ValidationError("--sample-interval must be at least 1") }
    }

    func run() async throws {
        let logger = bootstrapLogging(defaultLevel: .info)
        let environment = ProcessInfo.processInfo.environment
        let configuration = try common.configuration(requiring: [.rabbitManagement, .amqp, .postgres])
        let topology = try configuration.loadTopology()
        let token = try Self.readToken(adminTokenFile ?? environment["FLEET_DASHBOARD_ADMIN_TOKEN_FILE"])
        let http = OpsHTTPClient()
        let management = try RabbitManagementClient(
            url: configuration.rabbitManagementURL,
            http: http
        )
        let postgres = PostgresClient(configuration: configuration.postgres, maxConnections: 1)
        let sources = Self.sources(
            configuration: configuration,
            topology: topology,
            management: management,
            postgres: postgres,
            workers: (workerMetrics ?? environment["FLEET_WORKER_METRICS"] ?? "").split(separator: ",")
                .map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        )
        let dashboard = try Dashboard(
            sources: sources,
            sessions: AdminSessions(token: token),
            vhost: configuration.amqp.vhost,
            sampleInterval: .seconds(sampleInterval),
            logger: logger
        )
        let address = HTTPListenAddress(httpAddress)!
        if token == nil { logger.notice("dashboard read-only: no admin token configured") }
        do {
            try await dashboard.run(host: address.host, port: address.port) { bound in
                ObservabilityServer.announceListening(
                    bound,
                    addressFile: environment["FLEET_HTTP_ADDRESS_FILE"].flatMap { $0.isEmpty ? nil : $0 },
                    logger: logger
                )
            }
        } catch {
            await postgres.shutdown()
            try? await http.shutdown()
            throw error
        }
        await postgres.shutdown()
        try await http.shutdown()
    }

    /// The token from `path`, nil without a path; an unreadable or empty file is an error, so a typo
    /// does not silently leave the dashboard read-only.
    static func readToken(_ path: String?) throws -> String? {
        guard let path, !path.isEmpty else { return nil }
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw CommandError(description: "cannot read the admin token file \(path): \(error.localizedDescription)")
        }
        let token = text.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !token.isEmpty else { throw CommandError(description: "the admin token file \(path) is empty") }
        return token
    }

    static func sources(
        configuration: FleetConfiguration,
        topology: Topology,
        management: RabbitManagementClient,
        postgres: PostgresClient,
        workers: [String]
    ) -> DashboardSources {
        let admin = DeadLetterAdmin(topology: topology, signer: configuration.signing.signer)
        let scraper = WorkerScraper(http: management.http)
        let vhost = configuration.amqp.vhost
        return DashboardSources(
            topology: topology,
            managementURL: management.redactedURL,
            queueOverview: {
                QueueOverview.build(topology: topology, queues: try await management.queues(vhost: vhost))
            },
            deadLetters: { action, queues, filter, dryRun in
                try await withBroker(configuration) { connection in
                    try admin.run(action, queues: queues, filter: filter, dryRun: dryRun, on: connection)
                }
            },
            workerAddresses: workers,
            scrapeWorker: { address in WorkerMetricsSummary(samples: try await scraper.samples(at: address)) },
            schedules: {
                let schedules = try configuration.loadSchedules(topology: topology)
                let ledger = ScheduleLedger(holder: "dashboard", leaseTTL: .seconds(30))
                let names = schedules.map(\.name)
                let ticks = try await postgres.withConnection { connection in
                    try names.map { try ledger.lastTick(of: $0, on: connection) }
                }
                let now = Date()
                return zip(schedules, ticks).map { schedule, tick in
                    ScheduleStatus(
                        name: schedule.name,
                        cron: schedule.cron.text,
                        timeZone: schedule.timeZoneName,
                        jobType: schedule.jobType,
                        nextFire: schedule.nextFire(after: now),
                        lastTick: tick
                    )
                }
            },
            backups: {
                let layout = BackupLayout(root: configuration.backupDirectory)
                return BackupStore.allCases.map { store in
                    guard let newest = layout.newest(store) else {
                        return BackupStatus(
                            store: store.rawValue,
                            finishedAt: nil,
                            size: nil,
                            encrypted: false,
                            problem: nil
                        )
                    }
                    switch newest.manifest {
                    case .success(let manifest):
                        return BackupStatus(
                            store: store.rawValue,
                            finishedAt: manifest.finishedAt,
                            size: manifest.size,
                            encrypted: manifest.encrypted,
                            problem: nil
                        )
                    case .failure(let error):
                        return BackupStatus(
                            store: store.rawValue,
                            finishedAt: nil,
                            size: nil,
                            encrypted: false,
                            problem: "\(error)"
                        )
                    }
                }
            }
        )
    }
}
