import AMQP
import Foundation
import Testing

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// A private RabbitMQ vhost for one test, on the broker of `scripts/services.sh` (FLEET_AMQP_URL,
/// FLEET_RABBITMQ_ADMIN_URL), made and dropped through the management API as the end-to-end
/// harness does: a topic exchange `jobs` and the queues the test binds to it. Connections the test
/// closes on purpose are this vhost's only.
struct TestVhost {
    static let environment = ProcessInfo.processInfo.environment
    static let exchange = "jobs"

    let name: String
    /// The broker, in this vhost.
    let amqp: AMQPConfiguration

    /// `bindings`: queue name → routing key (`#` for every job type).
    static func make(_ label: String, bindings: [String: String]) async throws -> TestVhost {
        let name = "producer_\(label)_\(UInt32.random(in: 0...UInt32.max))"
        var amqp = try AMQPConfiguration(url: environment["FLEET_AMQP_URL"] ?? "amqp://fleet:fleet@127.0.0.1:5682/%2f")
        try await management("PUT", "vhosts/\(name)")
        try await management(
            "PUT",
            "permissions/\(name)/\(amqp.user)",
            body: #"{"configure":".*","write":".*","read":".*"}"#
        )
        amqp.vhost = name
        try await AMQPConnection.withDedicatedThread(amqp) { connection in
            try connection.declareExchange(exchange, type: "topic")
            for (queue, routingKey) in bindings {
                try connection.declareQueue(queue)
                try connection.bindQueue(queue, exchange: exchange, routingKey: routingKey)
            }
        }
        return TestVhost(name: name, amqp: amqp)
    }

    func tearDown() async {
        _ = try? await Self.management("DELETE", "vhosts/\(name)")
    }

    /// Every message in `queue`, left in it (read without ack; requeued when the reading connection closes).
    func messages(in queue: String) async throws -> [AMQPDelivery] {
        try await AMQPConnection.withDedicatedThread(amqp) { connection in
            var messages: [AMQPDelivery] = []
            while let message = try connection.get(queue: queue) { messages.append(message) }
            return messages
        }
    }

    func depth(of queue: String) async throws -> UInt32 {
        try await AMQPConnection.withDedicatedThread(amqp) { try $0.declareQueue(queue, passive: true) }
    }

    /// The names of this vhost's client connections, as the management API lists them.
    func connectionNames() async throws -> [String] {
        let data = try await Self.management("GET", "vhosts/\(name)/connections")
        let list = try JSONSerialization.jsonObject(with: data) as? [[String: Any]] ?? []
        return list.compactMap { $0["name"] as? String }
    }

    /// The names of this vhost's connections once the management API lists one: it learns of a new
    /// connection within its stats interval (5 s by default).
    func waitForConnectionNames(timeout: Duration = .seconds(20)) async throws -> [String] {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            let names = try await connectionNames()
            if !names.isEmpty { return names }
            try await Task.sleep(for: .milliseconds(200))
        }
        throw TestFailure("no connection listed in vhost \(name) after \(timeout)")
    }

    /// Closes a connection of this vhost as an operator does, or a broker shutting down: the broker
    /// sends `connection.close` 320 CONNECTION_FORCED.
    func close(connectionNamed connection: String) async throws {
        try await Self.management("DELETE", "connections/\(Self.pathComponent(connection))")
    }

    /// One call of RabbitMQ's management HTTP API as its administrator; throws unless it answers 2xx.
    @discardableResult
    static func management(_ method: String, _ path: String, body: String? = nil) async throws -> Data {
        let base = environment["FLEET_RABBITMQ_ADMIN_URL"] ?? "http://guest:guest@127.0.0.1:15682"
        guard var components = URLComponents(string: base) else { throw TestFailure("bad management URL \(base)") }
        let credentials = "\(components.user ?? "guest"):\(components.password ?? "guest")"
        components.user = nil
        components.password = nil
        guard let url = URL(string: "\(components.string ?? base)/api/\(path)") else {
            throw TestFailure("bad management path \(path)")
        }
        // Generous: a broker busy with many quorum queues was seen taking over 30 s to add a vhost.
        var request = URLRequest(url: url, timeoutInterval: 120)
        request.httpMethod = method
        request.setValue("Basic \(Data(credentials.utf8).base64EncodedString())", forHTTPHeaderField: "Authorization")
        if let body {
            request.setValue("application/json", forHTTPHeaderField: "Content-Type")
            request.httpBody = Data(body.utf8)
        }
        let (data, response) = try await URLSession.shared.data(for: request)
        let status = (response as? HTTPURLResponse)?.statusCode ?? 0
        guard (200..<300).contains(status) else {
            throw TestFailure("\(method) /api/\(path): HTTP \(status) \(String(decoding: data, as: UTF8.self))")
        }
        return data
    }

    static func pathComponent(_ text: String) -> String {
        text.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? text
    }
}

struct TestFailure: Error, CustomStringConvertible {
    let description: String

    init(_ description: String) {
        self.description = description
    }
}
