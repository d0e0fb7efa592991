/// Where and how to connect to a Redis server.
///
/// `description` and ``redactedAddress`` never contain the password, so a configuration can be logged.
public struct RedisConfiguration: Sendable {
    public var host: String
    public var port: Int
    public var database: Int
    public var password: String?
    /// Seconds allowed for connecting and for each command's reply (hiredis `redisSetTimeout`).
    /// A timed-out connection is broken and gets replaced.
    public var timeoutSeconds: Double = 5

    public init(host: String, port: Int = 6379, database: Int = 0, password: String? = nil) {
        self.host = host
        self.port = port
        self.database = database
        self.password = password
    }

    /// Parses `redis://[:password@]host[:port][/db]`. The port defaults to 6379, the database to 0;
    /// the password may be percent-encoded. IPv6 hosts go in brackets: `redis://[::1]:6379`.
    ///
    /// - Throws: ``RedisError`` with code ``RedisError/Code/configuration``; its message never
    ///   repeats the URL, which may hold a password.
    public init(url: String) throws {
        func invalid(_ reason: String) -> RedisError {
            RedisError(code: .configuration, message: "invalid Redis URL: \(reason)", address: "")
        }
        let schemeEnd = url.firstRange(of: "://")
        guard let schemeEnd, url[..<schemeEnd.lowerBound].lowercased() == "redis" else {
            throw invalid("expected the scheme redis://")
        }
        var rest = url[schemeEnd.upperBound...]
        if rest.contains("?") || rest.contains("#") {
            throw invalid("query strings and fragments are not supported")
        }

        // The password may itself contain "@" when not percent-encoded: the host starts after the last one.
        var password: String?
        if let at = rest.lastIndex(of: "@") {
            let userInfo = rest[..<at]
            rest = rest[rest.index(after: at)...]
            guard let colon = userInfo.firstIndex(of: ":") else {
                throw invalid("credentials must be written ':password@'")
            }
            guard userInfo[..<colon].isEmpty else { throw invalid("user names are not supported") }
            guard let decoded = Self.percentDecoded(userInfo[userInfo.index(after: colon)...]) else {
                throw invalid("bad percent-encoding in the password")
            }
            password = decoded.isEmpty ? nil : decoded
        }

        var database = 0
        if let slash = rest.firstIndex(of: "/") {
            let path = rest[rest.index(after: slash)...]
            rest = rest[..<slash]
            if !path.isEmpty {
                guard path.allSatisfy(\.isASCII), let number = Int(path), number >= 0 else {
                    throw invalid("the database must be a non-negative integer")
                }
                database = number
            }
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
        var port = 6379
        if let portText {
            guard portText.allSatisfy(\.isASCII), let number = Int(portText), (1...65535).contains(number) else {
                throw invalid("the port must be an integer from 1 to 65535")
            }
            port = number
        }
        self.init(host: String(host), port: port, database: database, password: password)
    }

    /// `host:port/db`, for logs and error messages.
    public var redactedAddress: String {
        let hostPart = host.contains(":") ? "[\(host)]" : host
        return "\(hostPart):\(port)/\(database)"
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
        // Validate by hand: String(validating:as:) needs macOS 15.
        var decoder = UTF8()
        var input = bytes.makeIterator()
        var result = ""
        while true {
            switch decoder.decode(&input) {
            case .scalarValue(let scalar): result.unicodeScalars.append(scalar)
            case .emptyInput: return result
            case .error: return nil
            }
        }
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
extension RedisConfiguration: CustomStringConvertible, CustomDebugStringConvertible {
    public var description: String {
        "redis://\(password == nil ? "" : ":***@")\(redactedAddress)"
    }

    public var debugDescription: String {
        "RedisConfiguration(\(description), timeoutSeconds: \(timeoutSeconds))"
    }
}
