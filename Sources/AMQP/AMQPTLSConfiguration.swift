import Foundation
import ServiceURL

/// How an `amqps://` connection sets up TLS (librabbitmq's OpenSSL socket): which CA certificates
/// the broker's certificate must chain to, the client certificate, and what is verified.
///
/// Read from RabbitMQ's URI query parameters (the names its Erlang client and CLI tools use):
/// `cacertfile`, `certfile`, `keyfile`, `verify` and `server_name_indication`. File paths only:
/// nothing here is a secret, and a key's content never passes through a URL.
public struct AMQPTLSConfiguration: Sendable, Hashable {
    /// A PEM file of the CA certificates the broker's certificate must chain to; nil trusts the
    /// system's CA certificates (OpenSSL's default paths).
    public var caCertificateFile: String?
    /// A PEM file with the client certificate (and any intermediates) presented to the broker; nil
    /// presents none. Always set together with ``keyFile``.
    public var certificateFile: String?
    /// The client certificate's private key, PEM, not encrypted.
    public var keyFile: String?
    /// Whether the broker's certificate is verified: its chain against the CA certificates and the
    /// host name it names. On by default; off (`verify=verify_none`) accepts any certificate,
    /// which an active attacker on the path can present: for tests against throw-away brokers only.
    public var verifyPeer: Bool = true
    /// The name the broker's certificate must carry when it differs from the host connected to (a
    /// broker reached by IP address, say); nil checks the host of the URL. librabbitmq still sends
    /// the URL's host as the TLS server name indication.
    public var serverName: String?

    /// TLS with the system's CA certificates, no client certificate, full verification.
    public init(
        caCertificateFile: String? = nil,
        certificateFile: String? = nil,
        keyFile: String? = nil,
        verifyPeer: Bool = true,
        serverName: String? = nil
    ) {
        self.caCertificateFile = caCertificateFile
        self.certificateFile = certificateFile
        self.keyFile = keyFile
        self.verifyPeer = verifyPeer
        self.serverName = serverName
    }

    /// The query parameter names an AMQP URL accepts, in the order ``queryItems`` writes them.
    public static let parameterNames = ["cacertfile", "certfile", "keyfile", "verify", "server_name_indication"]

    /// Reads the TLS parameters of a URL's query. `tls` says whether the scheme was `amqps`: the
    /// parameters are refused on a plain `amqp://` URL, where they would silently do nothing.
    ///
    /// - Returns: nil for `amqp://`, the configuration for `amqps://`.
    /// - Throws: a reason (no URL, no value: a path is not a secret, but a typo'd name may be) for an
    ///   unknown or repeated parameter, an empty value, a `verify` other than `verify_peer` or
    ///   `verify_none`, or a `certfile` without a `keyfile` (or the other way round).
    static func parse(_ items: [(name: String, value: String)], tls: Bool) throws(Invalid) -> AMQPTLSConfiguration? {
        var seen: Set<String> = []
        var configuration = AMQPTLSConfiguration()
        for (name, value) in items {
            guard parameterNames.contains(name) else {
                throw Invalid(
                    "unknown query parameter \(quoted(name)); accepted: \(parameterNames.joined(separator: ", "))"
                )
            }
            guard seen.insert(name).inserted else { throw Invalid("query parameter \(name) is given twice") }
            guard tls else { throw Invalid("query parameter \(name) needs an amqps:// URL") }
            guard !value.isEmpty, !value.utf8.contains(0) else {
                throw Invalid("query parameter \(name) needs a value")
            }
            switch name {
            case "cacertfile": configuration.caCertificateFile = value
            case "certfile": configuration.certificateFile = value
            case "keyfile": configuration.keyFile = value
            case "server_name_indication": configuration.serverName = value
            default:
                switch value {
                case "verify_peer": configuration.verifyPeer = true
                case "verify_none": configuration.verifyPeer = false
                default: throw Invalid("query parameter verify must be verify_peer or verify_none")
                }
            }
        }
        guard tls else { return nil }
        if (configuration.certificateFile == nil) != (configuration.keyFile == nil) {
            throw Invalid("certfile and keyfile go together: give both or neither")
        }
        return configuration
    }

    /// The parameters as `name=value` pairs, percent-encoded, that ``parse(_:tls:)`` reads back;
    /// defaults are left out.
    var queryItems: [String] {
        func encode(_ text: String) -> String {
            text.addingPercentEncoding(withAllowedCharacters: .alphanumerics.union(.init(charactersIn: "-._~/")))
                ?? text
        }
        var items: [String] = []
        if let caCertificateFile { items.append("cacertfile=\(encode(caCertificateFile))") }
        if let certificateFile { items.append("certfile=\(encode(certificateFile))") }
        if let keyFile { items.append("keyfile=\(encode(keyFile))") }
        if !verifyPeer { items.append("verify=verify_none") }
        if let serverName { items.append("server_name_indication=\(encode(serverName))") }
        return items
    }

    /// Why a URL's TLS parameters are refused.
    struct Invalid: Error {
        let reason: String
        init(_ reason: String) { self.reason = reason }
    }

    /// A parameter name as written when it looks like one; anything else only by its length.
    private static func quoted(_ name: String) -> String {
        let plain =
            name.utf8.count <= 64
            && name.utf8.allSatisfy {
                (0x61...0x7A).contains($0) || (0x41...0x5A).contains($0) || (0x30...0x39).contains($0)
                    || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: "-")
            }
        return plain ? "\"\(name)\"" : "(\(name.utf8.count) bytes)"
    }
}
