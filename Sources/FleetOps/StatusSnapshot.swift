import FleetCore
import Foundation

/// One worker process as `fleet status` shows it: its metrics summary, or why it could not be read.
public struct WorkerStatus: Sendable, Equatable {
    /// The address as given, without any credentials.
    public var address: String
    public var summary: WorkerMetricsSummary?
    /// Why the scrape failed (unreachable, not a metrics page, …); nil when ``summary`` is set.
    public var error: String?

    public init(address: String, summary: WorkerMetricsSummary?, error: String?) {
        self.address = address
        self.summary = summary
        self.error = error
    }
}

/// What `fleet status` (and its `--watch` frames) shows: every work queue of the topology from the
/// broker's management API, and every given worker from its `/metrics`. A worker that cannot be read
/// is reported as such; only a failing management API fails the snapshot.
public struct StatusSnapshot: Sendable, Equatable {
    public var takenAt: Date
    public var vhost: String
    public var queues: [QueueOverview]
    public var workers: [WorkerStatus]

    public init(takenAt: Date, vhost: String, queues: [QueueOverview], workers: [WorkerStatus]) {
        self.takenAt = takenAt
        self.vhost = vhost
        self.queues = queues
        self.workers = workers
    }

    /// Reads the queues of `vhost` and the workers at `workerAddresses` (`host:port` or URLs) at once.
    public static func take(
        topology: Topology,
        management: RabbitManagementClient,
        vhost: String,
        workerAddresses: [String]
    ) async throws -> StatusSnapshot {
        let scraper = WorkerScraper(http: management.http)
        async let managed = management.queues(vhost: vhost)
        let workers = await withTaskGroup(of: (Int, WorkerStatus).self) { group in
            for (index, address) in workerAddresses.enumerated() {
                group.addTask {
                    let shown = Self.withoutCredentials(address)
                    do {
                        let samples = try await scraper.samples(at: address)
                        return (
                            index,
                            WorkerStatus(address: shown, summary: WorkerMetricsSummary(samples: samples), error: nil)
                        )
                    } catch {
                        return (
                            index,
                            WorkerStatus(address: shown, summary: nil, error: Self.withoutCredentials("\(error)"))
                        )
                    }
                }
            }
            var results: [(Int, WorkerStatus)] = []
            for await result in group { results.append(result) }
            return results.sorted { $0.0 < $1.0 }.map(\.1)
        }
        let queues = QueueOverview.build(topology: topology, queues: try await managed)
        return StatusSnapshot(takenAt: Date(), vhost: vhost, queues: queues, workers: workers)
    }

    /// `text` with the `user:password@` of any URL in it removed (a worker URL may carry them).
    public static func withoutCredentials(_ text: String) -> String {
        guard text.contains("@") else { return text }
        var result = ""
        var rest = Substring(text)
        while let scheme = rest.range(of: "://") {
            result += rest[..<scheme.upperBound]
            rest = rest[scheme.upperBound...]
            let authorityEnd = rest.firstIndex { $0 == "/" || $0 == " " || $0 == "?" || $0 == "#" } ?? rest.endIndex
            if let at = rest[..<authorityEnd].lastIndex(of: "@") {
                rest = rest[rest.index(after: at)...]
            }
        }
        return result + rest
    }
}

// MARK: - JSON

/// The `--json` document: stable snake_case keys, every key always present (null when unknown).
extension StatusSnapshot: Encodable {
    private enum Keys: String, CodingKey {
        case takenAt = "taken_at"
        case vhost, queues, workers
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.container(keyedBy: Keys.self)
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        try container.encode(formatter.string(from: takenAt), forKey: .takenAt)
        try container.encode(vhost, forKey: .vhost)
        try container.encode(queues.map(QueueJSON.init), forKey: .queues)
        try container.encode(workers.map(WorkerJSON.init), forKey: .workers)
    }

    /// The document as UTF-8 JSON, keys sorted, indented.
    public func json() throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
        return String(decoding: try encoder.encode(self), as: UTF8.self)
    }
}

private struct QueueJSON: Encodable {
    let queue: QueueOverview
    init(_ queue: QueueOverview) { self.queue = queue }

    enum Keys: String, CodingKey {
        case name, exists, ready, unacked, consumers, retrying
        case publishRate = "publish_rate"
        case deliverRate = "deliver_rate"
        case deadLettered = "dead_lettered"
    }

    func encode(to encoder: Encoder) throws {
        var container = encoder.container(keyedBy: Keys.self)
        try container.encode(queue.name, forKey: .name)
        try container.encode(queue.exists, forKey: .exists)
        try container.encode(queue.ready, forKey: .ready)
        try container.encode(queue.unacked, forKey: .unacked)
        try container.encode(queue.consumers, forKey: .consumers)
        try container.encode(queue.publishRate, forKey: .publishRate)
        try container.encode(queue.deliverRate, forKey: .deliverRate)
        try container.encode(queue.retrying, forKey: .retrying)
        try container.encode(queue.deadLettered, forKey: .deadLettered)
    }
}

private struct WorkerJSON: Encodable {
    let worker: WorkerStatus
    init(_ worker: WorkerStatus) { self.worker = worker }

    enum Keys: String, CodingKey {
        case address, reachable, error, jobs, failures
        case deadLettered = "dead_lettered"
        case inFlight = "in_flight"
        case p50 = "p50_seconds"
        case p99 = "p99_seconds"
    }

    func encode(to encoder: Encoder) throws {
        var container = encoder.container(keyedBy: Keys.self)
        let summary = worker.summary
        try container.encode(worker.address, forKey: .address)
        try container.encode(summary != nil, forKey: .reachable)
        try container.encode(worker.error, forKey: .error)
        try container.encode(summary?.jobs, forKey: .jobs)
        try container.encode(summary?.failures, forKey: .failures)
        try container.encode(summary?.deadLettered, forKey: .deadLettered)
        try container.encode(summary?.inFlight, forKey: .inFlight)
        try container.encode(summary?.p50, forKey: .p50)
        try container.encode(summary?.p99, forKey: .p99)
    }
}
