import ServiceURL

/// Where and how to connect to a Redis server.
///
/// `description` and ``redactedAddress`` never contain the password, so a configuration can be logged.
public struct RedisConfiguration: Sendable {
    /// The server's host name or IP address (IPv6 without brackets).
    public var host: String
    /// The server's TCP port; 6379 unless set.
    public var port: Int
    /// The logical database selected on every new connection (`SELECT`); 0 is the default one.
    public var database: Int
    /// Sent with `AUTH` on every new connection; nil sends no `AUTH`.
    public var password: String?
    /// Seconds allowed for connecting and for each command's reply (hiredis `redisSetTimeout`).
    /// A timed-out connection is broken and gets replaced.
    public var timeoutSeconds: Double = 5

    /// A configuration from its parts; nothing is checked until a connection is opened.
    public init(host: String, port: Int = 6379, database: Int = 0, password: String? = nil) {
        self.host = host
        self.port = port
        self.database = database
        self.password = password
    }

    /// Parses `redis://[:password@]host[:port][/db]`. The port defaults to 6379, the database to 0;
    /// the password may be percent-encoded, and an empty one means none. IPv6 hosts go in brackets:
    /// `redis://[::1]:6379`. The scheme's case does not matter; query strings are refused.
    ///
    /// `rediss://` (Redis over TLS) is refused: the fleet's hiredis 0.14 has no TLS. Run a TLS client
    /// proxy (stunnel in client mode, or a sidecar) beside the worker and give its plain `redis://` address.
    ///
    /// - Throws: ``RedisError`` with code ``RedisError/Code/configuration``; its message never
    ///   repeats the URL, which may hold a password.
    public init(url: String) throws {
        func invalid(_ reason: String) -> RedisError {
            RedisError(code: .configuration, message: "invalid Redis URL: \(reason)", address: "")
        }
        if url.lowercased().hasPrefix("rediss://") {
            throw invalid(
                "rediss:// (TLS) is not supported: this client (hiredis 0.14) speaks no TLS; run a TLS client proxy "
                    + "such as stunnel (client mode, verifyChain, checkHost) next to the worker and use its redis:// "
                    + "address (README: TLS)"
            )
        }
        let parsed: ServiceURL
        do throws(ServiceURLError) {
            parsed = try ServiceURL(url, schemes: ["redis": 6379])
        } catch {
            throw invalid(error.component == .path ? "the database must be a non-negative integer" : error.reason)
        }
        guard parsed.query == nil, parsed.fragment == nil else {
            throw invalid("query strings and fragments are not supported")
        }
        if let user = parsed.user {
            guard parsed.password != nil else { throw invalid("credentials must be written ':password@'") }
            guard user.isEmpty else { throw invalid("user names are not supported") }
        }
        var database = 0
        if let path = parsed.encodedPath, !path.isEmpty {
            guard path.utf8.allSatisfy({ (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }), let number = Int(path)
            else {
                throw invalid("the database must be a non-negative integer")
            }
            database = number
        }
        let password = parsed.password.flatMap { $0.isEmpty ? nil : $0 }
        self.init(host: parsed.host, port: parsed.port, database: database, password: password)
    }

    /// `host:port/db`, for logs and error messages.
    public var redactedAddress: String {
        let hostPart = host.contains(":") ? "[\(host)]" : host
        return "\(hostPart):\(port)/\(database)"
    }
}

// Both descriptions are redacted: the synthesized ones would print the password.
extension RedisConfiguration: CustomStringConvertible, CustomDebugStringConvertible {
    public var description: String {
        "redis://\(password == nil ? "" : ":***@")\(redactedAddress)"
    }

    public var debugDescription: String {
        "RedisConfiguration(\(description), timeoutSeconds: \(timeoutSeconds))"
    }
}
