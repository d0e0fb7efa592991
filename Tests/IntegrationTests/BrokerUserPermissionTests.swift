import AMQP
import FleetApp
import FleetCore
import Foundation
import Testing

/// `fleet topology users` applied to the RabbitMQ of `scripts/services.sh` with its own rabbitmqctl
/// script, in a vhost of its own: each user can do its job and every other operation tried is
/// refused at once with ACCESS_REFUSED. User names are global to the broker, so the test prefixes
/// them (the permissions are the generated ones) and deletes them at the end.
@Suite("Broker users (fleet topology users)")
struct BrokerUserPermissionTests {
    static let rabbitmqctl = ProcessInfo.processInfo.environment["FLEET_RABBITMQCTL"]
    static let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().path

    @Test(
        "A worker consumes only its queue, publishes its own copies and follow-ups; the producer only publishes jobs",
        .enabled(if: rabbitmqctl != nil),
        .timeLimit(.minutes(5))
    )
    func generatedPermissionsHoldOnTheBroker() async throws {
        let rabbitmqctl = try #require(Self.rabbitmqctl)
        let topology = try Topology.load(path: "\(Self.repositoryRoot)/queues.yaml")
        let manifests = try WorkerManifest.loadAll(directory: "\(Self.repositoryRoot)/workers", topology: topology)
        let run = UInt32.random(in: 0...UInt32.max)
        let prefix = "t\(run)-"
        // The users this test logs in as; applying all eleven would only take longer.
        let wanted: Set = [
            BrokerUsers.workerName("learning"), BrokerUsers.workerName("skills"), BrokerUsers.producerName,
            BrokerUsers.operatorName,
        ]
        let users = BrokerUsers.plan(topology: topology, manifests: manifests, followUps: JobCatalog.followUpTypes)
            .filter { wanted.contains($0.name) }
            .map { user -> BrokerUser in
                var renamed = user
                renamed.name = prefix + user.name
                return renamed
            }
        #expect(users.count == wanted.count)
        let vhost = "priv_users_\(run)"
        let passwordDirectory = FileManager.default.temporaryDirectory.appendingPathComponent("priv-users-\(run)").path
        try FileManager.default.createDirectory(atPath: passwordDirectory, withIntermediateDirectories: true)
        var passwords: [String: String] = [:]
        for user in users {
            let password = (0..<4).map { _ in String(UInt64.random(in: 0...UInt64.max), radix: 16) }.joined()
            passwords[user.name] = password
            try (password + "\n").write(
                toFile: "\(passwordDirectory)/\(user.name).password",
                atomically: true,
                encoding: .utf8
            )
        }
        let fleetUser = try Self.fleetConfiguration().user
        try Self.shell(
            "\(rabbitmqctl) add_vhost \(vhost) && "
                + "\(rabbitmqctl) set_permissions -p \(vhost) '\(fleetUser)' '.*' '.*' '.*'"
        )
        var failure: Error?
        do {
            let script = BrokerUserOutput.rabbitmqctl(users, vhost: vhost, passwordDirectory: passwordDirectory)
            try Self.shell(script, environment: ["RABBITMQCTL": rabbitmqctl])
            try await check(topology: topology, vhost: vhost, prefix: prefix, passwords: passwords)
        } catch { failure = error }
        let deletions = users.map { "\(rabbitmqctl) delete_user '\($0.name)'" }.joined(separator: "; ")
        try? Self.shell("\(deletions); \(rabbitmqctl) delete_vhost \(vhost)")
        try? FileManager.default.removeItem(atPath: passwordDirectory)
        if let failure { throw failure }
    }

    /// The fleet's own broker user (FLEET_AMQP_URL), which sets the test vhost up.
    static func fleetConfiguration() throws -> AMQPConfiguration {
        try AMQPConfiguration(
            url: ProcessInfo.processInfo.environment["FLEET_AMQP_URL"] ?? "amqp://fleet:fleet@127.0.0.1:5682"
        )
    }

