import Foundation
import ServiceURL

/// Where and how to reach a RabbitMQ broker: one address, or the nodes of a cluster.
public struct AMQPConfiguration: Sendable {
    /// One broker node: host and port. Every node shares the user, password and vhost.
    public typealias Address = ServiceURL.Endpoint

    /// The broker nodes, in the order a client tries them; never empty. ``AMQPClient`` connects to
    /// the first and moves to the next one whenever a connection fails or is lost.
    public var addresses: [Address]
    /// The first node's host name or IP address (IPv6 without brackets).
    public var host: String {
        get { addresses[0].host }
        set { addresses[0].host = newValue }
    }
    /// The first node's TCP port; 5672 unless set (5671 for `amqps://`).
    public var port: Int {
        get { addresses[0].port }
        set { addresses[0].port = newValue }
    }
    /// The user to log in as (SASL PLAIN).
    public var user: String
    /// The user's password; never in descriptions or errors.
    public var password: String
    /// The virtual host to open, `/` being the default one.
    public var vhost: String
    /// Heartbeat interval negotiated with the broker; a dead peer is noticed within two intervals.
    public var heartbeatSeconds: Int = 30
    /// How long opening the TCP connection may block, in seconds.
    public var connectTimeoutSeconds: Int = 5
    /// How long one broker RPC (login, channel open, declare, consume, close) may wait for its reply
    /// before the connection counts as lost (librabbitmq's `amqp_set_rpc_timeout`). Generous: a
    /// loaded broker with hundreds of quorum queues took over 10 s to log a client in on a 2-core
    /// machine; the bound is there for a broker that never answers.
    public var rpcTimeout: Duration = .seconds(30)
    /// How long ``AMQPClient/publish(_:)`` waits for the broker's confirm, counted from the call
    /// (a publish held while the connection is blocked counts too); then it throws `.timeout`.
    public var confirmTimeout: Duration = .seconds(30)
    /// The longest pause between two reconnect attempts (the pause doubles from 100 ms up to it).
    public var maxReconnectDelay: Duration = .seconds(5)
    /// The largest frame in bytes this client proposes at login (the broker may lower it); message
    /// bodies are sent in frames of at most the size agreed.
    public var frameMax: Int = 131_072
    /// TLS for every node (an `amqps://` URL); nil connects over plain TCP.
    public var tls: AMQPTLSConfiguration?

    /// A configuration for a broker; every argument has the default of a local RabbitMQ.
    public init(
        host: String = "127.0.0.1",
        port: Int = 5672,
        user: String = "guest",
        password: String = "guest",
        vhost: String = "/"
    ) {
        self.addresses = [Address(host: host, port: port)]
        self.user = user
        self.password = password
        self.vhost = vhost
    }

