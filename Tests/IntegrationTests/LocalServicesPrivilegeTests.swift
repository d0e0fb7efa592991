import AMQP
import Foundation
import Postgres
import Testing

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// The credentials `scripts/services.sh env` gives the fleet carry no administrator rights: the
/// PostgreSQL role is no superuser, and the broker user (`fleet`, the `management` tag) can neither
/// make a vhost nor enter one it was not granted. The administrator (FLEET_RABBITMQ_ADMIN_URL)
/// makes the vhosts of this test only.
@Suite("Local services: the fleet runs without administrator rights", .timeLimit(.minutes(3)))
struct LocalServicesPrivilegeTests {
    static let environment = ProcessInfo.processInfo.environment
    static let configured =
        environment["FLEET_AMQP_URL"] != nil && environment["FLEET_RABBITMQ_MGMT_URL"] != nil
        && environment["FLEET_RABBITMQ_ADMIN_URL"] != nil && environment["FLEET_POSTGRES_URL"] != nil

    @Test("The fleet's PostgreSQL role is no superuser", .enabled(if: configured))
    func postgresRoleIsNoSuperuser() async throws {
        let url = try #require(Self.environment["FLEET_POSTGRES_URL"])
        let client = PostgresClient(configuration: try PostgresConfiguration(url: url), maxConnections: 1)
        let rows = try await client.query(
            "SELECT rolsuper::text AS superuser, rolbypassrls::text AS bypass FROM pg_roles WHERE rolname = current_user"
        )
        await client.shutdown()
        let row = try #require(Array(rows).first)
        #expect(row["superuser"] == "false" && row["bypass"] == "false", "\(row)")
    }

    @Test(
        "The fleet's broker user is no administrator: no new vhost, no vhost it was not granted",
        .enabled(if: configured)
    )
    func brokerUserIsNoAdministrator() async throws {
        let amqp = try AMQPConfiguration(url: try #require(Self.environment["FLEET_AMQP_URL"]))
        let management = try #require(Self.environment["FLEET_RABBITMQ_MGMT_URL"])
        let admin = try #require(Self.environment["FLEET_RABBITMQ_ADMIN_URL"])
        let user = try #require(URLComponents(string: management)?.user)
        #expect(user == amqp.user, "the worker and its management API calls use one user")
        #expect(user != "guest")

        let whoami = try await Self.call("GET", "whoami", base: management)
        #expect(whoami.status == 200)
        let tags = (try JSONSerialization.jsonObject(with: whoami.body) as? [String: Any])?["tags"]
        let tagList = (tags as? [String]) ?? [(tags as? String) ?? ""]
        #expect(!tagList.contains("administrator") && !tagList.contains("policymaker"), "\(tagList)")

        let vhost = "it_priv_\(UInt32.random(in: 0...UInt32.max))"
        let refused = try await Self.call("PUT", "vhosts/\(vhost)", base: management)
        #expect(refused.status == 401 || refused.status == 403, "PUT vhost as \(user): \(refused.status)")

        // A vhost the administrator made, without a grant to the fleet's user: no way in.
        let made = try await Self.call("PUT", "vhosts/\(vhost)", base: admin)
        #expect((200..<300).contains(made.status))
        var outside = amqp
        outside.vhost = vhost
        var entered = false
        do {
            entered = try await AMQPConnection.withDedicatedThread(outside) { _ in true }
        } catch {
            #expect("\(error)".contains("access") || "\(error)".contains("refused"), "\(error)")
        }
        _ = try? await Self.call("DELETE", "vhosts/\(vhost)", base: admin)
        #expect(!entered, "\(user) opened vhost \(vhost) without a grant")
    }

    /// One management API call with the credentials of `base`; the status and body.
    static func call(_ method: String, _ path: String, base: String) async throws -> (status: Int, body: Data) {
        var components = try #require(URLComponents(string: base))
        let credentials = "\(components.user ?? ""):\(components.password ?? "")"
        components.user = nil
        components.password = nil
        let root = try #require(components.string)
        let url = try #require(URL(string: "\(root)/api/\(path)"))
        var request = URLRequest(url: url, timeoutInterval: 60)
        request.httpMethod = method
        request.setValue("Basic \(Data(credentials.utf8).base64EncodedString())", forHTTPHeaderField: "Authorization")
        if method == "PUT" {
            request.setValue("application/json", forHTTPHeaderField: "Content-Type")
            request.httpBody = Data("{}".utf8)
        }
        let (body, response) = try await URLSession.shared.data(for: request)
        return ((response as? HTTPURLResponse)?.statusCode ?? 0, body)
    }
}
