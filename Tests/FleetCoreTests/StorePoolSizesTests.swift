import FleetCore
import Foundation
import Testing

/// One pool per store per process, sized from the manifests the process runs.
@Suite("Store pool sizes")
struct StorePoolSizesTests {
    static let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().path
    let topology = try! Topology.load(path: "\(StorePoolSizesTests.repositoryRoot)/queues.yaml")

    func manifests(_ names: [String]? = nil) throws -> [WorkerManifest] {
        try WorkerManifest.loadAll(directory: "\(Self.repositoryRoot)/workers", topology: topology)
            .filter { names?.contains($0.name) ?? true }
    }

    @Test func aStoresPoolHoldsTheJobsThatCanUseItAtOnce() throws {
        // learning: fleet.learning runs 16 at once (queues.yaml), PostgreSQL only.
        let learning = StorePoolSizes.forWorkers(try manifests(["learning"]), topology: topology)
        #expect(learning.connections == ["postgres": 16])
        // profile overrides its queue's concurrency with 8 in its manifest; content runs 8.
        let two = StorePoolSizes.forWorkers(try manifests(["profile", "content"]), topology: topology)
        #expect(two.connections == ["postgres": 8, "redis": 16, "mongodb": 16])
    }

    @Test func everyWorkerInOneProcessSharesCappedPools() throws {
        let all = StorePoolSizes.forWorkers(try manifests(), topology: topology)
        // postgres: career 8 + learning 16 + profile 8 + ops 1 = 33, capped; redis: content, networking,
        // profile 8 each, analytics 32 and ops 1 = 57, capped; mongodb: five workers of 8 + ops 1, capped;
        // neo4j: networking 8 + ops 1; clickhouse: analytics 32 + ops 1, capped (FleetStores opens at
        // most ClickHouseConfiguration.maxConnections, 4: rows go in batches).
        #expect(all.connections == ["postgres": 32, "redis": 32, "mongodb": 32, "neo4j": 9, "clickhouse": 32])
        #expect(StorePoolSizes.defaultCap == 32)
        // 137 connections at most for the whole fleet in one process, where a set of 16-connection
        // pools per manifest allowed 8 x 4 x 16 = 512.
        #expect(all.connections.values.reduce(0, +) == 137)
    }

    @Test func anUnusedStoreGetsNothingAndACapBounds() throws {
        let trends = StorePoolSizes.forWorkers(try manifests(["trends"]), topology: topology)
        #expect(trends["postgres"] == 0 && trends["neo4j"] == 0 && trends["mongodb"] == 8)
        // A pool must allow one connection; it starts no thread until called.
        #expect(trends.maxConnections("postgres") == 1)
        let capped = StorePoolSizes.forWorkers(try manifests(["learning"]), topology: topology, cap: 4)
        #expect(capped["postgres"] == 4)
        // A store listed twice in one manifest counts its jobs once.
        let twice = WorkerManifest(name: "x", queues: ["fleet.trends"], concurrency: 3, stores: ["mongodb", "mongodb"])
        #expect(StorePoolSizes.forWorkers([twice], topology: topology)["mongodb"] == 3)
    }
}