    /// Parses `amqp://user:pass@host:port/vhost`, or a comma-separated list of such URLs, one per
    /// node of a cluster: `amqp://u:p@node1:5672/%2f,amqp://node2:5672,amqp://node3`. The vhost is
    /// percent-decoded (`%2f` is `/`) and defaults to `/` when the path is empty. User and password
    /// default to `guest`, the port to 5672; IPv6 hosts go in brackets. A later URL may leave out
    /// the credentials and the vhost (the first URL's apply); where it names them they must be the
    /// first URL's. A fragment is accepted and ignored.
    ///
    /// `amqps://` connects over TLS (default port 5671), verifying the broker's certificate, with
    /// RabbitMQ's URI query parameters (``AMQPTLSConfiguration``): `cacertfile=PATH` (the CA
    /// certificates to trust; default: the system's), `certfile=PATH` and `keyfile=PATH` (a client
    /// certificate), `verify=verify_peer|verify_none` and `server_name_indication=NAME` (the name
    /// the certificate must carry, when not the URL's host). Any other query parameter is an error
    /// naming it, as are these on an `amqp://` URL. Every URL of a list uses the same scheme; a
    /// later URL may leave out the query (the first URL's applies) or repeat it exactly.
    ///
    /// - Throws: ``AMQPError`` with code `.configuration`, whose message never contains the password.
    public init(url: String) throws {
        let parts = url.split(separator: ",", omittingEmptySubsequences: false)
            .map { $0.trimmingCharacters(in: .whitespaces) }
        var parsedURLs: [ServiceURL] = []
        for (index, part) in parts.enumerated() {
            let which = parts.count > 1 ? " (address \(index + 1) of \(parts.count))" : ""
            guard !part.isEmpty else {
                throw AMQPError(code: .configuration, message: "invalid AMQP URL\(which): empty", address: "")
            }
            do throws(ServiceURLError) {
                parsedURLs.append(try ServiceURL(part, schemes: ["amqp": 5672, "amqps": 5671]))
            } catch {
                throw AMQPError(code: .configuration, message: "invalid AMQP URL\(which): \(error.reason)", address: "")
            }
        }
        let first = parsedURLs[0]
        self.init(
            host: first.host,
            port: first.port,
            user: first.user ?? "guest",
            password: first.password ?? "guest"
        )
        let path = first.path ?? ""
        vhost = path.isEmpty ? "/" : path
        tls = try Self.tls(of: first, which: parsedURLs.count > 1 ? " (address 1 of \(parsedURLs.count))" : "")
        for (offset, other) in parsedURLs.dropFirst().enumerated() {
            let which = "address \(offset + 2) of \(parsedURLs.count)"
            if other.scheme != first.scheme {
                throw AMQPError(
                    code: .configuration,
                    message: "invalid AMQP URL (\(which)): mixes amqp:// and amqps://",
                    address: ""
                )
            }
            if other.query != nil, try Self.tls(of: other, which: " (\(which))") != tls {
                throw AMQPError(
                    code: .configuration,
                    message: "invalid AMQP URL (\(which)): other TLS parameters",
                    address: ""
                )
            }
            if let otherUser = other.user, otherUser != user {
                throw AMQPError(code: .configuration, message: "invalid AMQP URL (\(which)): another user", address: "")
            }
            if let otherPassword = other.password, otherPassword != password {
                throw AMQPError(
                    code: .configuration,
                    message: "invalid AMQP URL (\(which)): another password",
                    address: ""
                )
            }
            if let otherPath = other.path, !otherPath.isEmpty, otherPath != vhost {
                throw AMQPError(
                    code: .configuration,
                    message: "invalid AMQP URL (\(which)): another vhost",
                    address: ""
                )
            }
            addresses.append(other.endpoints[0])
        }
    }

    /// The TLS settings of one URL of the list.
    private static func tls(of url: ServiceURL, which: String) throws -> AMQPTLSConfiguration? {
        do throws(AMQPTLSConfiguration.Invalid) {
            let items: [(name: String, value: String)]
            do throws(ServiceURLError) {
                items = try url.queryItems()
            } catch {
                throw AMQPTLSConfiguration.Invalid(error.reason)
            }
            return try AMQPTLSConfiguration.parse(items, tls: url.scheme == "amqps")
        } catch {
            throw AMQPError(code: .configuration, message: "invalid AMQP URL\(which): \(error.reason)", address: "")
        }
    }

    /// The first node's `host:port/vhost`, never the credentials: for error messages and logs.
    public var redactedAddress: String { redacted(addresses[0]) }

    /// Every node's `host:port/vhost`, comma-separated, never the credentials.
    public var redactedAddresses: String { addresses.map(redacted).joined(separator: ",") }

    /// `host:port/vhost` of one node, never the credentials.
    public func redacted(_ address: Address) -> String {
        "\(address)\(vhost.hasPrefix("/") ? "" : "/")\(vhost)"
    }

    /// The configuration as an `amqp://` (or `amqps://`, with its TLS parameters) URL list that
    /// ``init(url:)`` reads back, WITH the password: for handing the broker to a child process's
    /// environment, never for logs.
    public var urlWithCredentials: String {
        func encode(_ text: String) -> String {
            text.addingPercentEncoding(withAllowedCharacters: .alphanumerics.union(.init(charactersIn: "-._~"))) ?? text
        }
        let credentials = "\(encode(user)):\(encode(password))@"
        let scheme = tls == nil ? "amqp" : "amqps"
        let query = tls.map(\.queryItems).flatMap { $0.isEmpty ? nil : "?" + $0.joined(separator: "&") } ?? ""
        return addresses.enumerated().map { index, address in
            "\(scheme)://\(index == 0 ? credentials : "")\(address)/\(encode(vhost))\(index == 0 ? query : "")"
        }.joined(separator: ",")
    }
}
