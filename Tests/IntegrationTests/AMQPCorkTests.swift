import AMQP
import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// `AMQPConnection.corked`: the client thread writes a batch of publishes with the socket corked,
/// so they leave in full segments. Against the RabbitMQ of `scripts/services.sh`.
@Suite("AMQP corked writes")
struct AMQPCorkTests {
    static let url = ProcessInfo.processInfo.environment["FLEET_AMQP_URL"] ?? "amqp://fleet:fleet@127.0.0.1:5682/%2f"
    let configuration = try! AMQPConfiguration(url: url)

    static func isCorked(_ connection: AMQPConnection) -> Int32 {
        var value: Int32 = -1
        var size = socklen_t(MemoryLayout<Int32>.size)
        _ = getsockopt(connection.socketDescriptor, Int32(IPPROTO_TCP), TCP_CORK, &value, &size)
        return value
    }

    struct Refused: Error {}

    @Test func aCorkedBatchIsDeliveredWholeAndTheSocketIsUncorkedAfter() async throws {
        let queue = "test.cork.\(UUID().uuidString.prefix(8))"
        let (during, after, afterThrow, count) = try await AMQPConnection.withDedicatedThread(configuration) {
            connection in
            try connection.declareQueue(queue, durable: false, arguments: ["x-expires": .int(60_000)])
            let during = try connection.corked {
                for index in 0..<100 {
                    try connection.publish(
                        AMQPOutgoingMessage(
                            exchange: "",
                            routingKey: queue,
                            properties: AMQPProperties(messageId: "m\(index)"),
                            body: Array("body \(index)".utf8)
                        )
                    )
                }
                return Self.isCorked(connection)
            }
            let after = Self.isCorked(connection)
            // A batch that fails part-way leaves the socket uncorked too.
            _ = try? connection.corked { () throws -> Void in throw Refused() }
            let afterThrow = Self.isCorked(connection)
            // Generous for a cold, loaded machine: the broker routes them as it reads them.
            let deadline = ContinuousClock.now + .seconds(20)
            var count: UInt32 = 0
            while count < 100, ContinuousClock.now < deadline {
                count = try connection.declareQueue(queue, durable: false, passive: true)
                if count < 100 { Thread.sleep(forTimeInterval: 0.02) }
            }
            return (during, after, afterThrow, count)
        }
        #expect(during == 1)
        #expect(after == 0)
        #expect(afterThrow == 0)
        #expect(count == 100)
    }
}
