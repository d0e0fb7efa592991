/// Where to connect, from a `mongodb://` URL.
public struct MongoConfiguration: Sendable {
    /// `host:port` of each seed, as written in the URL (IPv6 hosts in brackets).
    public let hosts: [String]
    /// The database that ``MongoConnection/collection(_:)`` uses.
    public var database: String
    /// The URL handed to libmongoc; holds the password, so it is never shown.
    let url: String
    /// Set unless the URL has `connectTimeoutMS`.
    public var connectTimeoutMilliseconds: Int32 = 3000
    /// How long an operation waits for a suitable server, unless the URL has `serverSelectionTimeoutMS`.
    public var serverSelectionTimeoutMilliseconds: Int32 = 5000

    /// Parses `mongodb://[user:password@]host[:port][,host[:port]...]/database[?options]`.
    ///
    /// The database is required. Options (`replicaSet=`, `authSource=`, `tls=true`, ...) are passed to
    /// libmongoc, which checks them when the first connection opens. `mongodb+srv://` is refused
    /// (it needs DNS SRV lookups this client does not configure).
    /// - Throws: ``MongoError`` of kind `.configuration`, whose message never contains the password.
    public init(url: String) throws {
        func invalid(_ reason: String) -> MongoError {
            MongoError(kind: .configuration, message: "invalid MongoDB URL: \(reason)", address: "")
        }
        let scheme = "mongodb://"
        guard url.hasPrefix(scheme) else {
            throw invalid(
                url.hasPrefix("mongodb+srv://")
                    ? "mongodb+srv:// is not supported; list the hosts" : "expected it to start with mongodb://"
            )
        }
        var rest = url.dropFirst(scheme.count)
        // User info ends at the last "@" before the path (the spec wants "@", "/", ":" in it
        // percent-encoded, so the first "/" ends the hosts).
        guard let slash = rest.firstIndex(of: "/") else {
            throw invalid("missing database name, expected mongodb://host:port/database")
        }
        if let at = rest[..<slash].lastIndex(of: "@") {
            rest = rest[rest.index(after: at)...]
        }
        let hostList = rest[..<slash]
        let pathAndOptions = rest[rest.index(after: slash)...]
        let database = pathAndOptions.prefix { $0 != "?" }
        guard !database.isEmpty else { throw invalid("missing database name, expected mongodb://host:port/database") }
        guard database.allSatisfy({ !" /\\.\"$".contains($0) }) else {
            throw invalid("database name \(String(reflecting: String(database))) contains a character MongoDB refuses")
        }
        var hosts: [String] = []
        for host in hostList.split(separator: ",", omittingEmptySubsequences: false) {
            guard !host.isEmpty else { throw invalid("empty host") }
            var port: Substring?
            if host.hasPrefix("[") {
                guard let close = host.firstIndex(of: "]") else { throw invalid("unterminated [ in IPv6 host") }
                let after = host[host.index(after: close)...]
                if !after.isEmpty {
                    guard after.hasPrefix(":") else { throw invalid("unexpected text after IPv6 host") }
                    port = after.dropFirst()
                }
            } else if let colon = host.firstIndex(of: ":") {
                port = host[host.index(after: colon)...]
                guard host.index(after: colon) < host.endIndex, !host[..<colon].isEmpty else {
                    throw invalid("missing host or port in \(String(reflecting: String(host)))")
                }
            }
            if let port {
                guard port.allSatisfy(\.isASCII), let number = Int(port), (1...65535).contains(number) else {
                    throw invalid("port \(String(reflecting: String(port))) is not a number from 1 to 65535")
                }
            }
            hosts.append(port == nil ? "\(host):27017" : String(host))
        }
        self.hosts = hosts
        self.database = String(database)
        self.url = url
    }

    /// `host:port[,host:port...]/database`, for logs and error messages: never credentials or options.
    public var redactedAddress: String {
        hosts.joined(separator: ",") + "/" + database
    }
}

// The URL holds the password: printing or dumping a configuration shows the redacted address only.
extension MongoConfiguration: CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    public var description: String { "MongoConfiguration(\(redactedAddress))" }
    public var debugDescription: String { description }
    public var customMirror: Mirror {
        Mirror(self, children: ["hosts": hosts, "database": database], displayStyle: .struct)
    }
}
