import ServiceURL

/// Where and as whom to connect, and how long anything may take.
public struct PostgresConfiguration: Sendable {
    /// The servers, tried in order until one accepts (libpq's multi-host list): host names, IP
    /// addresses (IPv6 without brackets) or Unix socket directories, each with its port.
    public var endpoints: [ServiceURL.Endpoint]
    /// The role to connect as.
    public var user: String
    /// The role's password; with nil, libpq falls back to `PGPASSWORD` or `~/.pgpass`, if the server asks.
    public var password: String?
    /// The database to connect to.
    public var database: String
    /// How long a connection attempt may block, per host, in libpq's terms: 0 waits forever, 1 counts as 2.
    public var connectTimeoutSeconds: Int = 5
    /// The server ends a statement that runs longer (SQLSTATE 57014, transient). A backstop for a
    /// statement whose job is gone (its worker killed, its cancel request lost): a job's deadline
    /// (30 s in queues.yaml) cancels its own statement sooner. Twice that deadline, so that no job
    /// within its deadline ever meets it. Zero disables it.
    public var statementTimeout: Duration = .seconds(60)
    /// The server gives up waiting for a lock after this long (SQLSTATE 55P03, transient): a job
    /// stuck behind another's row lock is retried later rather than holding a connection for its
    /// whole deadline. Zero disables it.
    public var lockTimeout: Duration = .seconds(10)
    /// The server ends a session left idle inside a transaction this long, releasing its locks; nil
    /// (the default) keeps the server's setting. Not set by default because the outbox relay keeps
    /// its batch's transaction open while it waits for the broker's confirms, up to its publish
    /// timeout per row: a limit would end slow batches and publish their rows again.
    public var idleInTransactionSessionTimeout: Duration?
    /// Further libpq connection parameters by keyword (`sslmode`, `target_session_attrs`,
    /// `keepalives_idle`, ...), over ``defaultLibpqParameters``.
    public var parameters: [String: String] = [:]

    /// What every connection sets unless ``parameters`` says otherwise. A dead peer (a crashed host,
    /// a dropped route) is noticed by the kernel instead of a read that waits forever: TCP
    /// keepalives probe an idle connection after 30 s, every 10 s, 3 times (about a minute), and
    /// data unacknowledged for 30 s (`tcp_user_timeout`, ms) closes it. A server that is alive but
    /// stuck still acknowledges: the statement timeout and the job's deadline cover that.
    public static let defaultLibpqParameters: [String: String] = [
        "application_name": "workerfleet",
        "keepalives": "1",
        "keepalives_idle": "30",
        "keepalives_interval": "10",
        "keepalives_count": "3",
        "tcp_user_timeout": "30000",
    ]

    /// The first (usually the only) host.
    public var host: String {
        get { endpoints[0].host }
        set { endpoints[0].host = newValue }
    }

    /// The first host's TCP port, or the number in the name of its Unix socket file (5432 by default).
    public var port: Int {
        get { endpoints[0].port }
        set { endpoints[0].port = newValue }
    }

    /// A configuration from its parts; nothing is checked until a connection is opened.
    public init(host: String, port: Int, user: String, password: String?, database: String) {
        self.endpoints = [ServiceURL.Endpoint(host: host, port: port)]
        self.user = user
        self.password = password
        self.database = database
    }

    /// Parses `postgresql://user:password@host:port[,host:port...]/database[?parameter=value&...]`
    /// (or `postgres://`), percent-decoding user, password, database and parameters. A port
    /// defaults to 5432 and the password may be absent; IPv6 hosts go in brackets. Several hosts
    /// are tried in order (add `target_session_attrs=read-write` to skip standbys).
    ///
    /// Parameters are libpq's connection parameters (`sslmode`, `sslrootcert`, `connect_timeout`,
    /// `application_name`, `target_session_attrs`, `keepalives_idle`, `tcp_user_timeout`, ...: any
    /// that the linked libpq knows), plus the server settings `statement_timeout`, `lock_timeout` and
    /// `idle_in_transaction_session_timeout` (PostgreSQL's syntax: `30s`, `500ms`, `2min`, a bare
    /// number of milliseconds, 0 to disable). Host, port, user, password and database come from the
    /// URL's own parts, so the parameters of those names are refused, as are `client_encoding`
    /// (the client needs UTF-8) and `replication`.
    ///
    /// The user information ends at the last `@` before the path, so a password may hold an
    /// unencoded `@`, `:`, `?` or `#`, but a `/` in it must be written `%2F`.
    ///
    /// - Throws: ``PostgresError`` with code `.configuration` naming the part or parameter at
    ///   fault; its message never contains the password or a parameter's value.
    public init(url: String) throws {
        func invalid(_ reason: String) -> PostgresError {
            PostgresError(code: .configuration, message: "invalid PostgreSQL URL: \(reason)", address: "")
        }
        let parsed: ServiceURL
        do throws(ServiceURLError) {
            parsed = try ServiceURL(url, schemes: ["postgresql": 5432, "postgres": 5432], allowsHostList: true)
        } catch {
            throw invalid(error.component == .path ? "bad percent-encoding in the database name" : error.reason)
        }
        guard let user = parsed.user, !user.isEmpty else {
            throw invalid("missing user, expected postgresql://user:password@host:port/database")
        }
        guard parsed.fragment == nil else { throw invalid("fragments are not supported") }
        guard let database = parsed.path, !database.isEmpty else {
            throw invalid(
                "missing database name after the host, expected postgresql://user:password@host:port/database"
            )
        }
        guard !database.contains("/") else { throw invalid("the database name contains a /") }
        self.init(host: parsed.host, port: parsed.port, user: user, password: parsed.password, database: database)
        endpoints = parsed.endpoints
        do {
            try apply(PostgresURLParameters.parse(parsed))
        } catch let reason as PostgresURLParameters.Invalid {
            throw invalid(reason.reason)
        }
    }

