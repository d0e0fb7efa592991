import Foundation

/// Where and as whom to connect.
public struct PostgresConfiguration: Sendable {
    /// A host name, an IP address (IPv6 without brackets), or a Unix socket directory.
    public var host: String
    public var port: Int
    public var user: String
    public var password: String?
    public var database: String
    /// How long a connection attempt may block, in libpq's terms: 0 waits forever, 1 counts as 2.
    public var connectTimeoutSeconds: Int = 5

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
    ///
    /// - Throws: ``PostgresError`` with code `.configuration`, whose message never contains the password.
    public init(url: String) throws {
        func invalid(_ reason: String) -> PostgresError {
            PostgresError(code: .configuration, message: "invalid PostgreSQL URL: \(reason)", address: "")
        }

        let rest: Substring
        if url.hasPrefix("postgresql://") {
            rest = url.dropFirst("postgresql://".count)
        } else if url.hasPrefix("postgres://") {
            rest = url.dropFirst("postgres://".count)
        } else {
            throw invalid("expected it to start with postgresql:// or postgres://")
        }
        // The last "@" ends the user info: a password may contain an unencoded "@", a host may not.
        guard let at = rest.lastIndex(of: "@") else {
            throw invalid("missing user, expected postgresql://user:password@host:port/database")
        }
        let userInfo = rest[..<at]
        let afterUserInfo = rest[rest.index(after: at)...]
        // Checked after the user info only, so that a password may contain "?" or "#".
        if afterUserInfo.contains("?") || afterUserInfo.contains("#") {
            throw invalid("query parameters and fragments are not supported")
        }
        guard let slash = afterUserInfo.firstIndex(of: "/") else {
            throw invalid(
                "missing database name after the host, expected postgresql://user:password@host:port/database"
            )
        }
        let hostAndPort = afterUserInfo[..<slash]
        let encodedDatabase = afterUserInfo[afterUserInfo.index(after: slash)...]

        let encodedUser: Substring
        let encodedPassword: Substring?
        if let colon = userInfo.firstIndex(of: ":") {
            encodedUser = userInfo[..<colon]
            encodedPassword = userInfo[userInfo.index(after: colon)...]
        } else {
            encodedUser = userInfo
            encodedPassword = nil
        }

        guard let user = Self.percentDecode(encodedUser), !user.isEmpty else {
            throw invalid("missing or badly percent-encoded user name")
        }
        // The reason must not quote the password, so it says nothing about its content.
        var password: String?
        if let encodedPassword {
            guard let decoded = Self.percentDecode(encodedPassword) else {
                throw invalid("badly percent-encoded password")
            }
            password = decoded
        }
        guard let database = Self.percentDecode(encodedDatabase), !database.isEmpty, !database.contains("/") else {
            throw invalid("missing, badly percent-encoded or malformed database name")
        }

        let host: Substring
        let portText: Substring?
        if hostAndPort.hasPrefix("[") {
            guard let close = hostAndPort.firstIndex(of: "]") else {
                throw invalid("unterminated [ in IPv6 host")
            }
            host = hostAndPort[hostAndPort.index(after: hostAndPort.startIndex)..<close]
            let afterHost = hostAndPort[hostAndPort.index(after: close)...]
            if afterHost.isEmpty {
                portText = nil
            } else if afterHost.hasPrefix(":") {
                portText = afterHost.dropFirst()
            } else {
                throw invalid("unexpected text after IPv6 host")
            }
        } else if let colon = hostAndPort.firstIndex(of: ":") {
            host = hostAndPort[..<colon]
            portText = hostAndPort[hostAndPort.index(after: colon)...]
        } else {
            host = hostAndPort
            portText = nil
        }
        guard !host.isEmpty else { throw invalid("missing host") }

        var port = 5432
        if let portText {
            guard portText.allSatisfy(\.isASCII), let value = Int(portText), (1...65535).contains(value) else {
                throw invalid("port \"\(portText)\" is not a number from 1 to 65535")
            }
            port = value
        }

        self.init(host: String(host), port: port, user: user, password: password, database: database)
    }

    /// `host:port/database`, for logs and error messages: never the user's password.
    public var redactedAddress: String {
        let shownHost = host.contains(":") ? "[\(host)]" : host
        return "\(shownHost):\(port)/\(database)"
    }

    /// Decodes %XX escapes as UTF-8; nil for a malformed escape or invalid UTF-8.
    private static func percentDecode(_ text: Substring) -> String? {
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
        return String(bytes: bytes, encoding: .utf8)
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return byte - UInt8(ascii: "A") + 10
        default: return nil
        }
    }
}
