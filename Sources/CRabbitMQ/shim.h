// The C API of librabbitmq (0.11, Debian's header layout), seen by Swift through this header only.
#pragma once
#include <amqp.h>
#include <amqp_tcp_socket.h>
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
