import AMQP
import FleetApp
import FleetContract
import FleetCore
import FleetJobs
import FleetProducer
import Foundation
import Testing

/// Broker faults under a running `fleet run`: a missing or deleted queue (on the shared broker, in
/// the test's own vhost), and, with FLEET_FAULT_TESTS=1, a disk alarm and a node loss on the
/// private cluster of scripts/rabbitmq-cluster.sh (FLEET_CLUSTER_* variables; scripts/test.sh
/// starts it for its serial fault pass). Nothing here touches the shared broker's settings.
@Suite("Broker fault end to end", .serialized)
struct BrokerFaultEndToEndTests {
    static let environment = ProcessInfo.processInfo.environment
    static let faultTests = environment["FLEET_FAULT_TESTS"] == "1"
    static let script = "\(FleetTestEnvironment.repositoryRoot)/scripts/rabbitmq-cluster.sh"

    // MARK: - Missing queue (shared broker, not disruptive)

    @Test("A worker started before its queue exists consumes within 5 s of topology declare; a deleted queue too")
    func aMissingQueueIsConsumedOnceDeclared() async throws {
        let environment = try await FleetTestEnvironment.make("queuemissing", workers: [])
        defer { Task { await environment.tearDown() } }
        try await SampleWorkload.seed(environment.postgres, users: 3, courses: 1)
        let worker = try environment.startWorker("learning")
        // Several looks for the queue (every 2 s at most), one log line.
        try await Task.sleep(for: .seconds(7))
        #expect(worker.output.components(separatedBy: "amqp.queue missing").count - 1 == 1, "\(worker.output)")

        _ = try await environment.fleet(["topology", "declare"])
        let declared = ContinuousClock.now
        let (producer, stores) = environment.producer()
        try await publish(enrollmentJob(user: 0, course: 0, action: "enroll"), with: producer)
        try await environment.waitUntil("the first job applied", timeout: .seconds(5)) {
            try await environment.count("SELECT count(*) AS n FROM user_courses") == 1
        }
        let firstLatency = ContinuousClock.now - declared

        // Deleted under the running worker (the broker cancels its consumer), then declared again.
        try await runShell(
            FleetTestEnvironment.managementCall(
                "DELETE",
                "queues/\(environment.name)/fleet.learning",
                base: environment.managementURL
            )
        )
        try await Task.sleep(for: .seconds(3))
        _ = try await environment.fleet(["topology", "declare"])
        let redeclared = ContinuousClock.now
        try await publish(enrollmentJob(user: 1, course: 0, action: "enroll"), with: producer)
        try await environment.waitUntil("the job after the re-declare applied", timeout: .seconds(5)) {
            try await environment.count("SELECT count(*) AS n FROM user_courses") == 2
        }
        let secondLatency = ContinuousClock.now - redeclared
        await producer.shutdown()
        await stores.shutdown()
        let output = await worker.stop()
        #expect(output.contains("amqp.consumer cancelled by the broker"), "\(output)")
        // Rode out on the same connection: no reconnect storm.
        #expect(!output.contains("amqp.connection lost"), "\(output)")
        print("broker-faults: queue consumed \(firstLatency) after declare, \(secondLatency) after re-declare")
    }

    // MARK: - Disk alarm (private cluster)

