import CLibPQ
import ServiceURL

/// The query of a PostgreSQL URL: `name=value` pairs checked against what the linked libpq knows.
///
/// Checked here rather than left to libpq because libpq reports a bad parameter when it connects,
/// and the fleet would take that connection failure for a passing outage and retry it forever.
/// Messages name the parameter but never repeat a value: `sslpassword` is a secret.
enum PostgresURLParameters {
    struct Invalid: Error {
        let reason: String
    }

    /// Parameters that would contradict the URL's own parts or what this client relies on.
    static let refused: [String: String] = [
        "host": "give the hosts before the path",
        "hostaddr": "give the hosts before the path",
        "port": "give the ports with the hosts",
        "user": "give the user before the @",
        "password": "give the password before the @",
        "dbname": "give the database as the path",
        "client_encoding": "the client always uses UTF8",
        "replication": "replication connections are not supported",
    ]

    /// Server settings this client sends as startup options; not libpq keywords.
    static let serverSettings: Set<String> = [
        "statement_timeout", "lock_timeout", "idle_in_transaction_session_timeout",
    ]

    /// Every connection keyword of the linked libpq (`PQconndefaults`), read once.
    static let libpqKeywords: Set<String> = {
        guard let options = PQconndefaults() else { return [] }
        defer { PQconninfoFree(options) }
        var keywords: Set<String> = []
        var option = options
        while let keyword = option.pointee.keyword {
            keywords.insert(String(cString: keyword))
            option += 1
        }
        return keywords
    }()

    /// Values libpq reads as integers: a typo would otherwise surface only when connecting.
    static let integerParameters: Set<String> = [
        "connect_timeout", "keepalives", "keepalives_idle", "keepalives_interval", "keepalives_count",
        "tcp_user_timeout",
    ]

    /// Parameters with a fixed set of values, from libpq's documentation.
    static let choices: [String: Set<String>] = [
        "sslmode": ["disable", "allow", "prefer", "require", "verify-ca", "verify-full"],
        "target_session_attrs": ["any", "read-write", "read-only", "primary", "standby", "prefer-standby"],
        "gssencmode": ["disable", "prefer", "require"],
        "channel_binding": ["disable", "prefer", "require"],
    ]

    /// The URL's query as pairs, in order. A name given twice is refused: which one would win?
    static func parse(_ url: ServiceURL) throws(Invalid) -> [(String, String)] {
        let items: [(name: String, value: String)]
        do throws(ServiceURLError) {
            items = try url.queryItems()
        } catch {
            throw Invalid(reason: error.reason)
        }
        var seen: Set<String> = []
        for item in items where !seen.insert(item.name).inserted {
            throw Invalid(reason: "parameter \(quoted(item.name)) is given twice")
        }
        return items.map { ($0.name, $0.value) }
    }

    /// Throws unless `name` is a libpq keyword this client passes on and `value` fits it.
    static func check(_ name: String, _ value: String) throws(Invalid) {
        if let why = refused[name] { throw Invalid(reason: "parameter \(quoted(name)) is not accepted: \(why)") }
        guard libpqKeywords.contains(name) else {
            throw Invalid(reason: "unknown parameter \(quoted(name))")
        }
        if integerParameters.contains(name) { _ = try integer(name, value) }
        if let allowed = choices[name], !allowed.contains(value) {
            throw Invalid(
                reason: "parameter \(quoted(name)) must be one of \(allowed.sorted().joined(separator: ", "))"
            )
        }
        guard !value.utf8.contains(0) else { throw Invalid(reason: "parameter \(quoted(name)) contains a NUL") }
    }

    static func integer(_ name: String, _ value: String) throws(Invalid) -> Int {
        guard !value.isEmpty, value.utf8.count <= 9, value.utf8.allSatisfy({ (0x30...0x39).contains($0) }),
            let number = Int(value)
        else {
            throw Invalid(reason: "parameter \(quoted(name)) must be a whole number")
        }
        return number
    }

    /// PostgreSQL's duration syntax for these settings: a whole number with `ms`, `s`, `min`, `h`
    /// or `d`, or without a unit for milliseconds.
    static func duration(_ name: String, _ value: String) throws(Invalid) -> Duration {
        let digits = value.prefix { $0.isASCII && $0.isNumber }
        let units: [Substring: Int64] = ["": 1, "ms": 1, "s": 1000, "min": 60_000, "h": 3_600_000, "d": 86_400_000]
        guard !digits.isEmpty, digits.count <= 9, let number = Int64(digits),
            let unit = units[value.dropFirst(digits.count)]
        else {
            throw Invalid(reason: "parameter \(quoted(name)) must be a duration such as 30s, 500ms or 2min")
        }
        return .milliseconds(number * unit)
    }

    /// A name as written, if it looks like one; a name is not a secret, but an odd one is left out.
    private static func quoted(_ name: String) -> String {
        let plain =
            name.utf8.count <= 64
            && name.utf8.allSatisfy { ($0 >= 0x61 && $0 <= 0x7A) || $0 == 0x5F || (0x30...0x39).contains($0) }
        return plain ? name : "(\(name.utf8.count) bytes, not a parameter name)"
    }
}
