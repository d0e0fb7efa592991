import AMQP
import FleetCore
import Foundation
import Logging
import Synchronization
import Testing

/// Against the RabbitMQ of `scripts/services.sh` (FLEET_AMQP_URL), each test with its own queues.
@Suite("AMQP client")
struct AMQPClientTests {
    static let url = ProcessInfo.processInfo.environment["FLEET_AMQP_URL"] ?? "amqp://fleet:fleet@127.0.0.1:5682/%2f"
    let configuration = try! AMQPConfiguration(url: url)
    let logger = Logger(label: "amqp-test")

    func uniqueQueue() -> String { "test.amqp.\(UUID().uuidString.prefix(8))" }

    /// Declares `queue` (not durable, expiring a minute after its last use) and publishes `count`
    /// confirmed messages to it, message id and body each the message's index.
    func preload(_ queue: String, count: Int) async throws {
        try await AMQPConnection.withDedicatedThread(configuration) { connection in
            try connection.declareQueue(queue, durable: false, arguments: ["x-expires": .int(60_000)])
            try connection.enableConfirms()
            for index in 0..<count {
                try connection.publishConfirmed(
                    AMQPOutgoingMessage(
                        exchange: "",
                        routingKey: queue,
                        properties: AMQPProperties(messageId: "\(index)"),
                        body: Array("\(index)".utf8)
                    )
                )
            }
        }
    }

    @Test func parsesURLsAndRedactsCredentials() throws {
        let parsed = try AMQPConfiguration(url: "amqp://user:s%40cret@broker.local:5673/my%2Fvhost")
        #expect(parsed.host == "broker.local")
        #expect(parsed.port == 5673)
        #expect(parsed.password == "s@cret")
        #expect(parsed.vhost == "my/vhost")
        #expect(!parsed.redactedAddress.contains("cret"))
        #expect(try AMQPConfiguration(url: "amqp://h").vhost == "/")
        #expect(try AMQPConfiguration(url: "amqp://h/%2f").vhost == "/")
        #expect(throws: AMQPError.self) { try AMQPConfiguration(url: "http://h") }
    }

    @Test func anUnreachableBrokerIsAClearConnectionError() async {
        var unreachable = configuration
        unreachable.port = 1
        do {
            let connected = try await AMQPConnection.withDedicatedThread(unreachable) { _ in true }
            Issue.record("connected: \(connected)")
        } catch let error as AMQPError {
            #expect(error.code == .connection)
            #expect(error.isTransient)
            #expect(error.description.contains("127.0.0.1:1"))
        } catch {
            Issue.record("unexpected \(error)")
        }
    }

    @Test func publishesWithConfirmsAndConsumesWithManualAcks() async throws {
        let queue = uniqueQueue()
        try await AMQPConnection.withDedicatedThread(configuration) { connection in
            try connection.declareQueue(queue, durable: false, arguments: ["x-expires": .int(60_000)])
        }
        let client = AMQPClient(
            configuration: configuration,
            subscriptions: [.init(queue: queue, prefetch: 10)],
            logger: logger
        )
        client.start()
        let headers: AMQPTable = [
            "s": .string("text"), "i": .int(-7), "b": .bool(true), "d": .double(1.5),
            "nested": .table(["a": .array([.int(1), .string("x")])]),
        ]
        for index in 0..<100 {
            try await client.publish(
                AMQPOutgoingMessage(
                    exchange: "",
                    routingKey: queue,
                    properties: AMQPProperties(
                        contentType: "application/json",
                        deliveryMode: 2,
                        messageId: "m\(index)",
                        type: "t",
                        headers: headers
                    ),
                    body: Array("body \(index)".utf8)
                )
            )
        }
        var received: [String] = []
        for await delivery in client.deliveries(of: queue) {
            received.append(String(decoding: delivery.body, as: UTF8.self))
            #expect(delivery.properties.headers == headers)
            #expect(delivery.properties.messageId == "m\(received.count - 1)")
            client.ack(delivery)
            if received.count == 100 { break }
        }
        #expect(received == (0..<100).map { "body \($0)" })
        await client.shutdown()
        let left = try await AMQPConnection.withDedicatedThread(configuration) {
            try $0.declareQueue(queue, passive: true)
        }
        #expect(left == 0, "every message was acked")
    }