    @Test(
        "Under a disk alarm, valid jobs are applied and acked, SIGTERM is prompt, failing ones are dead-lettered once",
        .enabled(if: faultTests)
    )
    func aDiskAlarmBlocksOnlyTheCopies() async throws {
        let cluster = try Cluster()
        let environment = try await FleetTestEnvironment.make(
            "diskalarm",
            workers: ["learning"],
            broker: (cluster.urls.joined(separator: ","), cluster.managementURL(node: 1))
        )
        defer { Task { await environment.tearDown() } }
        let valid = 500
        let failing = 30
        try await SampleWorkload.seed(environment.postgres, users: valid, courses: 5)
        let (producer, stores) = environment.producer()
        for index in 0..<valid {
            try await publish(enrollmentJob(user: index, course: index % 5, action: "enroll"), with: producer)
        }
        for index in 0..<failing {
            try await publish(unknownCourseJob(user: index, index: index), with: producer)
        }
        await producer.shutdown()
        await stores.shutdown()

        try await cluster.ctl(1, "set_disk_free_limit 1000GB")
        var alarmCleared = false
        defer { if !alarmCleared { try? cluster.ctlBlocking(1, "set_disk_free_limit 50MB") } }
        try await environment.waitUntil("the disk alarm", timeout: .seconds(30)) {
            try cluster.diskAlarm(node: 1)
        }

        let started = ContinuousClock.now
        let worker = try environment.startWorker("learning")
        try await environment.waitUntil("the valid jobs applied and acked", timeout: .seconds(25)) {
            let applied = try await environment.count("SELECT count(*) AS n FROM user_courses")
            guard applied == valid else { return false }
            let (ready, unacked) = try cluster.queueCounts(environment.name, "fleet.learning")
            return ready == 0 && unacked == failing
        }
        let appliedIn = ContinuousClock.now - started
        #expect(try await environment.count("SELECT count(*) AS n FROM user_courses") == valid)

        let stopping = ContinuousClock.now
        let output = await worker.stop()
        let stoppedIn = ContinuousClock.now - stopping
        #expect(stoppedIn < .seconds(30), "\(output)")
        #expect(output.contains("amqp.connection blocked"), "\(output)")

        try await cluster.ctl(1, "set_disk_free_limit 50MB")
        alarmCleared = true
        try await environment.waitUntil("the alarm cleared", timeout: .seconds(30)) { try !cluster.diskAlarm(node: 1) }
        let after = try environment.startWorker("learning")
        try await environment.waitUntil("every failing job dead-lettered", timeout: .seconds(60)) {
            try await environment.queueDepth("fleet.learning.dlq") >= UInt32(failing)
        }
        // Time for a duplicate to show up, were there one.
        try await Task.sleep(for: .seconds(3))
        await after.stop()
        let deadLetters = try await environment.deadLetters("fleet.learning")
        #expect(deadLetters.count == failing)
        #expect(Set(deadLetters.compactMap(\.messageId)).count == failing)
        #expect(deadLetters.allSatisfy { $0.reason == "unknown_course" })
        #expect(try await environment.count("SELECT count(*) AS n FROM user_courses") == valid)
        #expect(try await environment.count("SELECT sum(total_enrollments)::int AS n FROM courses") == valid)
        print(
            "broker-faults: disk alarm: \(valid) valid jobs applied and acked in \(appliedIn), SIGTERM exit in \(stoppedIn), "
                + "\(deadLetters.count) dead letters for \(failing) failing jobs"
        )
    }

