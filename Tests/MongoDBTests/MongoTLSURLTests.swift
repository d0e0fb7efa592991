import Testing

@testable import MongoDB

/// MongoDB URLs with TLS options, without a server: libmongoc gets them as written.
@Suite("MongoDB TLS URLs")
struct MongoTLSURLTests {
    @Test func keepsTheTLSOptionsForLibmongoc() throws {
        let url =
            "mongodb://fleet:hunter2@db.internal:27017/career?tls=true&tlsCAFile=/etc/fleet/ca.pem"
            + "&tlsCertificateKeyFile=/etc/fleet/client.pem&maxTimeMS=2000&tlsAllowInvalidHostnames=false"
        let configuration = try MongoConfiguration(url: url)
        #expect(configuration.database == "career")
        #expect(configuration.maxTimeMilliseconds == 2000)
        // maxTimeMS is the fleet's own option and leaves; every TLS option stays.
        #expect(
            configuration.url
                == "mongodb://fleet:hunter2@db.internal:27017/career?tls=true&tlsCAFile=/etc/fleet/ca.pem"
                + "&tlsCertificateKeyFile=/etc/fleet/client.pem&tlsAllowInvalidHostnames=false"
        )
        for text in ["\(configuration)", String(reflecting: configuration)] {
            #expect(!text.contains("hunter2"), "\(text)")
        }
    }

    /// libmongoc (built with OpenSSL on Debian) accepts the TLS options: a client is made without a server.
    @Test func libmongocAcceptsTheTLSOptions() throws {
        let connection = try MongoConnection.connect(
            try MongoConfiguration(
                url: "mongodb://localhost:1/fleet?tls=true&tlsCAFile=/etc/ssl/certs/ca-certificates.crt"
            )
        )
        connection.close()
    }
}
