import ArgumentParser
import FleetApp
import FleetCore
import FleetJobs
import Logging
import ServiceLifecycle

struct Run: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run workers until SIGTERM or SIGINT, then drain gracefully.",
        discussion: """
            Without --worker, runs every manifest in workers/ in this process. The workers of one process \
            share one pool per store, sized from their manifests: the sum of the concurrency of the \
            queues whose manifest names the store, at most 32 connections (no thread and no connection \
            for a store none names). On SIGTERM/SIGINT the \
            workers stop consuming, let in-flight jobs finish for --drain-timeout, and leave the rest \
            unacked for redelivery; a summary of outcomes is printed at the end, and the process exits \
            within a few seconds of the drain timeout whatever the broker does. FLEET_AMQP_URL may list \
            several nodes, comma-separated: an unreachable broker at start (every node) is an error \
            naming its address; once running, workers reconnect to the next node with backoff. During a \
            broker alarm, acks keep flowing; jobs whose retry or dead-letter copy cannot be published wait \
            unacked until it clears. A missing queue is waited for and consumed once declared. \
            --with-scheduler also runs the scheduler role (as `fleet schedule run`: schedules.yaml, the \
            fenced lease, and an outbox relay) in this process, with --lease-ttl and --replica. \
            --http-address (or FLEET_HTTP_ADDRESS) serves GET /metrics (Prometheus text), /healthz and \
            /readyz: 503 with one reason a line while a broker connection of a worker is down or blocked, \
            a queue is missing, or a store its manifests name did not answer its last probe (every 5 s). \
            FLEET_OTEL_EXPORTER=otlp exports a span per job, with its store calls as child spans, over \
            OTLP/HTTP to OTEL_EXPORTER_OTLP_ENDPOINT (default http://localhost:4318).
            """
    )

    @OptionGroup var common: CommonOptions

    @Option(help: "Run only this worker (the name of a workers/<name>.yaml manifest).")
    var worker: String?

    @Option(help: "Seconds in-flight jobs may take to finish after a shutdown signal.")
    var drainTimeout: Int = 20

    @Flag(help: "Also run the scheduler role (see `fleet schedule run`) in this process.")
    var withScheduler = false

    @OptionGroup var scheduler: SchedulerOptions

    @OptionGroup var observability: ObservabilityOptions

    func run() async throws {
        let logger = bootstrapLogging(defaultLevel: .info)
        // Which servers this process needs is known once the manifests are read.
        let configuration = try common.configuration(requiring: [])
        let topology = try configuration.loadTopology()
        var manifests = try WorkerManifest.loadAll(directory: configuration.workersDirectory, topology: topology)
        if let worker {
            manifests = manifests.filter { $0.name == worker }
            guard !manifests.isEmpty else {
                throw ValidationError("no worker named \(worker) in \(configuration.workersDirectory)")
            }
        }
        guard !manifests.isEmpty else {
            throw ValidationError("no worker manifests in \(configuration.workersDirectory)")
        }
        try configuration.require(servers(manifests: manifests, configuration: configuration))
        // Fail fast, naming the address, when the broker is unreachable at start.
        _ = try await withBroker(configuration) { _ in true }
        // Before the store clients and consumers make their metrics.
        observability.bootstrapMetrics()
        let traceExport = try TraceExport.bootstrap()
        // One set of store pools for the whole process, sized from the manifests it runs.
        let poolSizes = StorePoolSizes.forWorkers(manifests, topology: topology)
        logger.info(
            "fleet.store pools",
            metadata: poolSizes.connections.sorted { $0.key < $1.key }.reduce(into: [:]) { $0[$1.key] = "\($1.value)" }
        )
        let stores = FleetStores(
            configuration: configuration,
            poolSizes: poolSizes,
            exchange: topology.exchange,
            logger: logger
        )
        let workers = manifests.map {
            FleetWorker(
                manifest: $0,
                topology: topology,
                configuration: configuration,
                stores: stores,
                drainTimeout: .seconds(drainTimeout),
                logger: logger
            )
        }
        let role =
            withScheduler
            ? try scheduler.services(configuration: configuration, topology: topology, logger: logger) : nil
        // Ready when every worker is and each store its manifests name answers its probe.
        let readinesses = workers.map(\.readiness)
        let probed = Set(manifests.flatMap(\.stores)).intersection(FleetStores.probedStores)
        var probes: [String: @Sendable () async throws -> Void] = [:]
        for store in probed { probes[store] = { try await stores.probe(store) } }
        let listener = observability.server(
            processReasons: { readinesses.flatMap { $0.currentReasons.map(\.description) } },
            stores: probes,
            logger: logger
        )
        // First in the list: a service group stops its services in reverse order, so the listener
        // answers scrapes and probes until the workers have drained.
        // The span exporter first of all: stopped last, it exports the workers' last spans.
        var services: [ServiceGroupConfiguration.ServiceConfiguration] = []
        if let traceExport { services.append(.init(service: traceExport)) }
        if let listener { services.append(.init(service: listener)) }
        services += workers.map { .init(service: $0) }
        services += role?.services ?? []
        let group = ServiceGroup(
            configuration: .init(
                services: services,
                gracefulShutdownSignals: [.sigterm, .sigint],
                logger: logger
            )
        )
        var failure: Error?
        do { try await group.run() } catch { failure = error }
        // Every worker has stopped: wait for follow-up confirms, then close the shared stores.
        await stores.shutdown()
        await role?.shutdown()
        if let failure { throw failure }
        if let role { print(role.summary) }
        for worker in workers {
            print("worker \(worker.manifest.name): \(worker.stats.summary)")
        }
    }

    /// The broker, the stores the manifests name, PostgreSQL for the scheduler role, and ClickHouse
    /// when performance metrics are on.
    private func servers(manifests: [WorkerManifest], configuration: FleetConfiguration) -> Set<FleetServer> {
        var servers: Set<FleetServer> = [.amqp]
        servers.formUnion(manifests.flatMap(\.stores).compactMap(FleetServer.init(store:)))
        if withScheduler { servers.insert(.postgres) }
        if configuration.performanceMetrics { servers.insert(.clickhouse) }
        return servers
    }
}
