/// Where a fleet process's HTTP listener binds: `HOST:PORT` from `--http-address` or
/// `FLEET_HTTP_ADDRESS`. Port 0 asks the system for a free port (the bound one is logged and written
/// to `FLEET_HTTP_ADDRESS_FILE`).
public struct HTTPListenAddress: Sendable, Equatable, CustomStringConvertible {
    public var host: String
    public var port: Int

    public init(host: String, port: Int) {
        self.host = host
        self.port = port
    }

    /// Parses `HOST:PORT`, `[IPv6]:PORT` or `:PORT` (all interfaces); nil when it is neither.
    public init?(_ text: String) {
        guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]),
            (0...65535).contains(port)
        else { return nil }
        var host = String(text[..<colon])
        if host.hasPrefix("[") && host.hasSuffix("]") {
            host = String(host.dropFirst().dropLast())
        } else if host.contains(":") {
            return nil  // an IPv6 address needs its brackets
        }
        self.host = host.isEmpty ? "0.0.0.0" : host
        self.port = port
    }

    public var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }
}
