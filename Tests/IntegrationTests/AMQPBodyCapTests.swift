import AMQP
import FleetContract
import Foundation
import Logging
import Testing

/// The body cap is decided from the content header, before the body is read: against the RabbitMQ
/// of `scripts/services.sh`, each test with its own auto-expiring queue.
@Suite("AMQP body cap")
struct AMQPBodyCapTests {
    static let url = ProcessInfo.processInfo.environment["FLEET_AMQP_URL"] ?? "amqp://fleet:fleet@127.0.0.1:5682/%2f"
    let configuration = try! AMQPConfiguration(url: url)
    let cap = EnvelopeDecoder.maximumBytes

    /// A body of `count` bytes whose content is checkable: byte i is i mod 251.
    func body(_ count: Int) -> [UInt8] { (0..<count).map { UInt8($0 % 251) } }

    func declareAndPublish(_ bodies: [[UInt8]]) async throws -> String {
        let queue = "test.bodycap.\(UUID().uuidString.prefix(8))"
        try await AMQPConnection.withDedicatedThread(configuration) { connection in
            try connection.declareQueue(queue, durable: false, arguments: ["x-expires": .int(60_000)])
            try connection.enableConfirms()
            for (index, body) in bodies.enumerated() {
                try connection.publishConfirmed(
                    AMQPOutgoingMessage(
                        exchange: "",
                        routingKey: queue,
                        properties: AMQPProperties(messageId: "m\(index)"),
                        body: body
                    )
                )
            }
        }
        return queue
    }

    @Test func aConsumerKeepsABodyAtTheCapAndDropsOneByteMore() async throws {
        let queue = try await declareAndPublish([body(cap), body(cap + 1), body(0), body(cap)])
        let client = AMQPClient(
            configuration: configuration,
            subscriptions: [.init(queue: queue, prefetch: 10, maxBodySize: cap)],
            logger: Logger(label: "body-cap-test")
        )
        client.start()
        var received: [AMQPDelivery] = []
        for await delivery in client.deliveries(of: queue) {
            received.append(delivery)
            client.ack(delivery)
            if received.count == 4 { break }
        }
        await client.shutdown()
        try #require(received.count == 4)
        #expect(received.map(\.properties.messageId) == ["m0", "m1", "m2", "m3"])
        // At the cap: kept whole, byte for byte (and the connection still in step after a dropped body).
        #expect(received[0].oversizeBodySize == nil && received[0].body == body(cap))
        #expect(received[1].oversizeBodySize == UInt64(cap + 1) && received[1].body.isEmpty)
        #expect(received[2].oversizeBodySize == nil && received[2].body.isEmpty)
        #expect(received[3].oversizeBodySize == nil && received[3].body == body(cap))
    }

    @Test func basicGetAppliesTheConnectionsCapToo() async throws {
        let queue = try await declareAndPublish([body(cap + 1), body(cap)])
        let (over, atCap) = try await AMQPConnection.withDedicatedThread(configuration) { connection in
            connection.maxBodySize = cap
            let over = try connection.get(queue: queue)
            let atCap = try connection.get(queue: queue)
            if let over { try connection.ack(over.deliveryTag) }
            if let atCap { try connection.ack(atCap.deliveryTag) }
            return (over, atCap)
        }
        #expect(over?.oversizeBodySize == UInt64(cap + 1) && over?.body.isEmpty == true)
        #expect(atCap?.oversizeBodySize == nil && atCap?.body == body(cap))
    }
}
