/// A service URL, `scheme://[user[:password]@]host[:port][/path][?query][#fragment]`, split into its parts.
///
/// The one parser behind the `init(url:)` of every client configuration. It knows no service: the
/// caller gives the schemes it accepts with their default ports, and checks what the parts mean
/// (a database name, a vhost, a database index) itself.
///
/// The rules:
/// - The scheme is matched without regard to case and is stored lowercased.
/// - The user information ends at the last `@` before the first `/`, so a password may hold `@`, `:`,
///   `?` or `#` without percent-encoding; a `/` in a user name or password must be written `%2F`.
///   User and password are percent-decoded; the password is whatever follows the first `:`.
/// - An IPv6 host goes in brackets, `[::1]:5432`, and is stored without them. Hosts are percent-decoded,
///   so a zone written `[fe80::1%25eth0]` becomes `fe80::1%eth0`.
/// - A port is 1 to 65535 in ASCII digits; without one, the scheme's default port applies.
/// - The path is what follows the first `/` after the host, up to `?` or `#`, percent-decoded and
///   kept as written too. The query and the fragment are kept as written: their meaning is the caller's.
///
/// Errors are ``ServiceURLError``s that say which part is wrong and never quote the URL,
/// which may hold a password. ``description`` and dumps of a value leave the password out.
public struct ServiceURL: Sendable, Hashable {
    /// One `host:port` of the URL.
    public struct Endpoint: Sendable, Hashable, CustomStringConvertible {
        /// The host name or address, percent-decoded, without the brackets of an IPv6 address.
        public var host: String
        /// The port written in the URL, or the scheme's default port.
        public var port: Int

        /// An endpoint from a host (an IPv6 address without brackets) and a port.
        public init(host: String, port: Int) {
            self.host = host
            self.port = port
        }

