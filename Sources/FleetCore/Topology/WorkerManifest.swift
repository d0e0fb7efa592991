import Foundation

/// `workers/<name>.yaml`: which queues a worker process consumes, how many jobs it runs at once
/// per queue, and which stores it needs.
public struct WorkerManifest: Sendable, Equatable {
    public static let knownStores: Set<String> = ["postgres", "redis", "mongodb", "neo4j", "clickhouse"]

    public var name: String
    public var queues: [String]
    /// Overrides the queues' own concurrency from `queues.yaml` when set.
    public var concurrency: Int?
    public var stores: [String]

    public init(name: String, queues: [String], concurrency: Int? = nil, stores: [String]) {
        self.name = name
        self.queues = queues
        self.concurrency = concurrency
        self.stores = stores
    }

    public static func load(path: String, topology: Topology) throws -> WorkerManifest {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw ConfigurationError(file: path, path: "", problem: "cannot read the file")
        }
        return try parse(yaml: text, file: path, topology: topology)
    }

    public static func parse(yaml: String, file: String, topology: Topology) throws -> WorkerManifest {
        let root = try YAMLReader(file: file, text: yaml)
        try root.allowOnly(["name", "queues", "concurrency", "stores"])
        let queues = try root.strings("queues")
        for queue in queues where topology.queue(named: queue) == nil {
            throw root.fail("queues", "\(queue) is not a queue of queues.yaml")
        }
        let stores = try root.strings("stores")
        for store in stores where !knownStores.contains(store) {
            throw root.fail("stores", "\(store) is not one of \(knownStores.sorted().joined(separator: ", "))")
        }
        return WorkerManifest(
            name: try root.string("name"),
            queues: queues,
            concurrency: try root.optionalPositiveInt("concurrency"),
            stores: stores
        )
    }

    /// Every manifest in `directory`, by name.
    public static func loadAll(directory: String, topology: Topology) throws -> [WorkerManifest] {
        let files = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        return try files.filter { $0.hasSuffix(".yaml") }.sorted().map {
            try load(path: "\(directory)/\($0)", topology: topology)
        }
    }
}
