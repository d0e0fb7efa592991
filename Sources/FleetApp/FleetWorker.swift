import FleetCore
import FleetJobs
import FleetStoreKit
import Logging
import ServiceLifecycle

/// One worker process: a ``QueueConsumer`` per queue of its manifest, sharing the store clients.
/// `fleet run` and the end-to-end tests build it the same way.
public struct FleetWorker: Service {
    public let manifest: WorkerManifest
    public let stats = FleetStats()
    /// Why the worker cannot work now (broker blocked or disconnected, a queue missing), from all its
    /// consumers: what a readiness probe serves.
    public let readiness = WorkerReadiness()
    private let stores: FleetStores
    private let consumers: [QueueConsumer]
    private let logger: Logger

    public init(
        manifest: WorkerManifest,
        topology: Topology,
        configuration: FleetConfiguration,
        drainTimeout: Duration = .seconds(20),
        logger: Logger
    ) {
        self.manifest = manifest
        self.logger = logger
        let stores = FleetStores(configuration: configuration, exchange: topology.exchange, logger: logger)
        self.stores = stores
        let registry = JobCatalog.registry(stores: stores, topology: topology)
        let stats = self.stats
        let readiness = self.readiness
        // Stores behind blocking C clients: their jobs run on threads that may block (BlockingExecutor).
        let jobsBlock = !Set(manifest.stores).isDisjoint(with: Self.blockingStores)
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
                logger: logger
            )
        }
    }

    /// The stores whose clients block a thread per call (libpq, hiredis, libmongoc).
    static let blockingStores: Set<String> = ["postgres", "redis", "mongodb"]

    /// Runs every consumer until graceful shutdown, then closes the store clients.
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
        await stores.shutdown()
        logger.info("fleet.worker stopped", metadata: ["worker": "\(manifest.name)", "summary": "\(stats.summary)"])
    }
}
