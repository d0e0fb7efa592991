import FleetCore
import FleetJobs
import MongoDB
import Postgres
import Redis

/// Every job type this build of the fleet can run. Add a new type here (see the README).
public enum JobCatalog {
    /// - Parameter topology: each job type's dedup window (`queues.yaml`); nil: the 7-day default.
    public static func registry(stores: FleetStores, topology: Topology? = nil) -> JobRegistry {
        func window(_ type: String) -> Duration { topology?.dedupWindow(of: type) ?? Topology.defaultDedupWindow }
        var registry = followUpRegistry(postgres: stores.postgres, redis: stores.redis, mongodb: stores.mongodb)
        registry.register(EnrollmentUpdateHandler(postgres: stores.postgres))
        registry.register(EventRegisterHandler(graph: stores.graph, redis: stores.redis))
        registry.register(EventCancelHandler(graph: stores.graph, redis: stores.redis))
        registry.register(MentorshipStartHandler(graph: stores.graph))
        registry.register(MentorshipSessionLoggedHandler(graph: stores.graph))
        registry.register(
            AssessmentScoreHandler(
                mongodb: stores.mongodb,
                followUps: stores.followUps,
                dedupWindow: window(AssessmentScoreHandler.jobType)
            )
        )
        registry.register(
            ContentPublishHandler(
                mongodb: stores.mongodb,
                redis: stores.redis,
                dedupWindow: window(ContentPublishHandler.jobType)
            )
        )
        registry.register(
            ContentUnpublishHandler(
                mongodb: stores.mongodb,
                redis: stores.redis,
                dedupWindow: window(ContentUnpublishHandler.jobType)
            )
        )
        registry.register(
            JobMarketTrendIngestHandler(
                mongodb: stores.mongodb,
                dedupWindow: window(JobMarketTrendIngestHandler.jobType)
            )
        )
        registry.register(ActivityRecordHandler(buffer: stores.activity))
        registry.register(
            // The pass needs each job type's window (queues.yaml). A registry built without it (tools,
            // tests) has the handler for completeness; running it there fails (`unexpected_error`).
            MaintenanceRunHandler {
                guard let topology else { throw MaintenanceWithoutTopology() }
                return try await FleetMaintenance.prune(stores: stores, topology: topology).map(\.records).reduce(0, +)
            }
        )
        registry.register(
            BackupRunHandler { try FleetBackups.runner(configuration: stores.configuration, stores: stores) }
        )
        registry.register(
            BackupVerifyHandler { try FleetBackups.runner(configuration: stores.configuration, stores: stores) }
        )
        return registry
    }

    /// The job types each job type's handler enqueues as follow-ups: `fleet topology users` lets a
    /// worker's broker user publish exactly these. Keep in step with the handlers' publishes.
    public static let followUpTypes: [String: [String]] = [
        AssessmentScoreHandler.jobType: [
            ProfileCompletionRecalculateHandler.jobType, CareerProgressRecalculateHandler.jobType,
        ]
    ]

    /// The job types handlers enqueue as follow-ups, with which ``FollowUpPublisher`` validates them.
    static func followUpRegistry(postgres: PostgresClient, redis: RedisClient, mongodb: MongoClient) -> JobRegistry {
        var registry = JobRegistry()
        registry.register(
            ProfileCompletionRecalculateHandler(
                postgres: postgres,
                redis: redis,
                skills: MongoSkillsSource(mongodb: mongodb)
            )
        )
        registry.register(CareerProgressRecalculateHandler(postgres: postgres, mongodb: mongodb))
        return registry
    }
}

/// `maintenance.run` in a registry built without queues.yaml: the dedup windows are unknown.
struct MaintenanceWithoutTopology: Error, CustomStringConvertible {
    var description: String {
        "maintenance.run needs queues.yaml's dedup windows (JobCatalog.registry without a topology)"
    }
}
