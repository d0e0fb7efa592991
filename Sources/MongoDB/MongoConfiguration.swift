import ServiceURL

/// Where to connect, from a `mongodb://` URL.
public struct MongoConfiguration: Sendable {
    /// `host:port` of each seed, in URL order, with the default port 27017 filled in (IPv6 hosts in brackets).
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
        if url.lowercased().hasPrefix("mongodb+srv://") {
            throw invalid("mongodb+srv:// is not supported; list the hosts")
        }
        let parsed: ServiceURL
        do throws(ServiceURLError) {
            parsed = try ServiceURL(url, schemes: ["mongodb": 27017], allowsHostList: true)
        } catch {
            throw invalid(error.component == .path ? "bad percent-encoding in the database name" : error.reason)
        }
        // libmongoc, which parses the URL again, matches the scheme case-sensitively.
        guard url.hasPrefix("mongodb://") else { throw invalid("write the scheme in lowercase: mongodb://") }
        guard parsed.fragment == nil else { throw invalid("fragments are not supported") }
        // As written: libmongoc gets the URL itself, and the database name is checked as such.
        guard let database = parsed.encodedPath, !database.isEmpty else {
            throw invalid("missing database name, expected mongodb://host:port/database")
        }
        guard database.allSatisfy({ !" /\\.\"$".contains($0) }) else {
            throw invalid("database name \(String(reflecting: database)) contains a character MongoDB refuses")
        }
        self.hosts = parsed.endpoints.map(\.description)
        self.database = database
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
