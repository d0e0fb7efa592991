import FleetCore
import Foundation
import Testing

@Suite("queues.yaml")
struct TopologyTests {
    static let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().path

    @Test func theRepositoryTopologyParses() throws {
        let topology = try Topology.load(path: "\(Self.repositoryRoot)/queues.yaml")
        #expect(topology.exchange == "jobs")
        #expect(topology.retry == .standard)
        let learning = try #require(topology.queue(forJobType: "enrollment.update"))
        #expect(learning.name == "fleet.learning")
        #expect(learning.prefetch == 100)
        #expect(learning.concurrency == 16)
        #expect(learning.queueType == "quorum")
        #expect(learning.deliveryLimit == 10)
        #expect(learning.ackDelay == .milliseconds(10))
        #expect(learning.retryQueue(delay: .seconds(120)) == "fleet.learning.retry.2m")
        #expect(learning.deadLetterQueue == "fleet.learning.dlq")
        #expect(topology.queue(forJobType: "profile.completion.recalculate")?.prefetch == 50)
        #expect(topology.deadline(of: "enrollment.update") == .seconds(30))
        let workers = try WorkerManifest.loadAll(directory: "\(Self.repositoryRoot)/workers", topology: topology)
        #expect(
            workers.map(\.name) == [
                "analytics", "career", "content", "learning", "networking", "ops", "profile", "skills", "trends",
            ]
        )
        // Every queue has a worker, so no job type is routed to a queue nothing consumes.
        let consumed = Set(workers.flatMap(\.queues))
        #expect(Set(topology.queues.map(\.name)).subtracting(consumed).isEmpty)
    }

    static let minimal = """
        job_types:
          a.job: {deadline: 10s}
        queues:
          q:
            job_types: [a.job]
        """

    @Test func defaultsApplyToAMinimalFile() throws {
        let topology = try Topology.parse(yaml: Self.minimal)
        #expect(topology.queues.first?.prefetch == 50)
        #expect(topology.queues.first?.concurrency == 8)
        #expect(topology.deadLetterExchange == "jobs.dead")
        #expect(topology.brokerConsumerTimeout == .seconds(1800))
        #expect(topology.dedupWindow(of: "a.job") == .seconds(7 * 86_400))
        #expect(topology.queues.first?.ackDelay == .milliseconds(10))
        #expect(topology.defaultAckDelay == .milliseconds(10))
    }

    @Test func ackDelayDefaultsPerFileAndPerQueue() throws {
        let yaml =
            "queue_defaults:\n  ack_delay: 2ms\n"
            + Self.minimal + "\n  r:\n    job_types: [b.job]\n    ack_delay: 250ms"
        let topology = try Topology.parse(
            yaml: yaml.replacingOccurrences(of: "{deadline: 10s}", with: "{deadline: 10s}\n  b.job: {deadline: 10s}")
        )
        #expect(topology.queue(named: "q")?.ackDelay == .milliseconds(2))
        #expect(topology.queue(named: "r")?.ackDelay == .milliseconds(250))
        // Queues made in code (the benchmark's) take the file's default.
        #expect(topology.defaultAckDelay == .milliseconds(2))
    }

    @Test func dedupWindowsDefaultPerFileAndPerType() throws {
        let yaml =
            "dedup_window: 2d\n"
            + Self.minimal.replacingOccurrences(
                of: "{deadline: 10s}",
                with: "{deadline: 10s, dedup_window: 36h}\n  b.job: {deadline: 10s}"
            )
        let topology = try Topology.parse(yaml: yaml)
        #expect(topology.dedupWindow(of: "a.job") == .seconds(36 * 3600))
        #expect(topology.dedupWindow(of: "b.job") == .seconds(2 * 86_400))
        #expect(DurationText.parse("7d") == .seconds(7 * 86_400))
        #expect(DurationText.format(.seconds(7 * 86_400)) == "7d")
    }

    @Test(arguments: [
        ("exchange: [1", "not valid YAML"),
        ("- a\n- b", "expected a mapping at the top level"),
        (minimal + "\nprefech: 3", "prefech: unknown key"),
        (minimal.replacingOccurrences(of: "10s", with: "ten"), "job_types.a.job.deadline: expected a duration"),
        (
            minimal.replacingOccurrences(of: "10s", with: "31m"),
            "job_types.a.job.deadline: must be below broker_consumer_timeout"
        ),
        (minimal.replacingOccurrences(of: "[a.job]", with: "[b.job]"), "queues.q.job_types: b.job is not declared"),
        (minimal + "\n  r:\n    job_types: [a.job]", "queues.r.job_types: a.job is already routed to queue q"),
        (minimal + "\n    prefetch: -1", "queues.q.prefetch: expected a positive integer"),
        (minimal + "\n    type: stream", "queues.q.type: expected quorum or classic"),
        (minimal + "\n    ack_delay: 2s", "queues.q.ack_delay: must be at most 1s"),
        (minimal + "\n    ack_delay: 0ms", "queues.q.ack_delay: expected a duration"),
        ("queue_defaults:\n  ack_delay: soon\n" + minimal, "queue_defaults.ack_delay: expected a duration"),
        (minimal + "\nretry:\n  delays: [5s, 1s]", "retry.delays: delays must be strictly ascending"),
        (minimal + "\nretry:\n  jitter: 1.5", "retry.jitter: expected a number from 0 up to 1"),
        ("job_types: {}\nqueues: {}", "queues: at least one queue is needed"),
        // Shorter than twice the 13m 36s retry schedule (and 1h): a retry could outlive its record.
        ("dedup_window: 30m\n" + minimal, "dedup_window: must be at least 1h"),
        (
            minimal.replacingOccurrences(of: "{deadline: 10s}", with: "{deadline: 10s, dedup_window: 20m}"),
            "job_types.a.job.dedup_window: must be at least 1h"
        ),
    ])
    func badFilesFailWithTheKeyAtFault(yaml: String, message: String) {
        do {
            _ = try Topology.parse(yaml: yaml, file: "queues.yaml")
            Issue.record("expected an error containing \(message)")
        } catch {
            #expect("\(error)".contains(message), "\(error)")
            #expect("\(error)".hasPrefix("queues.yaml: "))
        }
    }

    @Test func workerManifestsMustNameKnownQueuesAndStores() throws {
        let topology = try Topology.parse(yaml: Self.minimal)
        let good = try WorkerManifest.parse(
            yaml: "name: w\nqueues: [q]\nstores: [postgres]",
            file: "w.yaml",
            topology: topology
        )
        #expect(good.concurrency == nil)
        #expect(
            throws: ConfigurationError(file: "w.yaml", path: "queues", problem: "nope is not a queue of queues.yaml")
        ) {
            try WorkerManifest.parse(
                yaml: "name: w\nqueues: [nope]\nstores: [postgres]",
                file: "w.yaml",
                topology: topology
            )
        }
        #expect(throws: ConfigurationError.self) {
            try WorkerManifest.parse(yaml: "name: w\nqueues: [q]\nstores: [oracle]", file: "w.yaml", topology: topology)
        }
    }
}
