import Foundation

/// Where and how to reach a RabbitMQ broker.
public struct AMQPConfiguration: Sendable {
    public var host: String
    public var port: Int
    public var user: String
    public var password: String
    public var vhost: String
    /// Heartbeat interval negotiated with the broker; a dead peer is noticed within two intervals.
    public var heartbeatSeconds: Int = 30
    public var connectTimeoutSeconds: Int = 5
    public var frameMax: Int = 131_072

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
    /// defaults to `/` when the path is empty.
    public init(url: String) throws {
        // `percentEncodedHost`, not `host`: `host` runs the name through ICU's IDNA, which maps ICU's
        // code and normalization data into every worker (about 1 MiB of peak RSS) for a host that is
        // an IP address or an ASCII name. A percent-encoded host is decoded below.
        guard let components = URLComponents(string: url), components.scheme == "amqp",
            let encodedHost = components.percentEncodedHost, !encodedHost.isEmpty
        else {
            throw AMQPError(code: .configuration, message: "not an amqp://user:pass@host:port/vhost URL", address: "")
        }
        self.init(
            host: encodedHost.removingPercentEncoding ?? encodedHost,
            port: components.port ?? 5672,
            user: components.user ?? "guest",
            password: components.password ?? "guest"
        )
        let path = components.percentEncodedPath
        if path.isEmpty || path == "/" {
            vhost = "/"
        } else {
            vhost = String(path.dropFirst()).removingPercentEncoding ?? String(path.dropFirst())
        }
    }

    /// `host:port/vhost`, never the credentials: for error messages and logs.
    public var redactedAddress: String { "\(host):\(port)\(vhost.hasPrefix("/") ? "" : "/")\(vhost)" }
}