    @Test(
        "A publish the blocked broker never confirms fails with a timeout, once; closing is bounded",
        .enabled(if: faultTests)
    )
    func aPublishUnderAnAlarmTimesOut() async throws {
        let cluster = try Cluster()
        let (configuration, queue) = try await cluster.queueUnderDiskAlarm("fault.timeout", confirmTimeout: .seconds(2))
        defer { try? cluster.ctlBlocking(1, "set_disk_free_limit 50MB") }

        let client = AMQPClient(configuration: configuration, logger: .init(label: "fault-timeout"))
        client.start()
        let message = AMQPOutgoingMessage(exchange: "", routingKey: queue, properties: AMQPProperties(), body: [1])
        let started = ContinuousClock.now
        var codes: [AMQPError.Code] = []
        // The first publish is written and blocks the connection; the second is held. Both time out.
        await withTaskGroup(of: AMQPError.Code?.self) { group in
            for _ in 0..<2 {
                group.addTask {
                    do {
                        try await client.publish(message)
                        return nil
                    } catch let error as AMQPError {
                        return error.code
                    } catch {
                        return .closed
                    }
                }
            }
            for await code in group { codes.append(code ?? .closed) }
        }
        let waited = ContinuousClock.now - started
        #expect(codes == [.timeout, .timeout])
        #expect(waited >= .seconds(2) && waited < .seconds(10))
        #expect(client.isBlocked)
        // A second client, blocked too, must close at once (no close handshake with a broker that
        // reads nothing).
        let other = AMQPClient(configuration: configuration, logger: .init(label: "fault-timeout"))
        other.start()
        await #expect(throws: AMQPError.self) { try await other.publish(message) }
        let closing = ContinuousClock.now
        await other.shutdown(within: .seconds(5))
        let closedIn = ContinuousClock.now - closing
        #expect(closedIn < .seconds(6))

        // The alarm clears: the written publish's late confirm arrives and finds its waiter gone
        // (resuming it twice would crash); the connection publishes again.
        try await cluster.ctl(1, "set_disk_free_limit 50MB")
        let unblock = ContinuousClock.now + .seconds(30)
        while client.isBlocked, ContinuousClock.now < unblock { try await Task.sleep(for: .milliseconds(100)) }
        #expect(!client.isBlocked)
        try await client.publish(message)
        await client.shutdown()
        print("broker-faults: blocked publishes timed out after \(waited); a blocked client closed in \(closedIn)")
    }

    @Test(
        "Under an alarm, a probing publisher writes nothing: on 30 new connections each publish fails as blocked, none lands",
        .enabled(if: faultTests)
    )
    func aProbingPublisherWritesNothingUnderAnAlarm() async throws {
        let cluster = try Cluster()
        let (configuration, queue) = try await cluster.queueUnderDiskAlarm("fault.probe", confirmTimeout: .seconds(5))
        var alarmCleared = false
        defer { if !alarmCleared { try? cluster.ctlBlocking(1, "set_disk_free_limit 50MB") } }

        // Each new connection is blocked at its first probe. A publish released by a probe confirm
        // that beat `connection.blocked` would be written, time out after 5 s, and land after the alarm.
        let message = AMQPOutgoingMessage(exchange: "", routingKey: queue, properties: AMQPProperties(), body: [1])
        var outcomes: [String: Int] = [:]
        for _ in 0..<30 {
            let client = AMQPClient(
                configuration: configuration,
                logger: .init(label: "fault-probe"),
                probesBeforePublishing: true,
                failsFastWhenBlocked: true
            )
            client.start()
            do {
                try await client.publish(message)
                outcomes["published", default: 0] += 1
            } catch let error as AMQPError {
                outcomes["\(error.code)", default: 0] += 1
            }
            await client.shutdown(within: .seconds(5))
        }
        try await cluster.ctl(1, "set_disk_free_limit 50MB")
        alarmCleared = true
        let unblock = ContinuousClock.now + .seconds(30)
        while try cluster.diskAlarm(node: 1), ContinuousClock.now < unblock {
            try await Task.sleep(for: .milliseconds(250))
        }
        // Time for the broker to read whatever sat in the closed connections' sockets.
        try await Task.sleep(for: .seconds(3))
        let landed = try await AMQPConnection.withDedicatedThread(configuration) {
            try $0.declareQueue(queue, durable: false, arguments: ["x-expires": .int(300_000)], passive: true)
        }
        #expect(outcomes == ["\(AMQPError.Code.blocked)": 30])
        #expect(landed == 0)
        print("broker-faults: probing publisher under an alarm: \(outcomes), \(landed) landed")
    }

    // MARK: - Node loss (private cluster)

