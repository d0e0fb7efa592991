import Bolt
import Testing

/// Bolt URLs with TLS, without a server: the scheme picks the mode, `tls_ca_file` the CAs.
@Suite("Bolt TLS URLs")
struct BoltTLSURLTests {
    @Test func schemesSelectTheMode() throws {
        #expect(try BoltConfiguration(url: "bolt://graph.internal").tls == .off)
        #expect(try BoltConfiguration(url: "bolt+s://graph.internal").tls == .verified(caFile: nil))
        #expect(try BoltConfiguration(url: "BOLT+SSC://graph.internal").tls == .unverified)
        let verified = try BoltConfiguration(url: "bolt+s://neo4j:hunter2@graph.internal:7688/")
        #expect(verified.port == 7688 && verified.username == "neo4j" && verified.password == "hunter2")
        #expect(try BoltConfiguration(url: "bolt+s://graph.internal").port == 7687)
    }

    @Test func readsTheCAFileFromTheQuery() throws {
        let configuration = try BoltConfiguration(url: "bolt+s://localhost:17688?tls_ca_file=/etc/fleet/ca.pem")
        #expect(configuration.tls == .verified(caFile: "/etc/fleet/ca.pem"))
        #expect(configuration.host == "localhost" && configuration.port == 17688)
        let encoded = try BoltConfiguration(url: "bolt+s://localhost/?tls_ca_file=/etc/my%20certs/ca%26.pem")
        #expect(encoded.tls == .verified(caFile: "/etc/my certs/ca&.pem"))
    }

    /// Descriptions show the scheme, so a log says whether TLS is on, and never the password.
    @Test func descriptionsNameTheSchemeNotThePassword() throws {
        let configuration = try BoltConfiguration(url: "bolt+s://neo4j:hunter2@graph.internal?tls_ca_file=/ca.pem")
        #expect("\(configuration)" == "bolt+s://neo4j:***@graph.internal:7687")
        #expect(String(reflecting: configuration).contains("/ca.pem"))
        #expect("\(try BoltConfiguration(url: "bolt+ssc://h:1"))" == "bolt+ssc://h:1")
        for text in ["\(configuration)", String(reflecting: configuration)] {
            #expect(!text.contains("hunter2"), "password leaked in \(text)")
        }
    }

    @Test(arguments: [
        ("bolt://u:hunter2@h?tls_ca_file=/ca.pem", "needs TLS"),
        ("bolt+ssc://u:hunter2@h?tls_ca_file=/ca.pem", "checks no certificate"),
        ("bolt+s://u:hunter2@h?tls_ca_file=", "empty"),
        ("bolt+s://u:hunter2@h?tls_ca_file=/a&tls_ca_file=/b", "twice"),
        ("bolt+s://u:hunter2@h?verify=none", "unknown query parameter \"verify\""),
        ("bolt+s://u:hunter2@h?x=hunter2", "only tls_ca_file"),
        ("bolt+s://u:hunter2@h?tls_ca_file", "no =value"),
        ("neo4j+s://u:hunter2@h", "neo4j:// is not supported"),
        ("bolts://u:hunter2@h", "unsupported scheme"),
    ])
    func refusesBadTLSURLs(url: String, reason: String) {
        let error = #expect(throws: BoltError.self) { try BoltConfiguration(url: url) }
        #expect(error?.code == .configuration)
        #expect(error?.message.contains(reason) == true, "\(String(describing: error))")
        #expect(error.map { "\($0)".contains("hunter2") } == false)
    }
}
