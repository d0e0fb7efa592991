import ServiceURL

/// Where and how to reach a RabbitMQ broker.
public struct AMQPConfiguration: Sendable {
    /// The broker's host name or IP address (IPv6 without brackets).
    public var host: String
    /// The broker's TCP port; 5672 unless set.
    public var port: Int
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
    /// The largest frame in bytes this client proposes at login (the broker may lower it); message
    /// bodies are sent in frames of at most the size agreed.
    public var frameMax: Int = 131_072

    /// A configuration for a broker; every argument has the default of a local RabbitMQ.
    public init(
        host: String = "127.0.0.1",
        port: Int = 5672,
        user: String = "guest",
        password: String = "guest",
        vhost: String = "/"
    ) {
        self.host = host
        self.port = port
        self.user = user
        self.password = password
        self.vhost = vhost
    }

    /// Parses `amqp://user:pass@host:port/vhost`; the vhost is percent-decoded (`%2f` is `/`) and
    /// defaults to `/` when the path is empty. User and password default to `guest`, the port to 5672;
    /// IPv6 hosts go in brackets. A query (`?heartbeat=10`) and a fragment are accepted and ignored.
    ///
    /// - Throws: ``AMQPError`` with code `.configuration`, whose message never contains the password.
    public init(url: String) throws {
        let parsed: ServiceURL
        do throws(ServiceURLError) {
            parsed = try ServiceURL(url, schemes: ["amqp": 5672])
        } catch {
            throw AMQPError(code: .configuration, message: "invalid AMQP URL: \(error.reason)", address: "")
        }
        self.init(
            host: parsed.host,
            port: parsed.port,
            user: parsed.user ?? "guest",
            password: parsed.password ?? "guest"
        )
        let path = parsed.path ?? ""
        vhost = path.isEmpty ? "/" : path
    }

    /// `host:port/vhost`, never the credentials: for error messages and logs.
    public var redactedAddress: String {
        let shownHost = host.contains(":") ? "[\(host)]" : host
        return "\(shownHost):\(port)\(vhost.hasPrefix("/") ? "" : "/")\(vhost)"
    }
}