    @Test(
        "With every node in the URL, stopping the connected node resumes consumption within 10 s",
        .enabled(if: faultTests)
    )
    func aNodeLossMovesTheWorkerToAnotherNode() async throws {
        let cluster = try Cluster()
        guard cluster.urls.count == 3 else {
            Issue.record("the node-loss test needs a 3-node cluster (scripts/rabbitmq-cluster.sh start --nodes 3)")
            return
        }
        // Node 2 first, so the worker connects there and node 1's management API outlives the stop.
        let urls = [cluster.urls[1], cluster.urls[2], cluster.urls[0]]
        let environment = try await FleetTestEnvironment.make(
            "nodeloss",
            workers: ["learning"],
            broker: (urls.joined(separator: ","), cluster.managementURL(node: 1))
        )
        defer { Task { await environment.tearDown() } }
        try await SampleWorkload.seed(environment.postgres, users: 100, courses: 1)
        let worker = try environment.startWorker("learning")
        let (producer, stores) = environment.producer()
        for index in 0..<50 {
            try await publish(enrollmentJob(user: index, course: 0, action: "enroll"), with: producer)
        }
        try await environment.waitUntil("the first 50 applied", timeout: .seconds(60)) {
            try await environment.count("SELECT count(*) AS n FROM user_courses") == 50
        }
        // The management API lists new connections after its next stats refresh.
        var node = 0
        try await environment.waitUntil("the worker's connections listed", timeout: .seconds(30)) {
            node = try cluster.nodeOfConnections(vhost: environment.name)
            return true
        }
        #expect(node == 2, "the worker should be on node 2 (first in its URL)")
        let stopping = ContinuousClock.now
        try await cluster.stopNode(node)
        defer { try? cluster.startNodeBlocking(node) }
        let stopped = ContinuousClock.now
        for index in 50..<100 {
            try await publish(enrollmentJob(user: index, course: 0, action: "enroll"), with: producer)
        }
        try await environment.waitUntil("the next 50 applied", timeout: .seconds(10)) {
            try await environment.count("SELECT count(*) AS n FROM user_courses") == 100
        }
        let resumedIn = ContinuousClock.now - stopped
        await producer.shutdown()
        await stores.shutdown()
        let output = await worker.stop()
        #expect(output.contains("amqp.connection lost") || output.contains("amqp.connect failed"), "\(output)")
        #expect(try await environment.count("SELECT total_enrollments AS n FROM courses") == 100)
        print(
            "broker-faults: node \(node) stopped in \(stopped - stopping), consumption resumed on another node "
                + "\(resumedIn) after the stop returned"
        )
    }

    // MARK: - Helpers

    func publish(_ envelope: JobEnvelope, with producer: JobProducer) async throws {
        try await producer.publish(envelope: envelope, body: envelope.encoded())
    }

    /// A valid `enrollment.update` for a course that does not exist: a permanent failure.
    func unknownCourseJob(user: Int, index: Int) -> JobEnvelope {
        JobEnvelope(
            id: UUID().uuidString.lowercased(),
            type: "enrollment.update",
            createdAt: Date(),
            payload: [
                "user_id": .string(SampleWorkload.userId(user)),
                "course_id": .string(String(format: "00000000-0000-4000-9000-99999999%04d", index)),
                "action": .string("enroll"),
            ]
        )
    }

    /// The private cluster that scripts/rabbitmq-cluster.sh started.
    struct Cluster {
        let urls: [String]

        init() throws {
            guard let list = BrokerFaultEndToEndTests.environment["FLEET_CLUSTER_AMQP_URLS"], !list.isEmpty else {
                throw HarnessError(
                    description: "FLEET_CLUSTER_AMQP_URLS is not set: eval \"$(scripts/rabbitmq-cluster.sh env)\""
                )
            }
            urls = list.split(separator: ",").map(String.init)
        }

        func managementURL(node: Int) -> String { "http://guest:guest@127.0.0.1:1570\(node)" }

        func ctl(_ node: Int, _ arguments: String) async throws {
            try await runShell("bash '\(BrokerFaultEndToEndTests.script)' ctl \(node) -q \(arguments) >/dev/null")
        }

