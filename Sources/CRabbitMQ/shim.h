// The C API of librabbitmq (0.11, Debian's header layout), seen by Swift through this header only.
#pragma once
#include <amqp.h>
#include <amqp_tcp_socket.h>
#include <amqp_ssl_socket.h>
#include <amqp_framing.h>

// amqp_login is variadic (SASL arguments), which Swift cannot call.
static inline amqp_rpc_reply_t fleet_amqp_login_plain(amqp_connection_state_t state, const char *vhost,
                                                      int channel_max, int frame_max, int heartbeat,
                                                      const char *user, const char *password) {
    return amqp_login(state, vhost, channel_max, frame_max, heartbeat, AMQP_SASL_METHOD_PLAIN, user, password);
}

// Method ids are macros with casts, which Swift does not import.
static const amqp_method_number_t FLEET_AMQP_BASIC_DELIVER = AMQP_BASIC_DELIVER_METHOD;
static const amqp_method_number_t FLEET_AMQP_BASIC_ACK = AMQP_BASIC_ACK_METHOD;
static const amqp_method_number_t FLEET_AMQP_BASIC_NACK = AMQP_BASIC_NACK_METHOD;
static const amqp_method_number_t FLEET_AMQP_BASIC_RETURN = AMQP_BASIC_RETURN_METHOD;
static const amqp_method_number_t FLEET_AMQP_BASIC_CANCEL = AMQP_BASIC_CANCEL_METHOD;
static const amqp_method_number_t FLEET_AMQP_BASIC_GET_OK = AMQP_BASIC_GET_OK_METHOD;
static const amqp_method_number_t FLEET_AMQP_CHANNEL_CLOSE = AMQP_CHANNEL_CLOSE_METHOD;
static const amqp_method_number_t FLEET_AMQP_CHANNEL_CLOSE_OK = AMQP_CHANNEL_CLOSE_OK_METHOD;
static const amqp_method_number_t FLEET_AMQP_CONNECTION_CLOSE = AMQP_CONNECTION_CLOSE_METHOD;

// The connection thread sleeps in poll() on the broker socket and this eventfd, which async
// callers write to when they queue a command. (Glibc's Swift overlay lacks sys/eventfd.h.)
#include <sys/eventfd.h>
static inline int fleet_wake_descriptor(void) { return eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC); }

// Login advertising the capabilities the client handles: connection.blocked/unblocked,
// basic.cancel from the broker (queue deleted), confirms with basic.nack, and a close that says why
// authentication failed. librabbitmq merges this table into its default client properties.
static inline amqp_rpc_reply_t fleet_amqp_login_with_capabilities(amqp_connection_state_t state, const char *vhost,
                                                                  int channel_max, int frame_max, int heartbeat,
                                                                  const char *user, const char *password) {
    static const char *names[] = {"connection.blocked", "consumer_cancel_notify", "publisher_confirms",
                                  "basic.nack", "authentication_failure_close"};
    amqp_table_entry_t capabilities[5];
    for (int i = 0; i < 5; i++) {
        capabilities[i].key = amqp_cstring_bytes(names[i]);
        capabilities[i].value.kind = AMQP_FIELD_KIND_BOOLEAN;
        capabilities[i].value.value.boolean = 1;
    }
    amqp_table_entry_t properties[1];
    properties[0].key = amqp_cstring_bytes("capabilities");
    properties[0].value.kind = AMQP_FIELD_KIND_TABLE;
    properties[0].value.value.table.num_entries = 5;
    properties[0].value.value.table.entries = capabilities;
    amqp_table_t table = {.num_entries = 1, .entries = properties};
    return amqp_login_with_properties(state, vhost, channel_max, frame_max, heartbeat, &table, AMQP_SASL_METHOD_PLAIN,
                                      user, password);
}

static const amqp_method_number_t FLEET_AMQP_CONNECTION_BLOCKED = AMQP_CONNECTION_BLOCKED_METHOD;
static const amqp_method_number_t FLEET_AMQP_CONNECTION_UNBLOCKED = AMQP_CONNECTION_UNBLOCKED_METHOD;

// TLS (amqps://): settings librabbitmq 0.11 has no call for, made on the OpenSSL context of its SSL
// socket (amqp_ssl_socket_get_context). librabbitmq initialises OpenSSL once, under its own mutex,
// and never tears it down (OpenSSL 3 needs no locking callbacks), so libpq and these calls share it
// safely. Debian's librabbitmq-dev depends on libssl-dev, which brings these headers.
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

// TLS 1.2 at least; librabbitmq's own amqp_ssl_socket_set_ssl_versions predates TLS 1.3.
static inline int fleet_amqp_ssl_require_tls12(amqp_socket_t *socket) {
    SSL_CTX *context = (SSL_CTX *)amqp_ssl_socket_get_context(socket);
    return SSL_CTX_set_min_proto_version(context, TLS1_2_VERSION) == 1 ? 0 : -1;
}

// Trusts the system's CA certificates (no cacertfile): librabbitmq's context trusts none by default.
static inline int fleet_amqp_ssl_trust_system_cas(amqp_socket_t *socket) {
    SSL_CTX *context = (SSL_CTX *)amqp_ssl_socket_get_context(socket);
    return SSL_CTX_set_default_verify_paths(context) == 1 ? 0 : -1;
}

// Makes the certificate check expect NAME rather than the host connected to (server_name_indication):
// the chain verification then fails on another name, which librabbitmq reports as a failed peer
// verification (AMQP_STATUS_SSL_PEER_VERIFY_FAILED).
static inline int fleet_amqp_ssl_expect_name(amqp_socket_t *socket, const char *name) {
    SSL_CTX *context = (SSL_CTX *)amqp_ssl_socket_get_context(socket);
    X509_VERIFY_PARAM *parameters = SSL_CTX_get0_param(context);
    X509_VERIFY_PARAM_set_hostflags(parameters, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
    return X509_VERIFY_PARAM_set1_host(parameters, name, 0) == 1 ? 0 : -1;
}

// OpenSSL's reason for the last failure on this thread (a handshake the broker refused, a key that
// does not match its certificate), or NULL; clears the thread's error queue. The string is static.
static inline const char *fleet_openssl_last_error_reason(void) {
    unsigned long code = ERR_peek_last_error();
    const char *reason = code != 0 ? ERR_reason_error_string(code) : NULL;
    ERR_clear_error();
    return reason;
}
