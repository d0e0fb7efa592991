import AMQP
import Bolt
import FleetContract
import FleetCore
import Foundation
import Logging
import MongoDB
import Testing

/// One worker process running the corpus's queues (learning, skills, content, trends, networking) in
/// a vhost and databases of its own, with its metrics listener on; publishes corpus messages and
/// checks how each ended.
struct HostileCorpusRun {
    static let workers = ["learning", "skills", "content", "trends", "networking"]
    /// The corpus user and event ids (see corpus.jsonl), which no other test uses in the shared graph.
    static let corpusGraphIds = ["7c9e6679-7425-40de-944b-e07fc1f90ae7", "16fd2706-8baf-433b-82eb-8c7fada847da"]

    let environment: FleetTestEnvironment
    let worker: ObservabilityEndToEndTests.ObservedWorker
    var queues: Set<String> { Set(environment.topology.queues.map(\.name)).intersection(declaredQueues) }
    let declaredQueues: Set<String>

    /// One process for all five workers: a private copy of the configuration holding only their
    /// manifests (`fleet run` without `--worker` runs every manifest it finds).
    static func start(_ name: String) async throws -> HostileCorpusRun {
        let environment = try await FleetTestEnvironment.make(
            name,
            retryDelays: "[1s, 5s, 30s, 2m, 10m]",
            workers: workers
        )
        let workersDirectory = "\(environment.configuration.configDirectory)/workers"
        for file in try FileManager.default.contentsOfDirectory(atPath: workersDirectory)
        where !workers.contains(String(file.dropLast(".yaml".count))) {
            try FileManager.default.removeItem(atPath: "\(workersDirectory)/\(file)")
        }
        let addressFile = "\(NSTemporaryDirectory())/\(environment.name).http"
        let process = try WorkerProcess(
            arguments: ["run", "--config-dir", environment.configuration.configDirectory, "--drain-timeout", "5"],
            environment: environment.processEnvironment.merging([
                "FLEET_HTTP_ADDRESS": "127.0.0.1:0", "FLEET_HTTP_ADDRESS_FILE": addressFile, "FLEET_LOG_LEVEL": "info",
            ]) { $1 },
            logName: "\(environment.name)-corpus"
        )
        let worker = try await ObservabilityEndToEndTests.ObservedWorker.listening(
            process,
            addressFile: addressFile,
            environment: environment
        )
        let manifests = try WorkerManifest.loadAll(
            directory: environment.configuration.workersDirectory,
            topology: environment.topology
        )
        return HostileCorpusRun(
            environment: environment,
            worker: worker,
            declaredQueues: Set(manifests.flatMap(\.queues))
        )
    }

    var process: WorkerProcess { worker.process }

    /// The worker's resident set now, in bytes.
    var rss: Int { RSSSampler.field("VmRSS", of: process.process.processIdentifier) ?? 0 }