    /// `host:port[,host:port...]/database`, for logs and error messages: never the user's password.
    public var redactedAddress: String {
        endpoints.map(\.description).joined(separator: ",") + "/" + database
    }

    /// The keyword/value pairs handed to `PQconnectdbParams`, password last.
    var libpqParameters: [(String, String)] {
        var merged = Self.defaultLibpqParameters.merging(parameters) { _, fromURL in fromURL }
        // Startup options rather than SET statements: no extra round trip per connection. The
        // session uses ISO dates and UTC, so that timestamps read back as `+00`. The URL's own
        // `options` come last: a -c given twice takes the later value.
        var settings = [
            "-c TimeZone=UTC -c DateStyle=ISO,MDY",
            "-c statement_timeout=\(statementTimeout.postgresMilliseconds)",
            "-c lock_timeout=\(lockTimeout.postgresMilliseconds)",
        ]
        if let idle = idleInTransactionSessionTimeout {
            settings.append("-c idle_in_transaction_session_timeout=\(idle.postgresMilliseconds)")
        }
        merged["options"] = (settings + [parameters["options"]].compactMap { $0 }).joined(separator: " ")
        var pairs: [(String, String)] = [
            ("host", endpoints.map(\.host).joined(separator: ",")),
            ("port", endpoints.map { String($0.port) }.joined(separator: ",")),
            ("user", user),
            ("dbname", database),
            ("connect_timeout", String(connectTimeoutSeconds)),
            ("client_encoding", "UTF8"),
        ]
        pairs += merged.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
        if let password { pairs.append(("password", password)) }
        return pairs
    }

    private mutating func apply(_ query: [(String, String)]) throws {
        for (name, value) in query {
            switch name {
            case "connect_timeout":
                connectTimeoutSeconds = try PostgresURLParameters.integer(name, value)
            case "statement_timeout":
                statementTimeout = try PostgresURLParameters.duration(name, value)
            case "lock_timeout":
                lockTimeout = try PostgresURLParameters.duration(name, value)
            case "idle_in_transaction_session_timeout":
                idleInTransactionSessionTimeout = try PostgresURLParameters.duration(name, value)
            default:
                try PostgresURLParameters.check(name, value)
                parameters[name] = value
            }
        }
    }
}

extension Duration {
    /// Whole milliseconds, rounded up so that a positive timeout never becomes 0 (which disables it).
    var postgresMilliseconds: Int64 {
        let (seconds, attoseconds) = components
        let milliseconds = seconds * 1000 + attoseconds / 1_000_000_000_000_000
        return attoseconds % 1_000_000_000_000_000 > 0 ? milliseconds + 1 : max(0, milliseconds)
    }
}

// The password and parameters such as `sslpassword` are secrets: printing or dumping a
// configuration shows the redacted address and the timeouts only.
extension PostgresConfiguration: CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    /// `PostgresConfiguration(host:port/database)`, without credentials or parameters.
    public var description: String { "PostgresConfiguration(\(redactedAddress))" }
    /// The same as ``description``.
    public var debugDescription: String { description }
    /// A mirror without the password or the libpq parameters.
    public var customMirror: Mirror {
        Mirror(
            self,
            children: [
                "endpoints": endpoints, "user": user, "database": database,
                "statementTimeout": statementTimeout, "lockTimeout": lockTimeout,
            ],
            displayStyle: .struct
        )
    }
}
