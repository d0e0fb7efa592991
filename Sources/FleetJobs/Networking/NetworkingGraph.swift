/// Names the networking jobs share in the graph.
public enum NetworkingGraph {
    /// One node per applied job, keyed `"<type> <deduplication key>"`, unique (GraphMigrations).
    /// Created by the same query as the job's effect, so the effect and its record are one.
    public static let appliedJobLabel = "FleetAppliedJob"
}
