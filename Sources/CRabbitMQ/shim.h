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
