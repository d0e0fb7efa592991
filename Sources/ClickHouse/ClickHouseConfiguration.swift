import ServiceURL

/// Where a ``ClickHouseClient`` sends its queries: `http://[user[:password]@]host[:port][/database]`.
///
/// The port defaults to 8123 (ClickHouse's HTTP port), the database to `fleet`. The password goes in
/// an `Authorization` header, never in a query string, a log line or an error.
public struct ClickHouseConfiguration: Sendable {
    public var host: String
    public var port: Int
    public var user: String?
    public var password: String?
    /// The database every statement runs in (`?database=`), so statements name bare tables.
    public var database: String
    /// The longest any request may take when the job's deadline does not end sooner.
    public var requestTimeout: Duration
    /// The longest a response body may be; longer ones fail instead of filling memory.
    public var maxResponseBytes: Int
    /// The most connections (and threads) open at once; more requests wait for a free one.
    public var maxConnections: Int
    /// The longest a connect may take.
    public var connectTimeout: Duration
    /// An idle connection is not reused after this long: keep it below the server's keep-alive
    /// timeout (`keep_alive_timeout`, a few seconds by default), so that a request never goes out on
    /// a connection the server is closing.
    public var maxIdle: Duration

    public static let defaultURL = "http://127.0.0.1:58123"

    public init(
        host: String = "127.0.0.1",
        port: Int = 8123,
        user: String? = nil,
        password: String? = nil,
        database: String = "fleet",
        requestTimeout: Duration = .seconds(30),
        maxResponseBytes: Int = 64 << 20,
        maxConnections: Int = 4,
        connectTimeout: Duration = .seconds(5),
        maxIdle: Duration = .seconds(2)
    ) {
        self.host = host
        self.port = port
        self.user = user
        self.password = password
        self.database = database
        self.requestTimeout = requestTimeout
        self.maxResponseBytes = maxResponseBytes
        self.maxConnections = maxConnections
        self.connectTimeout = connectTimeout
        self.maxIdle = maxIdle
    }

    /// Parses `http://[user[:password]@]host[:port][/database]`.
    public init(url: String) throws(ClickHouseError) {
        let parsed: ServiceURL
        do {
            parsed = try ServiceURL(url, schemes: ["http": 8123])
        } catch {
            throw ClickHouseError(kind: .configuration, message: "invalid ClickHouse URL: \(error)", address: "")
        }
        let database = parsed.path.flatMap { $0.isEmpty ? nil : $0 } ?? "fleet"
        guard database.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" }) else {
            throw ClickHouseError(
                kind: .configuration,
                message: "invalid ClickHouse database name in the URL path (letters, digits and _ only)",
                address: ""
            )
        }
        self.init(
            host: parsed.host,
            port: parsed.port,
            user: parsed.user,
            password: parsed.password,
            database: database
        )
    }

    /// `host:port/database`, without credentials: for logs and errors.
    public var redactedAddress: String {
        let host = host.contains(":") ? "[\(host)]" : host
        return "\(host):\(port)/\(database)"
    }
}
