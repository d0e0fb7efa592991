import ServiceURL

/// Where and how to connect to a Bolt server (Neo4j 5, or FalkorDB in tests).
///
/// `description` and ``redactedAddress`` never contain the password, so a configuration can be logged.
public struct BoltConfiguration: Sendable {
    /// The server's host name or IP address (IPv6 without brackets).
    public var host: String
    /// The server's TCP port; 7687 unless set.
    public var port: Int
    /// Basic auth when set; otherwise LOGON uses the scheme `none`.
    public var username: String?
    /// The password sent with ``username`` in LOGON; never in descriptions or errors.
    public var password: String?
    /// The database for every query and transaction (`db` in RUN and BEGIN); nil means the server's default.
    public var database: String?
    /// Select ``database`` the way FalkorDB 4.16 reads it: its Bolt server takes the graph name from
    /// the first *key* of RUN's extra map (so `{db: "x"}` runs on a graph named `db`) and ignores
    /// BEGIN's. When true, an auto-commit ``BoltClient/run(_:parameters:)`` sends `{<database>: "db"}`
    /// instead, which FalkorDB runs on the graph `<database>`; transactions still run on its default
    /// graph. Neo4j needs it false (the default).
    public var falkorDBGraphSelection = false
    /// Seconds allowed to open the TCP connection.
    public var connectTimeoutSeconds: Double = 5
    /// Seconds allowed for each reply, the version handshake's and HELLO's included (over TLS, the
    /// TLS handshake too). A timed-out connection is closed and replaced.
    public var requestTimeoutSeconds: Double = 30
    /// Sent in HELLO as `user_agent`.
    public var userAgent = "workerfleet/1.0"
    /// TLS: off (`bolt://`), verified (`bolt+s://`) or unverified (`bolt+ssc://`, test servers only).
    public var tls = BoltTLS.off

    /// A configuration from its parts; nothing is checked until a connection is opened.
    public init(host: String, port: Int = 7687, username: String? = nil, password: String? = nil) {
        self.host = host
        self.port = port
        self.username = username
        self.password = password
    }

    /// Parses `bolt://[user:password@]host[:port]`. The port defaults to 7687; user and password
    /// may be percent-encoded, and both are needed when either is given. IPv6 hosts go in brackets:
    /// `bolt://[::1]:7687`. The scheme's case does not matter; a trailing `/` is allowed, a path
    /// or a fragment is not.
    ///
    /// TLS, as Neo4j's drivers spell it (``BoltTLS``): `bolt+s://` checks the server's certificate
    /// against the system's trust store, or against the CAs of a PEM file given as
    /// `bolt+s://host:7687?tls_ca_file=/path/ca.pem` (percent-encoded where needed), and checks that
    /// it names the host; `bolt+ssc://` encrypts without checking the certificate (test servers with a
    /// self-signed certificate only). `tls_ca_file` is the only query parameter, and only with `bolt+s`.
    ///
    /// - Throws: ``BoltError`` with code ``BoltError/Code/configuration``; its message never
    ///   repeats the URL, which may hold a password.
    public init(url: String) throws {
        func invalid(_ reason: String) -> BoltError {
            BoltError(code: .configuration, message: "invalid Bolt URL: \(reason)", address: "")
        }
        let parsed: ServiceURL
        do throws(ServiceURLError) {
            parsed = try ServiceURL(url, schemes: ["bolt": 7687, "bolt+s": 7687, "bolt+ssc": 7687])
        } catch {
            switch error.component {
            case .scheme: throw invalid("\(error.reason) (routing with neo4j:// is not supported)")
            case .path: throw invalid("paths are not supported")
            default: throw invalid(error.reason)
            }
        }
        guard parsed.fragment == nil else { throw invalid("fragments are not supported") }
        guard (parsed.encodedPath ?? "").isEmpty else { throw invalid("paths are not supported") }
        let tls = try Self.tls(from: parsed, invalid: invalid)
        if let user = parsed.user {
            guard parsed.password != nil else { throw invalid("credentials must be 'user:password@'") }
            guard !user.isEmpty else { throw invalid("empty user name") }
        }
        self.init(host: parsed.host, port: parsed.port, username: parsed.user, password: parsed.password)
        self.tls = tls
    }

    /// The TLS mode of a parsed URL: its scheme, and `tls_ca_file` from its query.
    private static func tls(from parsed: ServiceURL, invalid: (String) -> BoltError) throws -> BoltTLS {
        let items: [(name: String, value: String)]
        do throws(ServiceURLError) {
            items = try parsed.queryItems()
        } catch {
            throw invalid(error.reason)
        }
        var caFile: String?
        for item in items {
            // Names are not secrets and are quoted; values never are.
            guard item.name == "tls_ca_file" else {
                let named = item.name.count <= 40 && item.name.allSatisfy { $0.isLetter || $0.isNumber || $0 == "_" }
                throw invalid(
                    "unknown query parameter\(named ? " \"\(item.name)\"" : ""); only tls_ca_file is supported"
                )
            }
            guard caFile == nil else { throw invalid("tls_ca_file is given twice") }
            guard !item.value.isEmpty else { throw invalid("tls_ca_file is empty") }
            caFile = item.value
        }
        switch parsed.scheme {
        case "bolt+s":
            return .verified(caFile: caFile)
        case "bolt+ssc":
            guard caFile == nil else {
                throw invalid("bolt+ssc:// checks no certificate, so tls_ca_file has no use there; use bolt+s://")
            }
            return .unverified
        default:
            guard caFile == nil else { throw invalid("tls_ca_file needs TLS: use bolt+s://") }
            return .off
        }
    }

    /// `host:port`, for logs and error messages.
    public var redactedAddress: String {
        let hostPart = host.contains(":") ? "[\(host)]" : host
        return "\(hostPart):\(port)"
    }

    /// The LOGON map: basic auth with a user name, scheme `none` without.
    var authToken: [String: BoltValue] {
        guard let username else { return ["scheme": "none"] }
        return ["scheme": "basic", "principal": .string(username), "credentials": .string(password ?? "")]
    }
}

// Both descriptions are redacted: the synthesized ones would print the password.
extension BoltConfiguration: CustomStringConvertible, CustomDebugStringConvertible {
    public var description: String {
        "\(tls.scheme)://\(username.map { "\($0):***@" } ?? "")\(redactedAddress)"
    }

    public var debugDescription: String {
        "BoltConfiguration(\(description), tls: \(tls), database: \(database ?? "default"), "
            + "connectTimeoutSeconds: \(connectTimeoutSeconds), requestTimeoutSeconds: \(requestTimeoutSeconds))"
    }
}