        /// `ctl` and `startNode` for a `defer`, which cannot wait asynchronously: they hold the thread.
        func ctlBlocking(_ node: Int, _ arguments: String) throws {
            try runShellBlocking("bash '\(BrokerFaultEndToEndTests.script)' ctl \(node) -q \(arguments) >/dev/null")
        }
        func startNodeBlocking(_ node: Int) throws {
            try runShellBlocking("bash '\(BrokerFaultEndToEndTests.script)' start-node \(node)")
        }

        func stopNode(_ node: Int) async throws {
            try await runShell("bash '\(BrokerFaultEndToEndTests.script)' stop-node \(node)")
        }
        func startNode(_ node: Int) async throws {
            try await runShell("bash '\(BrokerFaultEndToEndTests.script)' start-node \(node)")
        }

        /// A new non-durable queue on node 1 (expiring after 5 idle minutes), then node 1's disk alarm
        /// raised and awaited (30 s at most): the caller lowers the limit again.
        func queueUnderDiskAlarm(
            _ prefix: String,
            confirmTimeout: Duration
        ) async throws -> (AMQPConfiguration, String) {
            var configuration = try AMQPConfiguration(url: urls[0])
            configuration.confirmTimeout = confirmTimeout
            let queue = "\(prefix).\(UUID().uuidString.prefix(8))"
            try await AMQPConnection.withDedicatedThread(configuration) {
                try $0.declareQueue(queue, durable: false, arguments: ["x-expires": .int(300_000)])
            }
            try await ctl(1, "set_disk_free_limit 1000GB")
            do {
                let alarm = ContinuousClock.now + .seconds(30)
                while try !diskAlarm(node: 1), ContinuousClock.now < alarm {
                    try await Task.sleep(for: .milliseconds(250))
                }
            } catch {
                try? await ctl(1, "set_disk_free_limit 50MB")
                throw error
            }
            return (configuration, queue)
        }

        func diskAlarm(node: Int) throws -> Bool {
            let text = try shellOutput(
                "curl -fsS --max-time 10 '\(managementURL(node: 1))/api/nodes/fleetc\(node)@localhost?columns=disk_free_alarm'"
            )
            return text.contains("\"disk_free_alarm\":true")
        }

        /// Ready and unacked messages of a queue, from the management API (refreshed every few seconds).
        func queueCounts(_ vhost: String, _ queue: String) throws -> (ready: Int, unacked: Int) {
            let text = try shellOutput(
                "curl -fsS --max-time 10 '\(managementURL(node: 1))/api/queues/\(vhost)/\(queue)"
                    + "?columns=messages_ready,messages_unacknowledged'"
            )
            let json = try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any] ?? [:]
            return (json["messages_ready"] as? Int ?? -1, json["messages_unacknowledged"] as? Int ?? -1)
        }

        /// The node (1-3) the connections of a vhost are on; fails unless they are all on one.
        func nodeOfConnections(vhost: String) throws -> Int {
            let text = try shellOutput(
                "curl -fsS --max-time 10 '\(managementURL(node: 1))/api/vhosts/\(vhost)/connections?columns=node'"
            )
            let nodes = Set(
                (try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [[String: Any]] ?? [])
                    .compactMap { $0["node"] as? String }
            )
            guard nodes.count == 1, let name = nodes.first, let digit = name.dropFirst("fleetc".count).first,
                let node = Int(String(digit))
            else {
                throw HarnessError(description: "connections of \(vhost) on nodes \(nodes)")
            }
            return node
        }
    }
}

/// Runs a short shell command and returns its standard output; throws when it exits non-zero.
func shellOutput(_ command: String) throws -> String {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/bin/sh")
    process.arguments = ["-c", command]
    let output = Pipe()
    process.standardOutput = output
    try process.run()
    let data = output.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    guard process.terminationStatus == 0 else {
        throw HarnessError(description: "`\(command)` exited \(process.terminationStatus)")
    }
    return String(decoding: data, as: UTF8.self)
}
