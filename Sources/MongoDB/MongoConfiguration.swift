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
    /// How long a call waits for the server's reply before it fails and the socket is closed, unless
    /// the URL has `socketTimeoutMS` (libmongoc's own default is 300 s). Longer than a job's deadline
    /// (30 s) plus ``maxTimeMilliseconds``'s answer, so that a slow server reports its own timeout
    /// first; what it bounds is a server that does not answer at all, which no cancel can stop.
    public var socketTimeoutMilliseconds: Int32 = 40_000
    /// How long a write waits for a majority of the replica set to acknowledge it (`wtimeout`),
    /// unless the URL has `wtimeoutMS`. A write that times out there may still apply: the job's retry
    /// finds its ledger record.
    public var writeConcernTimeoutMilliseconds: Int64 = 10_000
    /// The server-side time limit (`maxTimeMS`) of an operation run outside a job with a deadline;
    /// inside one, the job's remaining time is sent instead (``BlockingCallDeadline``). The URL's
    /// `maxTimeMS` sets it (the fleet's own option: it is taken out of the URL libmongoc sees).
    public var maxTimeMilliseconds: Int64 = 30_000

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
        let items: [(name: String, value: String)]
        do throws(ServiceURLError) {
            items = try parsed.queryItems()
        } catch {
            throw invalid(error.reason)
        }
        var url = url
        if let item = items.first(where: { $0.name == "maxTimeMS" }) {
            guard let milliseconds = Int64(item.value), milliseconds > 0, milliseconds <= Int64(Int32.max) else {
                throw invalid("maxTimeMS must be a positive number of milliseconds")
            }
            maxTimeMilliseconds = milliseconds
            url = Self.removingOption("maxTimeMS", from: url)
        }
        self.url = url
    }

    /// `url` without the query option `name` (libmongoc warns about options it does not know).
    private static func removingOption(_ name: String, from url: String) -> String {
        guard let question = url.lastIndex(of: "?") else { return url }
        let kept = url[url.index(after: question)...].split(separator: "&").filter {
            !$0.hasPrefix("\(name)=")
        }
        let base = url[..<question]
        return kept.isEmpty ? String(base) : base + "?" + kept.joined(separator: "&")
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
