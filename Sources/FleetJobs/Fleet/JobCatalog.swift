import FleetCore

/// Every job type this build of the fleet can run. Add a new type here (see the README).
public enum JobCatalog {
    public static func registry(stores: FleetStores) -> JobRegistry {
        var registry = JobRegistry()
        registry.register(EnrollmentUpdateHandler(postgres: stores.postgres))
        registry.register(ProfileCompletionRecalculateHandler(postgres: stores.postgres, redis: stores.redis))
        registry.register(ContentPublishHandler(mongodb: stores.mongodb, redis: stores.redis))
        registry.register(ContentUnpublishHandler(mongodb: stores.mongodb, redis: stores.redis))
        registry.register(JobMarketTrendIngestHandler(mongodb: stores.mongodb))
        return registry
    }
}