        /// `host:port`, with an IPv6 address in brackets: `[::1]:5432`.
        public var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }
    }

    /// The scheme, lowercased, as the caller spelled it among the accepted ones (`postgresql`, not `POSTGRESQL`).
    public let scheme: String
    /// The percent-decoded user name; nil without user information, empty for `scheme://:password@host`.
    public let user: String?
    /// The percent-decoded password; nil when the user information has no `:`, empty for `user:@host`.
    public let password: String?
    /// The hosts with their ports, in URL order: one, or several for a host list when the caller allows one.
    public let endpoints: [Endpoint]
    /// The percent-decoded path after its leading `/`: nil when the URL has no path, empty for a lone `/`.
    public let path: String?
    /// ``path`` as written in the URL, still percent-encoded.
    public let encodedPath: String?
    /// The text after `?`, as written (not decoded); nil without a `?`.
    public let query: String?
    /// The text after `#`, as written; nil without a `#`.
    public let fragment: String?

    /// The first (usually the only) host.
    public var host: String { endpoints[0].host }
    /// The port of the first (usually the only) host.
    public var port: Int { endpoints[0].port }

    /// Parses `url`.
    ///
    /// - Parameters:
    ///   - url: The URL to parse.
    ///   - schemes: The schemes accepted, each with its default port, in the order an error lists them:
    ///     `["postgresql": 5432, "postgres": 5432]`. Write them lowercase.
    ///   - allowsHostList: Whether the host may be a comma-separated list, `host1:port1,host2`
    ///     (MongoDB seed lists); each entry without a port gets the scheme's default port.
    /// - Throws: ``ServiceURLError`` naming the part that is wrong; its reason never contains the URL.
    public init(
        _ url: String,
        schemes: KeyValuePairs<String, Int>,
        allowsHostList: Bool = false
    ) throws(ServiceURLError) {
        let expected = schemes.map { "\($0.key)://" }.joined(separator: " or ")
        guard let separator = url.firstRange(of: "://") else {
            throw ServiceURLError(.scheme, "expected a URL starting with \(expected)")
        }
        let writtenScheme = url[..<separator.lowerBound]
        guard let defaultPort = schemes.first(where: { $0.key == writtenScheme.lowercased() })?.value else {
            // A well-formed scheme is not a secret and helps; anything else is not repeated.
            let named = Self.isSchemeSyntax(writtenScheme) ? " \"\(writtenScheme)\"" : ""
            throw ServiceURLError(.scheme, "unsupported scheme\(named), expected \(expected)")
        }
        scheme = writtenScheme.lowercased()
        var rest = url[separator.upperBound...]

        // The user information: up to the last "@" before the first "/".
        let firstSlash = rest.utf8.firstIndex(of: UInt8(ascii: "/")) ?? rest.endIndex
        if let at = rest[..<firstSlash].utf8.lastIndex(of: UInt8(ascii: "@")) {
            let userInfo = rest[..<at]
            rest = rest[rest.index(after: at)...]
            let colon = userInfo.utf8.firstIndex(of: UInt8(ascii: ":"))
            guard let user = Self.percentDecoded(userInfo[..<(colon ?? userInfo.endIndex)]) else {
                throw ServiceURLError(.user, "bad percent-encoding in the user name")
            }
            self.user = user
            if let colon {
                // The reason says nothing about the password's content.
                guard let password = Self.percentDecoded(userInfo[userInfo.index(after: colon)...]) else {
                    throw ServiceURLError(.password, "bad percent-encoding in the password")
                }
                self.password = password
            } else {
                password = nil
            }
        } else {
            user = nil
            password = nil
        }

        // Fragment, then query, then path: each delimiter is searched for only where it can appear.
        if let hash = rest.utf8.firstIndex(of: UInt8(ascii: "#")) {
            fragment = String(rest[rest.index(after: hash)...])
            rest = rest[..<hash]
        } else {
            fragment = nil
        }
        if let question = rest.utf8.firstIndex(of: UInt8(ascii: "?")) {
            query = String(rest[rest.index(after: question)...])
            rest = rest[..<question]
        } else {
            query = nil
        }
        if let slash = rest.utf8.firstIndex(of: UInt8(ascii: "/")) {
            let written = rest[rest.index(after: slash)...]
            guard let decoded = Self.percentDecoded(written) else {
                throw ServiceURLError(.path, "bad percent-encoding in the path")
            }
            encodedPath = String(written)
            path = decoded
            rest = rest[..<slash]
        } else {
            encodedPath = nil
            path = nil
        }

        guard !rest.isEmpty else { throw ServiceURLError(.host, "missing host") }
        let entries = rest.split(separator: ",", omittingEmptySubsequences: false)
        if entries.count > 1 && !allowsHostList {
            throw ServiceURLError(.host, "a list of hosts is not supported, give one host")
        }
        var endpoints: [Endpoint] = []
        for entry in entries {
            endpoints.append(try Self.endpoint(entry, defaultPort: defaultPort, inList: entries.count > 1))
        }
        self.endpoints = endpoints
    }

    /// The query's `name=value` pairs, percent-decoded, in URL order; empty without a query.
    ///
    /// Pairs are separated by `&`; empty pairs (`a=1&&b=2`) are skipped. `+` stays `+`. The meaning
    /// of names, repeated names and values is the caller's.
    /// - Throws: ``ServiceURLError`` of component `.query` for a pair without a name or an `=`, or
    ///   badly percent-encoded; its reason never quotes a value, which may be a secret.
    public func queryItems() throws(ServiceURLError) -> [(name: String, value: String)] {
        guard let query else { return [] }
        var items: [(name: String, value: String)] = []
        for pair in query.split(separator: "&") {
            guard let equals = pair.utf8.firstIndex(of: UInt8(ascii: "=")) else {
                throw ServiceURLError(.query, "a query parameter has no =value")
            }
            guard let name = Self.percentDecoded(pair[..<equals]), !name.isEmpty else {
                throw ServiceURLError(.query, "a query parameter has no name, or a badly encoded one")
            }
            guard let value = Self.percentDecoded(pair[pair.index(after: equals)...]) else {
                throw ServiceURLError(.query, "bad percent-encoding in a query parameter's value")
            }
            items.append((name, value))
        }
        return items
    }

    /// One `host[:port]` or `[IPv6][:port]`.
    private static func endpoint(
        _ text: Substring,
        defaultPort: Int,
        inList: Bool
    ) throws(ServiceURLError) -> Endpoint {
        let encodedHost: Substring
        let portText: Substring?
        if text.hasPrefix("[") {
            guard let close = text.utf8.firstIndex(of: UInt8(ascii: "]")) else {
                throw ServiceURLError(.host, "unclosed [ in an IPv6 host")
            }
            encodedHost = text[text.index(after: text.startIndex)..<close]
            let after = text[text.index(after: close)...]
            if after.isEmpty {
                portText = nil
            } else if after.hasPrefix(":") {
                portText = after.dropFirst()
            } else {
                throw ServiceURLError(.host, "unexpected text after the IPv6 host's ]")
            }
            guard encodedHost.isEmpty || encodedHost.contains(":") else {
                throw ServiceURLError(.host, "brackets are for IPv6 addresses only")
            }
        } else if let colon = text.utf8.firstIndex(of: UInt8(ascii: ":")) {
            encodedHost = text[..<colon]
            portText = text[text.index(after: colon)...]
        } else {
            encodedHost = text
            portText = nil
        }
        guard !encodedHost.isEmpty else {
            throw ServiceURLError(.host, inList ? "empty host in the host list" : "missing host")
        }
        guard
            !encodedHost.utf8.contains(where: {
                $0 <= 0x20 || $0 == 0x7F || $0 == UInt8(ascii: "[") || $0 == UInt8(ascii: "]")
            })
        else {
            throw ServiceURLError(.host, "the host contains a space, a control character or a stray bracket")
        }
        guard let host = percentDecoded(encodedHost) else {
            throw ServiceURLError(.host, "bad percent-encoding in the host")
        }
        var port = defaultPort
        if let portText {
            guard !portText.isEmpty, portText.utf8.allSatisfy({ (0x30...0x39).contains($0) }),
                let number = Int(portText),
                (1...65535).contains(number)
            else {
                throw ServiceURLError(.port, "the port must be a number from 1 to 65535")
            }
            port = number
        }
        return Endpoint(host: host, port: port)
    }

    /// `ALPHA *( ALPHA / DIGIT / "+" / "-" / "." )`, RFC 3986 section 3.1, at most 32 characters.
    private static func isSchemeSyntax(_ text: Substring) -> Bool {
        guard let first = text.utf8.first, text.utf8.count <= 32, Self.isASCIILetter(first) else { return false }
        return text.utf8.allSatisfy {
            isASCIILetter($0) || (0x30...0x39).contains($0) || $0 == UInt8(ascii: "+") || $0 == UInt8(ascii: "-")
                || $0 == UInt8(ascii: ".")
        }
    }

    private static func isASCIILetter(_ byte: UInt8) -> Bool {
        (0x41...0x5A).contains(byte) || (0x61...0x7A).contains(byte)
    }

    /// Decodes `%XX` escapes as UTF-8. Nil for a `%` without two hex digits or for bytes that are not UTF-8.
    /// `+` stays `+`: it means a space only in HTML form data.
    static func percentDecoded(_ text: Substring) -> String? {
        guard text.utf8.contains(UInt8(ascii: "%")) else { return String(text) }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(text.utf8.count)
        var iterator = text.utf8.makeIterator()
        while let byte = iterator.next() {
            guard byte == UInt8(ascii: "%") else {
                bytes.append(byte)
                continue
            }
            guard let high = iterator.next().flatMap(hexValue), let low = iterator.next().flatMap(hexValue) else {
                return nil
            }
            bytes.append(high << 4 | low)
        }
        return String(validating: bytes, as: UTF8.self)
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}

// The synthesized descriptions and mirror would show the password.
extension ServiceURL: CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    /// The URL rebuilt with the password replaced by `***`, and the query and fragment left out
    /// (they may hold credentials too): `postgresql://fleet:***@db.internal:5432/jobs`.
    public var description: String {
        let credentials: String
        switch (user, password) {
        case (nil, _): credentials = ""
        case (let user?, nil): credentials = "\(user)@"
        case (let user?, _?): credentials = "\(user):***@"
        }
        let hosts = endpoints.map(\.description).joined(separator: ",")
        return "\(scheme)://\(credentials)\(hosts)\(encodedPath.map { "/\($0)" } ?? "")"
    }

    /// The same as ``description``.
    public var debugDescription: String { description }

    /// A mirror without the password, the query or the fragment.
    public var customMirror: Mirror {
        Mirror(
            self,
            children: ["scheme": scheme, "user": user as Any, "endpoints": endpoints, "path": path as Any],
            displayStyle: .struct
        )
    }
}
