import AMQP
import Testing

/// `amqps://` URLs: defaults, RabbitMQ's TLS query parameters, the errors, and the round trip
/// through `urlWithCredentials`. Pure parsing, no broker.
@Suite("AMQP TLS URLs")
struct AMQPTLSURLTests {
    static let sentinel = "s3ntinel-Pw"

    @Test func amqpsDefaultsToPort5671AndFullVerification() throws {
        let parsed = try AMQPConfiguration(url: "amqps://u:p@broker.example")
        #expect(parsed.port == 5671)
        #expect(parsed.vhost == "/")
        let tls = try #require(parsed.tls)
        #expect(tls.verifyPeer)
        #expect(tls.caCertificateFile == nil, "nil trusts the system's CA certificates")
        #expect(tls.certificateFile == nil && tls.keyFile == nil && tls.serverName == nil)
        #expect(try AMQPConfiguration(url: "AMQPS://h:6000/v").port == 6000)
        #expect(try AMQPConfiguration(url: "amqp://h").tls == nil)
        #expect(try AMQPConfiguration(url: "amqp://h").port == 5672)
    }

    @Test func readsRabbitMQsTLSParameters() throws {
        let parsed = try AMQPConfiguration(
            url: "amqps://u:p@localhost:5683/%2f?cacertfile=/etc/tls/my%20ca.pem&certfile=/c.pem&keyfile=/c.key"
                + "&verify=verify_peer&server_name_indication=broker.internal"
        )
        #expect(
            parsed.tls
                == AMQPTLSConfiguration(
                    caCertificateFile: "/etc/tls/my ca.pem",
                    certificateFile: "/c.pem",
                    keyFile: "/c.key",
                    verifyPeer: true,
                    serverName: "broker.internal"
                )
        )
        #expect(try AMQPConfiguration(url: "amqps://h?verify=verify_none").tls?.verifyPeer == false)
    }

    @Test(arguments: [
        ("amqps://h?heartbeat=10", "unknown query parameter \"heartbeat\""),
        ("amqp://h?heartbeat=10", "unknown query parameter \"heartbeat\""),
        ("amqp://h?cacertfile=/ca.pem", "cacertfile needs an amqps:// URL"),
        ("amqps://h?verify=yes", "verify must be verify_peer or verify_none"),
        ("amqps://h?certfile=/c.pem", "certfile and keyfile go together"),
        ("amqps://h?keyfile=/c.key", "certfile and keyfile go together"),
        ("amqps://h?cacertfile=/a&cacertfile=/b", "cacertfile is given twice"),
        ("amqps://h?cacertfile=", "cacertfile needs a value"),
        ("amqps://h?cacertfile", "no =value"),
        ("amqps://h,amqp://h2", "mixes amqp:// and amqps://"),
        ("amqps://h?cacertfile=/a,amqps://h2?cacertfile=/b", "other TLS parameters"),
    ])
    func refusesBadParametersNamingThem(url: String, reason: String) {
        let error = #expect(throws: AMQPError.self) { try AMQPConfiguration(url: url) }
        #expect(error?.code == .configuration)
        #expect(error?.message.contains(reason) == true, "\(error?.message ?? "no error")")
    }

    @Test func errorsNeverQuoteThePassword() {
        let error = #expect(throws: AMQPError.self) {
            try AMQPConfiguration(url: "amqps://u:\(Self.sentinel)@h?verify=\(Self.sentinel)")
        }
        #expect(error.map { !"\($0)".contains(Self.sentinel) } == true, "\(error.map { "\($0)" } ?? "")")
    }

    @Test func aClusterListSharesTheFirstURLsTLSParameters() throws {
        let parsed = try AMQPConfiguration(
            url: "amqps://u:p@n1/%2f?cacertfile=/ca.pem,amqps://n2:5999,amqps://n3?cacertfile=/ca.pem"
        )
        #expect(parsed.addresses.map(\.description) == ["n1:5671", "n2:5999", "n3:5671"])
        #expect(parsed.tls?.caCertificateFile == "/ca.pem")
    }

    @Test func urlWithCredentialsKeepsTheTLSParameters() throws {
        let url =
            "amqps://fleet:\(Self.sentinel)@localhost:5683/jobs?cacertfile=/tls/ca%26more.pem&certfile=/tls/client.pem"
            + "&keyfile=/tls/client.key&verify=verify_none&server_name_indication=b.internal,amqps://[::1]:5684"
        let parsed = try AMQPConfiguration(url: url)
        let again = try AMQPConfiguration(url: parsed.urlWithCredentials)
        #expect(again.tls == parsed.tls)
        #expect(again.tls?.caCertificateFile == "/tls/ca&more.pem")
        #expect(again.addresses == parsed.addresses)
        #expect(again.password == Self.sentinel)
        #expect(again.vhost == "jobs")
        #expect(!parsed.redactedAddresses.contains(Self.sentinel))
        #expect(try AMQPConfiguration(url: "amqps://h").urlWithCredentials == "amqps://guest:guest@h:5671/%2F")
        #expect(try AMQPConfiguration(url: "amqp://h").urlWithCredentials == "amqp://guest:guest@h:5672/%2F")
    }
}