    private func check(topology: Topology, vhost: String, prefix: String, passwords: [String: String]) async throws {
        var fleet = try Self.fleetConfiguration()
        fleet.vhost = vhost
        func login(_ name: String) -> AMQPConfiguration {
            var configuration = fleet
            configuration.user = prefix + name
            configuration.password = passwords[prefix + name] ?? ""
            return configuration
        }
        let learning = login(BrokerUsers.workerName("learning"))
        let skills = login(BrokerUsers.workerName("skills"))
        let producer = login(BrokerUsers.producerName)
        let operatorUser = login(BrokerUsers.operatorName)

        // The operator declares the whole topology (fleet topology declare).
        try await AMQPConnection.withDedicatedThread(operatorUser) { connection in
            try TopologyDeclarer(topology: topology).declare(on: connection)
        }

        // The producer publishes a contract job to `jobs`; it reaches the learning queue.
        try await publish(producer, exchange: "jobs", routingKey: "enrollment.update")
        // The learning worker checks its queue passively (as fleet run does), consumes it, and
        // publishes its retry and dead-letter copies through the copies exchange.
        let (exists, consumed) = try await AMQPConnection.withDedicatedThread(learning) { connection throws in
            let exists = try connection.queueExists("fleet.learning")
            let delivery = try connection.get(queue: "fleet.learning")
            if let delivery { try connection.ack(delivery.deliveryTag) }
            _ = try connection.consume(queue: "fleet.learning")
            return (exists, delivery != nil)
        }
        #expect(exists && consumed)
        try await publish(learning, exchange: topology.copiesExchange, routingKey: "fleet.learning.retry.1s")
        try await publish(learning, exchange: topology.copiesExchange, routingKey: "fleet.learning.dlq")
        // The skills worker publishes its follow-up types to `jobs`.
        try await publish(skills, exchange: "jobs", routingKey: "profile.completion.recalculate")
        try await publish(skills, exchange: "jobs", routingKey: "career.progress.recalculate")

        // Refused: another worker's queue, declaring, and `jobs` outside the follow-ups.
        try await expectRefused("learning consumes fleet.content", learning) { try $0.get(queue: "fleet.content") }
        try await expectRefused("learning declares a queue", learning) { try $0.declareQueue("fleet.learning.extra") }
        try await expectRefused("learning purges its DLQ", learning) { try $0.purgeQueue("fleet.learning.dlq") }
        try await expectRefused("learning publishes to jobs") {
            try await publish(learning, exchange: "jobs", routingKey: "enrollment.update")
        }
        try await expectRefused("skills publishes a non-follow-up type") {
            try await publish(skills, exchange: "jobs", routingKey: "event.register")
        }
        // Refused: the producer consumes, publishes past `jobs`, or a routing key outside the contract.
        try await expectRefused("producer consumes", producer) { try $0.get(queue: "fleet.learning") }
        try await expectRefused("producer publishes outside the contract") {
            try await publish(producer, exchange: "jobs", routingKey: "not.a.job.type")
        }
        try await expectRefused("producer publishes to the default exchange") {
            try await publish(producer, exchange: "", routingKey: "fleet.learning")
        }

        // Refused: a worker putting a message into another queue, by the default exchange (which
        // checks no routing key, so the worker may not write it at all) or as a copy of another queue.
        try await expectRefused("learning publishes to the default exchange") {
            try await publish(learning, exchange: "", routingKey: "fleet.content")
        }
        try await expectRefused("learning publishes a copy into fleet.content.dlq") {
            try await publish(learning, exchange: topology.copiesExchange, routingKey: "fleet.content.dlq")
        }
        try await expectRefused("learning publishes a copy into its own work queue") {
            try await publish(learning, exchange: topology.copiesExchange, routingKey: "fleet.learning")
        }
        let depths = try await AMQPConnection.withDedicatedThread(fleet) { connection throws in
            [
                try connection.declareQueue("fleet.content", passive: true),
                try connection.declareQueue("fleet.content.dlq", passive: true),
                try connection.declareQueue("fleet.learning.dlq", passive: true),
                try connection.declareQueue("fleet.learning.retry.1s", passive: true),
            ]
        }
        #expect(depths == [0, 0, 1, 1])
    }

    /// Publishes with a confirm, as workers and producers do (mandatory: it must reach a queue).
    private func publish(_ configuration: AMQPConfiguration, exchange: String, routingKey: String) async throws {
        try await AMQPConnection.withDedicatedThread(configuration) { connection in
            try connection.enableConfirms()
            try connection.publishConfirmed(
                AMQPOutgoingMessage(
                    exchange: exchange,
                    routingKey: routingKey,
                    properties: AMQPProperties(contentType: "application/json", deliveryMode: 2),
                    body: Array("{}".utf8),
                    mandatory: true
                )
            )
        }
    }

    private func expectRefused(
        _ what: String,
        _ configuration: AMQPConfiguration,
        _ body: @escaping @Sendable (AMQPConnection) throws -> some Sendable
    ) async throws {
        try await expectRefused(what) {
            _ = try await AMQPConnection.withDedicatedThread(configuration) { connection in try body(connection) }
        }
    }

    /// The operation fails promptly with the broker's 403 ACCESS_REFUSED, not a hang or another error.
    private func expectRefused(_ what: String, _ body: () async throws -> Void) async throws {
        let started = ContinuousClock.now
        do {
            try await body()
            Issue.record("\(what): allowed, expected ACCESS_REFUSED")
        } catch let error as AMQPError {
            #expect(error.code == .server && error.replyCode == 403, "\(what): \(error)")
            #expect(error.message.contains("ACCESS_REFUSED"), "\(what): \(error)")
        }
        #expect(ContinuousClock.now - started < .seconds(20), "\(what) took \(ContinuousClock.now - started)")
    }

    private static func shell(_ command: String, environment: [String: String] = [:]) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = ["-c", command]
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        try process.run()
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw ShellFailure(description: "exit \(process.terminationStatus): \(text.suffix(2000))")
        }
    }

    struct ShellFailure: Error, CustomStringConvertible {
        let description: String
    }
}
