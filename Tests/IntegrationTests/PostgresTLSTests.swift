import Foundation
import Postgres
import Testing

/// PostgreSQL over TLS with `sslmode=verify-full` against the server of `scripts/services.sh`
/// (FLEET_TLS_POSTGRES_URL: host `localhost`, the folder's CA; FLEET_TLS_DIR holds `wrong-ca.pem`).
/// The URL's parameters go to libpq as they are; these tests prove they take effect.
@Suite("Postgres over TLS", .timeLimit(.minutes(2)))
struct PostgresTLSTests {
    static let environment = ProcessInfo.processInfo.environment
    static let sentinel = "s3ntinel-Pw"

    func verifying() throws -> PostgresConfiguration {
        let url = try #require(
            Self.environment["FLEET_TLS_POSTGRES_URL"],
            "FLEET_TLS_POSTGRES_URL is unset: eval \"$(scripts/services.sh env)\" after scripts/services.sh start"
        )
        var configuration = try PostgresConfiguration(url: url)
        #expect(configuration.parameters["sslmode"] == "verify-full")
        // The local server trusts loopback: any password logs in, so the sentinel can be checked.
        configuration.password = Self.sentinel
        return configuration
    }

    func tlsFile(_ name: String) throws -> String {
        let folder = try #require(Self.environment["FLEET_TLS_DIR"], "FLEET_TLS_DIR is unset")
        return "\(folder)/\(name)"
    }

    @Test func verifyFullConnectsOverTLS() throws {
        let connection = try PostgresConnection.connect(try verifying())
        defer { connection.close() }
        let rows = try connection.query("SELECT ssl, version FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
        #expect(rows.first?.bool("ssl") == true)
        #expect(rows.first?["version"]?.hasPrefix("TLSv1.") == true)
    }

    @Test func aWrongCAFailsWithACertificateVerificationError() throws {
        var configuration = try verifying()
        configuration.parameters["sslrootcert"] = try tlsFile("wrong-ca.pem")
        let error = #expect(throws: PostgresError.self) { try PostgresConnection.connect(configuration) }
        #expect(error?.code == .connection)
        #expect(error?.message.contains("certificate verify failed") == true, "\(error.map { "\($0)" } ?? "")")
        #expect(error.map { "\($0)".contains("localhost:\(configuration.port)") } == true)
        #expect(error.map { "\($0)".contains(Self.sentinel) } == false)
    }

    @Test func anotherHostNameFailsWithAHostNameVerificationError() throws {
        var configuration = try verifying()
        configuration.host = "127.0.0.1"
        let error = #expect(throws: PostgresError.self) { try PostgresConnection.connect(configuration) }
        // libpq: server certificate for "localhost" (and 1 other name) does not match host name "127.0.0.1"
        let message = error?.message ?? ""
        #expect(message.contains("server certificate for \"localhost\""), "\(message)")
        #expect(message.contains("does not match host name \"127.0.0.1\""), "\(message)")
        #expect(error.map { "\($0)".contains(Self.sentinel) } == false)
    }
}
