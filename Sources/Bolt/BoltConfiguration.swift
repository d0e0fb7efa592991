/// Where and how to connect to a Bolt server (Neo4j 5, or FalkorDB in tests).
///
/// `description` and ``redactedAddress`` never contain the password, so a configuration can be logged.
public struct BoltConfiguration: Sendable {
    public var host: String
    public var port: Int
    /// Basic auth when set; otherwise LOGON uses the scheme `none`.
    public var username: String?
    public var password: String?
    /// The database for every query and transaction (`db` in RUN and BEGIN); nil means the server's default.
    public var database: String?
    /// Seconds allowed to open the TCP connection.
    public var connectTimeoutSeconds: Double = 5
    /// Seconds allowed for each request's reply. A timed-out connection is closed and replaced.
    public var requestTimeoutSeconds: Double = 30
    /// Sent in HELLO as `user_agent`.
    public var userAgent = "workerfleet/1.0"

    public init(host: String, port: Int = 7687, username: String? = nil, password: String? = nil) {
        self.host = host
        self.port = port
        self.username = username
        self.password = password
    }

    /// Parses `bolt://[user:password@]host[:port]`. The port defaults to 7687; user and password
    /// may be percent-encoded. IPv6 hosts go in brackets: `bolt://[::1]:7687`.
    ///
    /// - Throws: ``BoltError`` with code ``BoltError/Code/configuration``; its message never
    ///   repeats the URL, which may hold a password.
    public init(url: String) throws {
        func invalid(_ reason: String) -> BoltError {
            BoltError(code: .configuration, message: "invalid Bolt URL: \(reason)", address: "")
        }
        guard let schemeEnd = url.firstRange(of: "://"), url[..<schemeEnd.lowerBound].lowercased() == "bolt" else {
            throw invalid("expected the scheme bolt:// (routing with neo4j:// is not supported)")
        }
        var rest = url[schemeEnd.upperBound...]
        if rest.contains("?") || rest.contains("#") { throw invalid("query strings and fragments are not supported") }
        if rest.hasSuffix("/") { rest = rest.dropLast() }
        if rest.contains("/") { throw invalid("paths are not supported") }

        // The password may itself contain "@" when not percent-encoded: the host starts after the last one.
        var username: String?
        var password: String?
        if let at = rest.lastIndex(of: "@") {
            let userInfo = rest[..<at]
            rest = rest[rest.index(after: at)...]
            guard let colon = userInfo.firstIndex(of: ":") else {
                throw invalid("credentials must be 'user:password@'")
            }
            guard let user = Self.percentDecoded(userInfo[..<colon]),
                let secret = Self.percentDecoded(userInfo[userInfo.index(after: colon)...])
            else { throw invalid("bad percent-encoding in the credentials") }
            guard !user.isEmpty else { throw invalid("empty user name") }
            username = user
            password = secret
        }

        var host: Substring
        var portText: Substring?
        if rest.hasPrefix("[") {
            guard let close = rest.firstIndex(of: "]") else { throw invalid("unclosed '[' in the host") }
            host = rest[rest.index(after: rest.startIndex)..<close]
            let after = rest[rest.index(after: close)...]
            if !after.isEmpty {
                guard after.hasPrefix(":") else { throw invalid("unexpected text after the IPv6 host") }
                portText = after.dropFirst()
            }
        } else if let colon = rest.firstIndex(of: ":") {
            host = rest[..<colon]
            portText = rest[rest.index(after: colon)...]
        } else {
            host = rest
        }
        guard !host.isEmpty else { throw invalid("missing host") }
        var port = 7687
        if let portText {
            guard portText.allSatisfy(\.isASCII), let number = Int(portText), (1...65535).contains(number) else {
                throw invalid("the port must be an integer from 1 to 65535")
            }
            port = number
        }
        self.init(host: String(host), port: port, username: username, password: password)
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

    private static func percentDecoded(_ text: Substring) -> String? {
        var bytes: [UInt8] = []
        var iterator = Array(text.utf8).makeIterator()
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
        return PackStreamDecoder.validUTF8(bytes)
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

// Both descriptions are redacted: the synthesized ones would print the password.
extension BoltConfiguration: CustomStringConvertible, CustomDebugStringConvertible {
    public var description: String {
        "bolt://\(username.map { "\($0):***@" } ?? "")\(redactedAddress)"
    }

    public var debugDescription: String {
        "BoltConfiguration(\(description), database: \(database ?? "default"), "
            + "connectTimeoutSeconds: \(connectTimeoutSeconds), requestTimeoutSeconds: \(requestTimeoutSeconds))"
    }
}
