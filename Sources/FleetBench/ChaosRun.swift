import AMQP
import FleetApp
import FleetContract
import FleetCore
import FleetProducer
import Foundation
import Logging
import Postgres
import Synchronization

/// The Swift steps of `scripts/chaos.sh` (`fleet chaos prepare | publish | verify`); the script
/// starts the servers and workers and injects the faults between them. Each step remakes the same
/// ``ChaosPlan`` from the run's state file.
public struct ChaosRun: Sendable {
    let configuration: FleetConfiguration
    let logger: Logger

    public init(configuration: FleetConfiguration, logger: Logger) {
        self.configuration = configuration
        self.logger = logger
    }

    /// Migrates and seeds the stores for a run of `total` messages, and writes its state to `statePath`.
    /// Returns a line describing the plan.
    public func prepare(total: Int, statePath: String) async throws -> String {
        let state = ChaosState(
            namespace: BenchMix.randomNamespace(),
            run: 1,
            total: total,
            // In the past (dedup records must fall inside the window), whole milliseconds.
            baseMilliseconds: Int64((Date().timeIntervalSince1970 - 600) * 1000)
        )
        let plan = ChaosPlan(state: state)
        try await withStores { stores in
            try await stores.migrate()
            try await plan.mix.mix.seed(stores)
            try await plan.mix.mix.reset(plan.mix, stores)
        }
        try state.save(statePath)
        return
            "chaos plan: \(plan.messages.count) messages: \(plan.valid) valid jobs, \(plan.duplicates) duplicates, "
            + "\(plan.malformed.count) malformed (namespace \(state.namespace))"
    }

    /// Publishes the plan's messages evenly over `seconds`, each until the broker confirms it, through
    /// any broker fault. Writes the ids that needed more than one attempt (the broker may hold two
    /// copies of them) to `republishedPath`, one a line. Returns a line describing what it did.
    public func publish(statePath: String, seconds: Double, republishedPath: String) async throws -> String {
        let plan = ChaosPlan(state: try ChaosState.load(statePath))
        let topology = try configuration.loadTopology()
        let producer = JobProducer(
            amqp: configuration.amqp,
            exchange: topology.exchange,
            retry: PublishRetry(attempts: 1),
            logger: logger
        )
        let republished = RepublishedIds()
        let started = ContinuousClock.now
        let interval = seconds / Double(max(1, plan.messages.count))
        do {
            try await withThrowingTaskGroup(of: Void.self) { tasks in
                for (index, message) in plan.messages.enumerated() {
                    if index >= 200 { try await tasks.next() }
                    let due = started + .milliseconds(Int(Double(index) * interval * 1000))
                    if due > .now { try await Task.sleep(until: due, clock: .continuous) }
                    tasks.addTask {
                        if try await Self.publishUntilConfirmed(message, producer: producer) > 1 {
                            republished.add(message.messageId)
                        }
                    }
                }
                try await tasks.waitForAll()
            }
        } catch {
            await producer.shutdown()
            throw error
        }
        await producer.shutdown()
        let ids = republished.all
        try (ids.map { $0 + "\n" }.joined()).write(toFile: republishedPath, atomically: true, encoding: .utf8)
        let took = (ContinuousClock.now - started).seconds
        return "chaos publish: \(plan.messages.count) messages confirmed in \(String(format: "%.1f", took)) s, "
            + "\(ids.count) needed another attempt"
    }

    /// Publishes one message until confirmed; returns the attempts it took. Retries what
    /// ``PublishRetry`` deems retryable, every second, for up to 10 minutes (a bounded suite).
    static func publishUntilConfirmed(_ message: ChaosMessage, producer: JobProducer) async throws -> Int {
        // Routing key and message id come from the envelope; the body is published as it is.
        let envelope = JobEnvelope(id: message.messageId, type: message.routingKey, createdAt: Date(), payload: [:])
        var attempt = 1
        while true {
            do {
                try await producer.publish(envelope: envelope, body: message.body)
                return attempt
            } catch  where attempt < 600 && PublishRetry.isRetryable(error) {
                try await Task.sleep(for: .seconds(1))
                attempt += 1
            }
        }
    }

    /// Checks the queues and the stores after the run; returns the summary (``ChaosVerdict``).
    public func verify(statePath: String, republishedPath: String?, redisLostData: Bool) async throws -> ChaosVerdict {
        let state = try ChaosState.load(statePath)
        let plan = ChaosPlan(state: state)
        let republished = Set(
            (republishedPath.flatMap { try? String(contentsOfFile: $0, encoding: .utf8) } ?? "")
                .split(separator: "\n").map(String.init)
        )
        let topology = try configuration.loadTopology()
        var verdict = ChaosVerdict(published: plan.messages.count, valid: plan.valid, malformed: plan.malformed.count)
        let queues = ChaosQueues(topology: topology)
        let (depths, deadLetters) = try await AMQPConnection.withDedicatedThread(configuration.amqp) { connection in
            try (queues.depths(on: connection), queues.deadLetters(on: connection))
        }
        verdict.checkQueues(depths)
        verdict.checkDeadLetters(deadLetters, plan: plan, republished: republished)
        try await withStores { stores in
            var check = BenchMixCheck(plan: plan.mix, stores: stores)
            check.redisMayHaveLostData = redisLostData
            try await check.run()
            verdict.addStoreCheck(problems: check.problems, lost: check.lost, duplicated: check.duplicated)
        }
        return verdict
    }

    private func withStores<T: Sendable>(_ body: (BenchDomainStores) async throws -> T) async throws -> T {
        let postgres = PostgresClient(configuration: configuration.postgres, maxConnections: 2)
        do {
            let result = try await BenchDomainStores.with(configuration, postgres: postgres, body)
            await postgres.shutdown()
            return result
        } catch {
            await postgres.shutdown()
            throw error
        }
    }
}

/// The ids the publisher had to send more than once, collected from its concurrent publishes.
private final class RepublishedIds: Sendable {
    private let ids = Mutex<[String]>([])

    func add(_ id: String) { ids.withLock { $0.append(id) } }

    var all: [String] { ids.withLock { $0 } }
}