    /// A consumer preferring the client's executor takes its deliveries on the connection thread,
    /// stepping aside whenever its ack fills a batch (`yieldToConnection`), and all of twice the
    /// prefetch comes through acked. Its task may start on Swift's pool (the thread did not serve
    /// yet) and find deliveries waiting: it moves onto the thread at its first step aside, so at
    /// most one delivery is taken elsewhere. With the first prefetch's deliveries buffered before
    /// it starts, it never waits for one until the last of them, so only its steps aside can have
    /// let the thread write acks by then (on a machine too slow to buffer them all in time, waiting
    /// would write them too: the check can then pass without the steps, never fail with them).
    /// Once the client has closed, a task preferring the executor still runs, elsewhere.
    @Test(.timeLimit(.minutes(1)))
    func tasksOnTheConnectionThreadReadRunAndAckThere() async throws {
        let queue = uniqueQueue()
        let prefetch = 100
        let total = 2 * prefetch
        try await preload(queue, count: total)
        let client = AMQPClient(
            configuration: configuration,
            subscriptions: [.init(queue: queue, prefetch: UInt16(prefetch))],
            logger: logger
        )
        client.start()
        // Time for the broker to push the first prefetch's deliveries into the client's buffer.
        try await Task.sleep(for: .milliseconds(300))
        let (received, onThread, ackedWhileBuffered) = await withTaskExecutorPreference(client.executor) {
            var received = 0
            var onThread = 0
            var ackedWhileBuffered = false
            for await delivery in client.deliveries(of: queue) {
                received += 1
                if client.executor.isCurrentThread { onThread += 1 }
                if received == prefetch { ackedWhileBuffered = client.lastAckWrittenUnixNanoseconds != nil }
                client.ack(delivery)
                await client.yieldToConnection()
                if received == total { break }
            }
            return (received, onThread, ackedWhileBuffered)
        }
        #expect(received == total)
        #expect(ackedWhileBuffered, "no ack was written while the consumer ran through its buffered deliveries")
        #expect(total - onThread <= 1, "\(total - onThread) deliveries were taken off the connection thread")
        await client.shutdown()
        let afterClose = await withTaskExecutorPreference(client.executor) {
            try? await Task.sleep(for: .milliseconds(1))
            return client.executor.isCurrentThread
        }
        #expect(!afterClose)
        let left = try await AMQPConnection.withDedicatedThread(configuration) {
            try $0.declareQueue(queue, passive: true)
        }
        #expect(left == 0, "every message was acked")
    }

