import ServiceURL

/// Where and as whom to connect.
public struct PostgresConfiguration: Sendable {
    /// A host name, an IP address (IPv6 without brackets), or a Unix socket directory.
    public var host: String
    /// The server's TCP port, or the number in the name of its Unix socket file (5432 by default).
    public var port: Int
    /// The role to connect as.
    public var user: String
    /// The role's password; with nil, libpq falls back to `PGPASSWORD` or `~/.pgpass`, if the server asks.
    public var password: String?
    /// The database to connect to.
    public var database: String
    /// How long a connection attempt may block, in libpq's terms: 0 waits forever, 1 counts as 2.
    public var connectTimeoutSeconds: Int = 5

    /// A configuration from its parts; nothing is checked until a connection is opened.
    public init(host: String, port: Int, user: String, password: String?, database: String) {
        self.host = host
        self.port = port
        self.user = user
        self.password = password
        self.database = database
    }

    /// Parses `postgresql://user:password@host:port/database` (or `postgres://`), percent-decoding
    /// user, password and database. The port defaults to 5432 and the password may be absent;
    /// IPv6 hosts go in brackets. Query parameters are refused rather than silently ignored.
    /// The user information ends at the last `@` before the path, so a password may hold an
    /// unencoded `@`, `:`, `?` or `#`, but a `/` in it must be written `%2F`.
    ///
    /// - Throws: ``PostgresError`` with code `.configuration`, whose message never contains the password.
    public init(url: String) throws {
        func invalid(_ reason: String) -> PostgresError {
            PostgresError(code: .configuration, message: "invalid PostgreSQL URL: \(reason)", address: "")
        }
        let parsed: ServiceURL
        do throws(ServiceURLError) {
            parsed = try ServiceURL(url, schemes: ["postgresql": 5432, "postgres": 5432])
        } catch {
            throw invalid(error.component == .path ? "bad percent-encoding in the database name" : error.reason)
        }
        guard let user = parsed.user, !user.isEmpty else {
            throw invalid("missing user, expected postgresql://user:password@host:port/database")
        }
        guard parsed.query == nil, parsed.fragment == nil else {
            throw invalid("query parameters and fragments are not supported")
        }
        guard let database = parsed.path, !database.isEmpty else {
            throw invalid(
                "missing database name after the host, expected postgresql://user:password@host:port/database"
            )
        }
        guard !database.contains("/") else { throw invalid("the database name contains a /") }
        self.init(host: parsed.host, port: parsed.port, user: user, password: parsed.password, database: database)
    }

    /// `host:port/database`, for logs and error messages: never the user's password.
    public var redactedAddress: String {
        let shownHost = host.contains(":") ? "[\(host)]" : host
        return "\(shownHost):\(port)/\(database)"
    }
}
