import FleetCore
import FleetJobs
import FleetStoreKit
import Logging
import ServiceLifecycle

/// One worker (a manifest of `workers/`): a ``QueueConsumer`` per queue of its manifest, its
/// handlers calling the process's store clients. `fleet run` and the end-to-end tests build it the
/// same way.
public struct FleetWorker: Service {
    public let manifest: WorkerManifest
    public let stats = FleetStats()
    /// The stores this worker closes when it stops; nil when the caller shares them with other
    /// workers and closes them itself.
    private let ownStores: FleetStores?
    /// Why the worker cannot work now (broker blocked or disconnected, a queue missing), from all its
    /// consumers: what a readiness probe serves.
    public let readiness = WorkerReadiness()
    private let consumers: [QueueConsumer]
    private let logger: Logger

    /// - Parameter stores: the process's store clients, shared by all its workers; the caller closes
    ///   them (``FleetStores/shutdown()``) once every worker has stopped. nil: the worker opens its
    ///   own, with the pool sizes of `configuration`, and closes them when it stops.
    public init(
        manifest: WorkerManifest,
        topology: Topology,
        configuration: FleetConfiguration,
        stores: FleetStores? = nil,
        drainTimeout: Duration = .seconds(20),
        logger: Logger
    ) {
        self.manifest = manifest
        self.logger = logger
        ownStores =
            stores == nil ? FleetStores(configuration: configuration, exchange: topology.exchange, logger: logger) : nil
        let stores = stores ?? ownStores!
        let registry = JobCatalog.registry(stores: stores, topology: topology)
        let stats = self.stats
        let readiness = self.readiness
        // Stores behind blocking C clients: their jobs run on threads that may block (BlockingExecutor).
        let jobsBlock = !Set(manifest.stores).isDisjoint(with: Self.blockingStores)
        let service = manifest.name
        var observer: JobFinishedObserver?
        if let metrics = stores.performanceMetrics {
            observer = { job in metrics.record(job, service: service) }
        }
        consumers = manifest.queues.compactMap { topology.queue(named: $0) }.map { queue in
            QueueConsumer(
                queue: queue,
                topology: topology,
                registry: registry,
                classifier: .stores,
                amqp: configuration.amqp,
                concurrency: manifest.concurrency,
                drainTimeout: drainTimeout,
                jobsBlock: jobsBlock,
                stats: stats,
                readiness: readiness,
                logger: logger,
                signing: configuration.signing,
                onJobFinished: observer
            )
        }
    }

    /// The stores whose clients block a thread per call (libpq, hiredis, libmongoc).
    static let blockingStores: Set<String> = ["postgres", "redis", "mongodb"]

    /// Runs every consumer until graceful shutdown, then closes its own store clients, if any.
    public func run() async throws {
        await withTaskGroup(of: Void.self) { group in
            for consumer in consumers {
                group.addTask {
                    do {
                        try await consumer.run()
                    } catch {
                        logger.error("fleet.consumer failed", metadata: ["error": "\(error)"])
                    }
                }
            }
        }
        await ownStores?.shutdown()
        logger.info("fleet.worker stopped", metadata: ["worker": "\(manifest.name)", "summary": "\(stats.summary)"])
    }
}
