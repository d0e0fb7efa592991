import CRabbitMQ

/// The socket under a connection: plain TCP, or librabbitmq's OpenSSL socket for `amqps://`.
/// Runs on the connection's own thread like the rest of `open`: every call here may block or read
/// files, and OpenSSL's error queue read after a failure is per thread.
extension AMQPConnection {
    /// A new socket owned by `state` (freed with it), set up from `configuration.tls`.
    static func newSocket(
        _ state: amqp_connection_state_t,
        _ configuration: AMQPConfiguration,
        address: String
    ) throws -> OpaquePointer {
        guard let tls = configuration.tls else {
            guard let socket = amqp_tcp_socket_new(state) else {
                throw AMQPError(code: .connection, message: "cannot create socket", address: address)
            }
            return socket
        }
        func failure(_ what: String) -> AMQPError {
            let reason = fleet_openssl_last_error_reason().map { ": \(String(cString: $0))" } ?? ""
            return AMQPError(code: .configuration, message: "TLS setup: \(what)\(reason)", address: address)
        }
        guard let socket = amqp_ssl_socket_new(state) else { throw failure("cannot create the TLS socket") }
        guard fleet_amqp_ssl_require_tls12(socket) == 0 else { throw failure("cannot require TLS 1.2") }
        if let file = tls.caCertificateFile {
            guard amqp_ssl_socket_set_cacert(socket, file) == AMQP_STATUS_OK.rawValue else {
                throw failure("cannot read CA certificates from cacertfile \(file)")
            }
        } else if fleet_amqp_ssl_trust_system_cas(socket) != 0 {
            throw failure("cannot load the system's CA certificates")
        }
        if let certificate = tls.certificateFile, let key = tls.keyFile {
            guard amqp_ssl_socket_set_key(socket, certificate, key) == AMQP_STATUS_OK.rawValue else {
                throw failure("cannot use client certificate \(certificate) with key \(key)")
            }
        }
        amqp_ssl_socket_set_verify_peer(socket, tls.verifyPeer ? 1 : 0)
        if let name = tls.serverName, tls.verifyPeer {
            // OpenSSL checks that name during the chain verification; librabbitmq's own check
            // would compare the certificate with the host connected to.
            guard fleet_amqp_ssl_expect_name(socket, name) == 0 else {
                throw failure("invalid server_name_indication")
            }
            amqp_ssl_socket_set_verify_hostname(socket, 0)
        } else {
            amqp_ssl_socket_set_verify_hostname(socket, tls.verifyPeer ? 1 : 0)
        }
        return socket
    }

    /// Why `amqp_socket_open_noblock` failed, in words: a TLS verification failure says so and
    /// which name or CA was expected; the password is never part of it.
    static func openFailure(_ status: Int32, tls: AMQPTLSConfiguration?, host: String) -> String {
        let trusted = tls?.caCertificateFile.map { "the CA certificates of \($0)" } ?? "the system's CA certificates"
        switch status {
        case AMQP_STATUS_SSL_PEER_VERIFY_FAILED.rawValue:
            let name = tls?.serverName.map { " and name \($0)" } ?? ""
            _ = fleet_openssl_last_error_reason()
            return "TLS certificate verification failed: the broker's certificate does not verify against "
                + "\(trusted)\(name) (signed by another CA, expired, or for another name)"
        case AMQP_STATUS_SSL_HOSTNAME_VERIFY_FAILED.rawValue:
            _ = fleet_openssl_last_error_reason()
            return "TLS host name verification failed: the broker's certificate is not for host name \(host)"
        case AMQP_STATUS_SSL_CONNECTION_FAILED.rawValue, AMQP_STATUS_SSL_ERROR.rawValue:
            let reason = fleet_openssl_last_error_reason().map { String(cString: $0) }
            return "TLS handshake failed: \(reason ?? String(cString: amqp_error_string2(status)))"
        default:
            return "cannot connect: \(String(cString: amqp_error_string2(status)))"
        }
    }
}