    @Test func anUnroutableMandatoryMessageFailsThePublish() async throws {
        let client = AMQPClient(configuration: configuration, logger: logger)
        client.start()
        await #expect(throws: AMQPError.self) {
            try await client.publish(
                AMQPOutgoingMessage(
                    exchange: "",
                    routingKey: "no.such.queue.\(UUID().uuidString)",
                    properties: AMQPProperties(messageId: "lost"),
                    body: [1]
                )
            )
        }
        await client.shutdown()
    }

    func outcome(_ body: @Sendable () async throws -> Void) async -> AMQPError? {
        do {
            try await body()
            return nil
        } catch {
            return error as? AMQPError ?? AMQPError(code: .closed, message: "\(error)", address: "")
        }
    }

    @Test func aReturnFailsOnlyThePublishItBelongsTo() async throws {
        // Retry and dead-letter copies share their job's message id: returns must not be matched by it.
        let queue = uniqueQueue()
        try await AMQPConnection.withDedicatedThread(configuration) { connection in
            try connection.declareQueue(queue, durable: false, arguments: ["x-expires": .int(60_000)])
        }
        let client = AMQPClient(configuration: configuration, logger: logger)
        client.start()
        let routed = AMQPOutgoingMessage(
            exchange: "",
            routingKey: queue,
            properties: AMQPProperties(messageId: "same"),
            body: [1]
        )
        let lost = AMQPOutgoingMessage(
            exchange: "",
            routingKey: "no.such.queue.\(UUID().uuidString)",
            properties: routed.properties,
            body: [2]
        )
        async let first = outcome { try await client.publish(routed) }
        async let second = outcome { try await client.publish(lost) }
        let (routedError, lostError) = await (first, second)
        #expect(routedError == nil, "the routed copy is confirmed: \(String(describing: routedError))")
        #expect(lostError?.code == .unroutable, "the unroutable copy fails")
        await client.shutdown()
        let stored = try await AMQPConnection.withDedicatedThread(configuration) { connection in
            try connection.get(queue: queue)
        }
        #expect(stored?.properties.headers[AMQPConnection.publishSequenceHeader] == nil, "transport header stripped")
    }

    @Test func unackedDeliveriesReturnToTheQueueWhenTheClientCloses() async throws {
        let queue = uniqueQueue()
        try await preload(queue, count: 5)
        let client = AMQPClient(
            configuration: configuration,
            subscriptions: [.init(queue: queue, prefetch: 2)],
            logger: logger
        )
        client.start()
        var seen = 0
        for await delivery in client.deliveries(of: queue) {
            seen += 1
            if seen == 1 { client.ack(delivery) }
            if seen == 2 { break }
        }
        await client.shutdown()
        let left = try await AMQPConnection.withDedicatedThread(configuration) {
            try $0.declareQueue(queue, passive: true)
        }
        #expect(left == 4, "one acked, the unacked one and the never-delivered three remain")
    }

    /// Acks are batched with `multiple`; one must never cover a delivery the consumer has not
    /// settled, whatever order the consumer settles them in.
    @Test func batchedAcksLeaveExactlyTheUnsettledDeliveries() async throws {
        let queue = uniqueQueue()
        let total = 300
        try await preload(queue, count: total)
        let client = AMQPClient(
            configuration: configuration,
            subscriptions: [.init(queue: queue, prefetch: UInt16(total))],
            logger: logger
        )
        client.start()
        // Hold every 7th delivery; settle the rest in batches in shuffled order, rejecting every 10th
        // (no dead-letter exchange here, so it is dropped). The held ones must be all that is left.
        var held = Set<String>()
        var dropped = 0
        var pending: [AMQPDelivery] = []
        var seen = 0
        for await delivery in client.deliveries(of: queue) {
            seen += 1
            let index = Int(String(decoding: delivery.body, as: UTF8.self))!
            if index % 7 == 0 { held.insert("\(index)") } else { pending.append(delivery) }
            if pending.count == 20 || seen == total {
                for delivery in pending.shuffled() {
                    if Int(String(decoding: delivery.body, as: UTF8.self))! % 10 == 0 {
                        client.reject(delivery, requeue: false)
                        dropped += 1
                    } else {
                        client.ack(delivery)
                    }
                }
                pending = []
            }
            if seen == total { break }
        }
        await client.shutdown()
        let left = try await AMQPConnection.withDedicatedThread(configuration) { connection in
            var ids = Set<String>()
            while let message = try connection.get(queue: queue) {
                ids.insert(message.properties.messageId ?? "?")
            }
            return ids
        }
        #expect(left == held)
        #expect(held.count == 43 && dropped == 25)
    }

    /// While the client holds other deliveries and its consumer is busy, an ack waits to share a
    /// frame; once the consumer waits for a delivery, it goes at once instead of after the delay.
    /// The broker's next delivery needs that ack's prefetch slot, so its arrival shows when the ack
    /// went: not while the consumer was busy (300 ms), well before the 2 s delay.
    @Test(.timeLimit(.minutes(1)))
    func anAckIsHeldWhileTheConsumerIsBusyAndGoesWhenItWaits() async throws {
        let queue = uniqueQueue()
        let prefetch = 8
        try await preload(queue, count: prefetch + 1)
        let delay = Duration.seconds(2)
        let busy = Duration.milliseconds(300)
        let client = AMQPClient(
            configuration: configuration,
            subscriptions: [.init(queue: queue, prefetch: UInt16(prefetch), ackDelay: delay)],
            logger: logger
        )
        client.start()
        var deliveries = client.deliveries(of: queue).makeAsyncIterator()
        var held: [AMQPDelivery] = []
        while held.count < prefetch, let delivery = await deliveries.next() { held.append(delivery) }
        // Let the thread go to sleep first, as a busy consumer's would.
        try await Task.sleep(for: .milliseconds(50))
        // The window is full: ack one (below a batch of prefetch / 4, not the last one held).
        let ackedAt = ContinuousClock.now
        client.ack(held.removeFirst())
        try await Task.sleep(for: busy)
        let next = await deliveries.next()
        for delivery in held + [next].compactMap({ $0 }) { client.ack(delivery) }
        await client.shutdown()
        let arrived = try #require(next?.receivedAt) - ackedAt
        #expect(arrived >= busy, "the next delivery came \(arrived) after the ack, while the consumer was busy")
        #expect(arrived < delay, "the next delivery came \(arrived) after the ack: the ack waited out the delay")
    }

    @Test func declaringTheTopologyTwiceIsIdempotentAndAConflictNamesTheQueue() async throws {
        let suffix = UUID().uuidString.prefix(8)
        let yaml = """
            exchange: test.jobs.\(suffix)
            dead_letter_exchange: test.dead.\(suffix)
            job_types:
              t.\(suffix): {deadline: 5s}
            queues:
              test.topology.\(suffix):
                job_types: [t.\(suffix)]
            """
        let topology = try Topology.parse(yaml: yaml)
        let declarer = TopologyDeclarer(topology: topology)
        try await AMQPConnection.withDedicatedThread(configuration) { try declarer.declare(on: $0) }
        try await AMQPConnection.withDedicatedThread(configuration) { try declarer.declare(on: $0) }
        var changed = topology
        changed.queues[0].deliveryLimit = 3
        let conflicting = TopologyDeclarer(topology: changed)
        do {
            try await AMQPConnection.withDedicatedThread(configuration) { try conflicting.declare(on: $0) }
            Issue.record("the broker accepted changed arguments")
        } catch let error as AMQPError {
            #expect(error.replyCode == 406)
            #expect(error.description.contains("test.topology.\(suffix)"))
        }
        try await AMQPConnection.withDedicatedThread(configuration) { connection in
            for queue in [topology.queues[0].name, topology.queues[0].deadLetterQueue]
                + topology.retry.delays.map({ topology.queues[0].retryQueue(delay: $0) })
            {
                try connection.deleteQueue(queue)
            }
        }
    }

    /// The connection thread reads its socket only when a poll says it is readable, when it did not
    /// poll, or when `quietReadInterval` passed since its last read; reading is also what sends
    /// heartbeats. With a 2 s heartbeat, either side drops a connection that stayed silent for
    /// about two intervals: seven idle seconds, then a message must find the same connection. This
    /// catches a thread that stops reading while idle; it cannot single out the quiet-interval rule,
    /// since the broker's own heartbeats make the socket readable.
    @Test(.timeLimit(.minutes(1)))
    func anIdleConnectionKeepsSendingHeartbeats() async throws {
        let queue = uniqueQueue()
        try await AMQPConnection.withDedicatedThread(configuration) { connection in
            try connection.declareQueue(queue, durable: false, arguments: ["x-expires": .int(60_000)])
        }
        var configuration = configuration
        configuration.heartbeatSeconds = 2
        let changes = Mutex<[AMQPClient.StatusChange]>([])
        let client = AMQPClient(
            configuration: configuration,
            subscriptions: [.init(queue: queue, prefetch: 10)],
            logger: logger
        ) { change in changes.withLock { $0.append(change) } }
        client.start()
        try await Task.sleep(for: .seconds(7))
        try await client.publish(
            AMQPOutgoingMessage(
                exchange: "",
                routingKey: queue,
                properties: AMQPProperties(),
                body: Array("after".utf8)
            )
        )
        var deliveries = client.deliveries(of: queue).makeAsyncIterator()
        let delivery = await deliveries.next()
        #expect(delivery.map { String(decoding: $0.body, as: UTF8.self) } == "after")
        delivery.map(client.ack)
        await client.shutdown()
        let connections = changes.withLock {
            $0.filter { if case .connected = $0 { return true } else { return false } }.count
        }
        let lost = changes.withLock {
            $0.filter { if case .disconnected = $0 { return true } else { return false } }.count
        }
        #expect(connections == 1 && lost <= 1, "one connection throughout: \(changes.withLock { $0 })")
    }

    /// A subscribed queue that does not exist yet, then is deleted under the consumer: reported
    /// missing, consumed within seconds of being declared, on the same connection throughout.
    @Test func aMissingOrDeletedQueueIsConsumedOnceItExists() async throws {
        let queue = uniqueQueue()
        let changes = Mutex<[AMQPClient.StatusChange]>([])
        let client = AMQPClient(
            configuration: configuration,
            subscriptions: [.init(queue: queue, prefetch: 10)],
            logger: logger
        ) { change in changes.withLock { $0.append(change) } }
        client.start()
        defer { Task { await client.shutdown() } }
        func waitFor(_ change: AMQPClient.StatusChange, count: Int) async throws {
            let deadline = ContinuousClock.now + .seconds(10)
            while changes.withLock({ $0.filter { $0 == change }.count }) < count {
                guard ContinuousClock.now < deadline else {
                    Issue.record("no \(change) within 10 s: \(changes.withLock { $0 })")
                    return
                }
                try await Task.sleep(for: .milliseconds(50))
            }
        }
        func declareAndPublish(_ body: String) async throws {
            try await AMQPConnection.withDedicatedThread(configuration) { connection in
                try connection.declareQueue(queue, durable: false, arguments: ["x-expires": .int(60_000)])
                try connection.enableConfirms()
                try connection.publishConfirmed(
                    AMQPOutgoingMessage(
                        exchange: "",
                        routingKey: queue,
                        properties: AMQPProperties(),
                        body: Array(body.utf8)
                    )
                )
            }
        }
        try await waitFor(.queueMissing(queue: queue), count: 1)
        try await declareAndPublish("first")
        let declared = ContinuousClock.now
        var deliveries = client.deliveries(of: queue).makeAsyncIterator()
        let first = await deliveries.next()
        #expect(first.map { String(decoding: $0.body, as: UTF8.self) } == "first")
        #expect(ContinuousClock.now - declared < .seconds(5))
        first.map(client.ack)
        try await waitFor(.queueConsumed(queue: queue), count: 1)

        try await AMQPConnection.withDedicatedThread(configuration) { try $0.deleteQueue(queue) }
        try await waitFor(.queueMissing(queue: queue), count: 2)
        try await declareAndPublish("second")
        let second = await deliveries.next()
        #expect(second.map { String(decoding: $0.body, as: UTF8.self) } == "second")
        second.map(client.ack)
        // One connection throughout: no reconnect.
        #expect(
            changes.withLock { $0.filter { if case .connected = $0 { return true } else { return false } }.count } == 1
        )
    }

    @Test func retryQueuesDeadLetterBackToTheWorkQueueAfterTheirTTL() async throws {
        let suffix = UUID().uuidString.prefix(8)
        let topology = try Topology.parse(
            yaml: """
                exchange: test.jobs.\(suffix)
                dead_letter_exchange: test.dead.\(suffix)
                retry: {delays: [1s, 5s]}
                job_types:
                  t.\(suffix): {deadline: 5s}
                queues:
                  test.retry.\(suffix):
                    job_types: [t.\(suffix)]
                """
        )
        let queue = topology.queues[0]
        let started = ContinuousClock.now  // before the publish: its confirm may be slow
        try await AMQPConnection.withDedicatedThread(configuration) { connection in
            try TopologyDeclarer(topology: topology).declare(on: connection)
            try connection.enableConfirms()
            try connection.publishConfirmed(
                AMQPOutgoingMessage(
                    exchange: "",
                    routingKey: queue.retryQueue(delay: .seconds(1)),
                    properties: AMQPProperties(deliveryMode: 2, messageId: "r", expiration: "900"),
                    body: [42]
                )
            )
        }
        var back: AMQPDelivery?
        while back == nil && ContinuousClock.now - started < .seconds(10) {
            back = try await AMQPConnection.withDedicatedThread(configuration) { try $0.get(queue: queue.name) }
            if back == nil { try await Task.sleep(for: .milliseconds(100)) }
        }
        let waited = ContinuousClock.now - started
        #expect(back?.body == [42])
        #expect(waited >= .milliseconds(800) && waited < .seconds(5), "waited \(waited)")
        try await AMQPConnection.withDedicatedThread(configuration) { connection in
            for name in [queue.name, queue.deadLetterQueue] + topology.retry.delays.map({ queue.retryQueue(delay: $0) })
            {
                try connection.deleteQueue(name)
            }
        }
    }
}

