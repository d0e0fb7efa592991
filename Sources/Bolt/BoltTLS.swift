import NIOCore
import NIOPosix
import NIOSSL

/// Whether and how a Bolt connection uses TLS: the URL's scheme (`bolt`, `bolt+s`, `bolt+ssc`), as
/// Neo4j's official drivers spell it.
public enum BoltTLS: Sendable, Hashable {
    /// `bolt://`: plain TCP.
    case off
    /// `bolt+s://`: TLS with the server's certificate checked. Its chain must lead to a CA of the PEM
    /// file `caFile` (`tls_ca_file=PATH` in the URL), or of the system's trust store when nil; and it
    /// must name the host: a DNS name of the certificate for a host name (also sent as SNI), an IP
    /// address entry for an IP address.
    case verified(caFile: String?)
    /// `bolt+ssc://`: TLS that checks nothing about the certificate, so the traffic is encrypted but
    /// anyone between the worker and the server can pose as the server and read it. For test servers
    /// with a self-signed certificate only; never in production.
    case unverified

    /// The URL scheme that selects this mode.
    public var scheme: String {
        switch self {
        case .off: "bolt"
        case .verified: "bolt+s"
        case .unverified: "bolt+ssc"
        }
    }

    /// swift-nio-ssl's configuration for this mode; nil for ``off``.
    var tlsConfiguration: TLSConfiguration? {
        var configuration = TLSConfiguration.makeClientConfiguration()
        switch self {
        case .off:
            return nil
        case .verified(let caFile):
            configuration.certificateVerification = .fullVerification
            configuration.trustRoots = caFile.map { .file($0) } ?? .default
        case .unverified:
            configuration.certificateVerification = .none
        }
        return configuration
    }

    /// The TLS context of a new connection, or nil for ``off``.
    ///
    /// Built (the CA file or the system's trust store read) on NIO's blocking thread pool, not the
    /// caller's, for every new connection: a replaced CA file takes effect on the next connection.
    /// - Throws: ``BoltError`` of code ``BoltError/Code/configuration`` when the CA file cannot be loaded.
    func makeContext(address: String) async throws -> NIOSSLContext? {
        guard let configuration = tlsConfiguration else { return nil }
        do {
            return try await NIOThreadPool.singleton.runIfActive { try NIOSSLContext(configuration: configuration) }
        } catch {
            let source =
                if case .verified(let caFile?) = self { "tls_ca_file \(caFile)" } else { "the system trust store" }
            throw BoltError(
                code: .configuration,
                message: "cannot load the CA certificates of \(source): \(error)",
                address: address
            )
        }
    }

    /// The TLS handler to put in front of the Bolt handler, on the channel's event loop.
    ///
    /// SNI and the name checked are `host` when it is a name. For an IP address (SNI cannot carry
    /// one), swift-nio-ssl checks the certificate's IP address entries against the address it connected to.
    static func handler(_ context: NIOSSLContext, host: String) throws -> NIOSSLClientHandler {
        try NIOSSLClientHandler(context: context, serverHostname: isIPAddress(host) ? nil : host)
    }

    /// What the TLS layer's `error` means for the user, or nil when it is not a TLS error.
    /// A failed check says so in words: certificate chain, or host name.
    func explain(_ error: any Error, host: String) -> String? {
        let trusted: String
        if case .verified(let caFile?) = self {
            trusted = "the CA file \(caFile)"
        } else {
            trusted = "the system trust store"
        }
        if let error = error as? NIOSSLExtraError, error == .failedToValidateHostname {
            return "TLS host name verification failed: the server's certificate is not for \(host) (\(error))"
        }
        guard let error = error as? NIOSSLError else { return nil }
        switch error {
        case .handshakeFailed(let reason) where "\(reason)".contains("CERTIFICATE_VERIFY_FAILED"):
            return
                "TLS certificate verification failed: the server's certificate chain does not lead to a CA of \(trusted)"
        case .handshakeFailed(let reason):
            return "TLS handshake failed (is this a TLS port?): \(reason)"
        default:
            return "TLS error: \(error)"
        }
    }

    /// Whether `host` is an IPv4 or IPv6 address rather than a name.
    static func isIPAddress(_ host: String) -> Bool {
        (try? SocketAddress(ipAddress: host, port: 0)) != nil
    }
}
