import AMQP
import Foundation
import Logging
import Testing

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// AMQP over TLS against the AMQPS listener of `scripts/services.sh` (FLEET_TLS_AMQP_URL: host
/// `localhost`, the folder's CA and client certificate, FLEET_TLS_DIR holding `wrong-ca.pem`).
@Suite("AMQP over TLS", .timeLimit(.minutes(2)))
struct AMQPTLSTests {
    static let environment = ProcessInfo.processInfo.environment
    let logger = Logger(label: "amqp-tls-test")

    /// The verifying configuration; a clear failure when the services were started without TLS.
    func verifying() throws -> AMQPConfiguration {
        let url = try #require(
            Self.environment["FLEET_TLS_AMQP_URL"],
            "FLEET_TLS_AMQP_URL is unset: eval \"$(scripts/services.sh env)\" after scripts/services.sh start"
        )
        let configuration = try AMQPConfiguration(url: url)
        #expect(configuration.tls?.verifyPeer == true)
        #expect(configuration.tls?.certificateFile != nil, "the URL presents the client certificate")
        return configuration
    }

    func tlsFile(_ name: String) throws -> String {
        let folder = try #require(Self.environment["FLEET_TLS_DIR"], "FLEET_TLS_DIR is unset")
        return "\(folder)/\(name)"
    }

    /// The error opening a connection with `configuration`, or nil when it opened.
    func openingError(_ configuration: AMQPConfiguration) async -> AMQPError? {
        do {
            _ = try await AMQPConnection.withDedicatedThread(configuration) { _ in true }
            return nil
        } catch let error as AMQPError {
            return error
        } catch {
            Issue.record("not an AMQPError: \(error)")
            return nil
        }
    }

    @Test func publishesAndConsumesOverVerifiedTLS() async throws {
        let configuration = try verifying()
        let queue = "test.amqps.\(UUID().uuidString.prefix(8))"
        try await AMQPConnection.withDedicatedThread(configuration) { connection in
            try connection.declareQueue(queue, durable: false, arguments: ["x-expires": .int(60_000)])
        }
        let client = AMQPClient(
            configuration: configuration,
            subscriptions: [.init(queue: queue, prefetch: 10)],
            logger: logger
        )
        client.start()
        for index in 0..<20 {
            try await client.publish(
                AMQPOutgoingMessage(
                    exchange: "",
                    routingKey: queue,
                    properties: AMQPProperties(contentType: "application/json", messageId: "m\(index)"),
                    body: Array("{\"n\":\(index)}".utf8)
                )
            )
        }
        var received: [String] = []
        for await delivery in client.deliveries(of: queue) {
            received.append(String(decoding: delivery.body, as: UTF8.self))
            client.ack(delivery)
            if received.count == 20 { break }
        }
        #expect(received == (0..<20).map { "{\"n\":\($0)}" })
        let presented = try await waitForTLSConnection(toPort: configuration.port)
        await client.shutdown()
        #expect(presented, "the broker lists a TLS connection with the client certificate CN=fleet")
    }

    /// Whether the broker's management API lists, within 30 s (it learns of a connection within
    /// its stats interval), a TLS connection to `port` whose peer certificate is the client's.
    func waitForTLSConnection(toPort port: Int) async throws -> Bool {
        // As the administrator: a `management` user sees its own connections only.
        let base = Self.environment["FLEET_RABBITMQ_ADMIN_URL"] ?? "http://guest:guest@127.0.0.1:15682"
        var components = try #require(URLComponents(string: base))
        let credentials = "\(components.user ?? "guest"):\(components.password ?? "guest")"
        components.user = nil
        components.password = nil
        let url = try #require(URL(string: "\(components.string ?? base)/api/connections"))
        var request = URLRequest(url: url, timeoutInterval: 60)
        request.setValue("Basic \(Data(credentials.utf8).base64EncodedString())", forHTTPHeaderField: "Authorization")
        let deadline = ContinuousClock.now + .seconds(30)
        while ContinuousClock.now < deadline {
            let (data, _) = try await URLSession.shared.data(for: request)
            let connections = try JSONSerialization.jsonObject(with: data) as? [[String: Any]] ?? []
            let found = connections.contains {
                $0["ssl"] as? Bool == true && $0["port"] as? Int == port
                    && ($0["peer_cert_subject"] as? String)?.contains("CN=fleet") == true
            }
            if found { return true }
            try await Task.sleep(for: .milliseconds(500))
        }
        return false
    }

    @Test func aWrongCAFailsWithACertificateVerificationError() async throws {
        var configuration = try verifying()
        configuration.password = "s3ntinel-Pw"
        configuration.tls?.caCertificateFile = try tlsFile("wrong-ca.pem")
        let error = try #require(await openingError(configuration))
        #expect(error.code == .connection)
        #expect(error.message.contains("TLS certificate verification failed"), "\(error)")
        #expect(error.message.contains("wrong-ca.pem"), "names the CA file it trusted: \(error)")
        #expect(error.description.contains("localhost:\(configuration.port)"), "names the broker: \(error)")
        #expect(!error.description.contains("s3ntinel-Pw"))
    }

    @Test func anotherHostNameFailsWithAHostNameVerificationError() async throws {
        var configuration = try verifying()
        configuration.password = "s3ntinel-Pw"
        // The server certificate names DNS `localhost` only.
        configuration.host = "127.0.0.1"
        let error = try #require(await openingError(configuration))
        #expect(error.code == .connection)
        #expect(error.message.contains("TLS host name verification failed"), "\(error)")
        #expect(error.message.contains("127.0.0.1"), "\(error)")
        #expect(!error.description.contains("s3ntinel-Pw"))
    }

    @Test func serverNameIndicationNamesTheExpectedCertificateName() async throws {
        var byAddress = try verifying()
        byAddress.host = "127.0.0.1"
        byAddress.tls?.serverName = "localhost"
        #expect(await openingError(byAddress) == nil, "127.0.0.1 with server_name_indication=localhost")

        var otherName = try verifying()
        otherName.tls?.serverName = "broker.example"
        let error = try #require(await openingError(otherName))
        #expect(error.message.contains("TLS certificate verification failed"), "\(error)")
        #expect(error.message.contains("broker.example"), "\(error)")
    }

    @Test func verifyNoneAcceptsAnUnverifiedCertificate() async throws {
        var configuration = try verifying()
        configuration.tls?.caCertificateFile = try tlsFile("wrong-ca.pem")
        configuration.host = "127.0.0.1"
        configuration.tls?.verifyPeer = false
        #expect(await openingError(configuration) == nil)
    }

    @Test func tlsToThePlainListenerIsAClearHandshakeError() async throws {
        var configuration = try verifying()
        let plain = try AMQPConfiguration(
            url: Self.environment["FLEET_AMQP_URL"] ?? "amqp://fleet:fleet@127.0.0.1:5682/%2f"
        )
        configuration.port = plain.port
        let error = try #require(await openingError(configuration))
        #expect(error.message.contains("TLS handshake failed"), "\(error)")
    }

    @Test func aMissingCAFileIsAConfigurationError() async throws {
        var configuration = try verifying()
        configuration.tls?.caCertificateFile = "/nonexistent/ca.pem"
        let error = try #require(await openingError(configuration))
        #expect(error.code == .configuration)
        #expect(error.message.contains("cannot read CA certificates from cacertfile /nonexistent/ca.pem"), "\(error)")
    }
}