@Suite("AMQP client reconnect")
struct AMQPReconnectTests {
    @Test(
        "When the broker drops the connection, the client reconnects and consumes again",
        .enabled(if: ProcessInfo.processInfo.environment["FLEET_RABBITMQCTL"] != nil)
    )
    func reconnectsAfterTheBrokerClosesTheConnection() async throws {
        let rabbitmqctl = ProcessInfo.processInfo.environment["FLEET_RABBITMQCTL"]!
        let vhost = "test_reconnect_\(UInt32.random(in: 0...UInt32.max))"
        func shell(_ command: String) throws {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/bin/sh")
            process.arguments = ["-c", command + " >/dev/null 2>&1"]
            try process.run()
            process.waitUntilExit()
            #expect(process.terminationStatus == 0, "\(command)")
        }
        var configuration = try AMQPConfiguration(url: AMQPClientTests.url)
        try shell(
            "\(rabbitmqctl) add_vhost \(vhost) && "
                + "\(rabbitmqctl) set_permissions -p \(vhost) '\(configuration.user)' '.*' '.*' '.*'"
        )
        configuration.vhost = vhost
        let queue = "reconnect"
        try await AMQPConnection.withDedicatedThread(configuration) { try $0.declareQueue(queue) }
        let client = AMQPClient(
            configuration: configuration,
            subscriptions: [.init(queue: queue, prefetch: 5)],
            logger: Logger(label: "reconnect-test")
        )
        client.start()
        func send(_ id: String) async throws {
            try await client.publish(
                AMQPOutgoingMessage(
                    exchange: "",
                    routingKey: queue,
                    properties: AMQPProperties(deliveryMode: 2, messageId: id),
                    body: [1]
                )
            )
        }
        var deliveries = client.deliveries(of: queue).makeAsyncIterator()
        try await send("before")
        let first = try #require(await deliveries.next())
        #expect(first.properties.messageId == "before")
        client.ack(first)

        try shell("\(rabbitmqctl) close_all_connections -p \(vhost) 'test: broker went away'")
        // A publish racing the close fails with a transient error (it may or may not be stored);
        // publishing again goes out on the new connection.
        var attempts = 0
        while true {
            attempts += 1
            do {
                try await send("after")
                break
            } catch let error as AMQPError where error.isTransient && attempts < 5 {
                try await Task.sleep(for: .milliseconds(200))
            }
        }
        var seen: [String] = []
        while let delivery = await deliveries.next() {
            seen.append(delivery.properties.messageId ?? "")
            client.ack(delivery)
            if seen.contains("after") { break }
        }
        #expect(seen.last == "after")
        await client.shutdown()
        try shell("\(rabbitmqctl) delete_vhost \(vhost)")
    }
}