    /// Publishes with publisher confirms, one at a time (large bodies included), on a thread with a
    /// 512 MiB stack: the client encodes header tables recursively, and the corpus's are nested
    /// 10,000 deep (a worker reads only 64 levels of them: AMQPFieldValue.maximumDepth).
    func publish(_ messages: [AMQPOutgoingMessage]) async throws {
        let configuration = environment.configuration.amqp
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, Error>) in
            let thread = Thread {
                do {
                    let connection = try AMQPConnection.open(configuration)
                    defer { connection.close() }
                    try connection.enableConfirms()
                    for message in messages { try connection.publishConfirmed(message, timeout: .seconds(300)) }
                    continuation.resume()
                } catch {
                    continuation.resume(throwing: error)
                }
            }
            thread.stackSize = 512 << 20
            thread.start()
        }
    }

    /// Publishes `count` messages from `make` with publisher confirms, 500 in flight (AMQPClient reads
    /// the confirms as they come, so none stall the channel). Unconfirmed, the broker once dropped the last 74 of
    /// 100,000 messages when the publishing connection closed, and the wait for their dead letters
    /// never ended.
    func publishBulk(count: Int, _ make: @escaping @Sendable (Int) -> AMQPOutgoingMessage) async throws {
        let client = AMQPClient(
            configuration: environment.configuration.amqp,
            logger: Logger(label: "corpus-publisher")
        )
        client.start()
        do {
            try await withThrowingTaskGroup(of: Void.self) { group in
                for index in 0..<count {
                    if index >= 500 { try await group.next() }
                    group.addTask {
                        var message = make(index)
                        message.mandatory = false
                        try await client.publish(message)
                    }
                }
                try await group.waitForAll()
            }
        } catch {
            await client.shutdown()
            throw error
        }
        await client.shutdown()
    }

    /// Sum of the DLQ depths of the corpus queues, per queue.
    func deadLetterDepths() async throws -> [String: UInt32] {
        var depths: [String: UInt32] = [:]
        for queue in queues { depths[queue] = try await environment.queueDepth("\(queue).dlq") }
        return depths
    }

    /// Waits until each queue's DLQ holds `expected[queue]` messages and the work queues are empty.
    func waitForDeadLetters(_ expected: [String: Int], timeout: Duration = .seconds(300)) async throws {
        let wanted = queues.reduce(into: [String: UInt32]()) { $0[$1] = UInt32(expected[$1] ?? 0) }
        try await environment.waitUntil("dead letters \(wanted.sorted { $0.key < $1.key })", timeout: timeout) {
            guard process.isRunning else { throw HarnessError(description: "the worker exited") }
            return try await deadLetterDepths() == wanted
        }
    }

    /// `message id → reason` of every dead letter of the corpus queues.
    func deadLetterReasons() async throws -> [String: String] {
        var reasons: [String: String] = [:]
        for queue in queues.sorted() {
            for entry in try await environment.deadLetters(queue) {
                reasons[entry.messageId ?? "-"] = entry.reason
            }
        }
        return reasons
    }

    /// Empties the corpus queues' DLQs.
    func purgeDeadLetters() async throws {
        let names = queues.map { "\($0).dlq" }
        try await AMQPConnection.withDedicatedThread(environment.configuration.amqp) { connection in
            for name in names { _ = try connection.purgeQueue(name) }
        }
    }

    /// Document counts of the collections the corpus's job types write.
    func documentCounts() async throws -> [String: Int] {
        try await environment.mongodb.withConnection { connection in
            var counts: [String: Int] = [:]
            for collection in ["user_skills", "content", "job_market_trends"] {
                counts[collection] = try connection.collection(collection).countDocuments()
            }
            return counts
        }
    }

    /// Row counts of the PostgreSQL tables the corpus's job types (and the ledger) write.
    func rowCounts() async throws -> [String: Int] {
        [
            "user_courses": try await environment.count("SELECT count(*) AS n FROM user_courses"),
            "courses.total_enrollments": try await environment.count(
                "SELECT coalesce(sum(total_enrollments), 0)::int AS n FROM courses"
            ),
            "fleet_applied_jobs": try await environment.count("SELECT count(*) AS n FROM fleet_applied_jobs"),
        ]
    }

    /// Relationships and nodes of the corpus's user and event ids in the shared graph.
    func graphCount() async throws -> Int {
        let graph = BoltClient(configuration: environment.configuration.bolt, maxConnections: 1)
        var total = 0
        do {
            for id in Self.corpusGraphIds {
                let result = try await graph.run(
                    "MATCH (n) WHERE n.user_id = $id OR n.event_id = $id RETURN count(n) AS n",
                    parameters: ["id": .string(id)]
                )
                total += Int(result.first("n")?.int ?? 0)
            }
        } catch {
            await graph.shutdown()
            throw error
        }
        await graph.shutdown()
        return total
    }

    /// The values of `field` in the MongoDB `collection`.
    func storedValues(_ collection: String, field: String) async throws -> Set<String> {
        try await environment.mongodb.withConnection { connection in
            Set(try connection.collection(collection).find().compactMap { $0[field]?.stringValue })
        }
    }

    /// The `type` label values on the worker's `/metrics`.
    func metricTypeLabels() async throws -> Set<String> {
        let samples = try await worker.metrics()
        var types: Set<String> = []
        for series in samples.keys {
            // `{type="…"` or `,type="…"`: the label itself, not one ending in `type` such as `job_type`.
            for marker in ["{type=\"", ",type=\""] {
                guard let start = series.range(of: marker) else { continue }
                let rest = series[start.upperBound...]
                if let end = rest.firstIndex(of: "\"") { types.insert(String(rest[..<end])) }
            }
        }
        return types
    }

    /// `fleet_jobs_dead_lettered_total` of `queue`, `type` and `reason`; 0 when absent.
    func deadLetteredCounter(queue: String, type: String, reason: String) async throws -> Double {
        let samples = try await worker.metrics()
        let key = samples.keys.first {
            $0.hasPrefix("fleet_jobs_dead_lettered_total{") && $0.contains("queue=\"\(queue)\"")
                && $0.contains("type=\"\(type)\"") && $0.contains("reason=\"\(reason)\"")
        }
        return key.flatMap { samples[$0] } ?? 0
    }

    /// Characters a terminal acts on or reorders by: controls other than the line feed, format
    /// characters (bidi overrides and isolates, zero-width ones) and line/paragraph separators.
    static func rawHostileScalars(_ text: String) -> [Unicode.Scalar] {
        text.unicodeScalars.filter { scalar in
            guard scalar != "\n" else { return false }
            switch scalar.properties.generalCategory {
            case .control, .format, .lineSeparator, .paragraphSeparator: return true
            default: return false
            }
        }
    }

    func stop() async {
        await worker.process.stop()
        await environment.tearDown()
    }
}

extension HostileCorpus.Entry {
    var expectedReason: String? {
        if case .deadLettered(let reason) = expectation { return reason }
        return nil
    }
}
