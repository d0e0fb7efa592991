// Connecting to RabbitMQ with librabbitmq and turning its failures into one-line messages.
#define _POSIX_C_SOURCE 200809L

#include <stdio.h>
#include <time.h>
#include <stdlib.h>
#include <string.h>

#include <amqp.h>
#include <amqp_framing.h>
#include <amqp_tcp_socket.h>

#include "bench.h"

enum { CHANNEL = 1, FRAME_MAX = 131072, NO_HEARTBEAT = 0 };

static void print_bytes_error(const char *what, const char *by, uint16_t code, amqp_bytes_t text)
{
    fprintf(stderr, "amqp: %s: %s closed by broker: %u %.*s\n", what, by, (unsigned)code,
            (int)text.len, (const char *)text.bytes);
}

bool amqp_report_close(struct amqp_session *session, const amqp_method_t *method, const char *what)
{
    if (method->id == AMQP_CONNECTION_CLOSE_METHOD) {
        const amqp_connection_close_t *close = method->decoded;
        print_bytes_error(what, "connection", close->reply_code, close->reply_text);
        session->needs_close = false;
        return true;
    }
    if (method->id == AMQP_CHANNEL_CLOSE_METHOD) {
        const amqp_channel_close_t *close = method->decoded;
        print_bytes_error(what, "channel", close->reply_code, close->reply_text);
        // The connection is still fine; closing it below also settles the dead channel.
        return true;
    }
    return false;
}

int amqp_check_reply(struct amqp_session *session, amqp_rpc_reply_t reply, const char *what)
{
    switch (reply.reply_type) {
    case AMQP_RESPONSE_NORMAL:
        return 0;
    case AMQP_RESPONSE_NONE:
        fprintf(stderr, "amqp: %s: no reply from the broker\n", what);
        return -1;
    case AMQP_RESPONSE_LIBRARY_EXCEPTION:
        fprintf(stderr, "amqp: %s: %s\n", what, amqp_error_string2(reply.library_error));
        return -1;
    case AMQP_RESPONSE_SERVER_EXCEPTION:
        if (!amqp_report_close(session, &reply.reply, what))
            fprintf(stderr, "amqp: %s: unexpected method 0x%08x from the broker\n", what,
                    (unsigned)reply.reply.id);
        return -1;
    }
    return -1;
}

static int parse_url(char *url, struct amqp_connection_info *info)
{
    amqp_default_connection_info(info);
    if (amqp_parse_url(url, info) != AMQP_STATUS_OK)
        return -1;
    // librabbitmq reads "amqp://host/" as vhost ""; the fleet's URLs mean "/" by it.
    if (info->vhost[0] == '\0')
        info->vhost = "/";
    return info->ssl ? -1 : 0;
}

static int connect_socket(struct amqp_session *session, const struct amqp_connection_info *info)
{
    amqp_socket_t *socket = amqp_tcp_socket_new(session->conn);
    if (socket == NULL) {
        fprintf(stderr, "amqp: cannot create a TCP socket\n");
        return -1;
    }
    int status = amqp_socket_open(socket, info->host, info->port);
    if (status != AMQP_STATUS_OK) {
        fprintf(stderr, "amqp: connect %s:%d: %s\n", info->host, info->port, amqp_error_string2(status));
        return -1;
    }
    return 0;
}

int amqp_session_open(struct amqp_session *session, const char *url)
{
    session->conn = NULL;
    session->needs_close = false;

    // amqp_parse_url cuts the string it is given into the fields it returns.
    char *url_copy = strdup(url);
    if (url_copy == NULL) {
        fprintf(stderr, "amqp: out of memory\n");
        return -1;
    }
    struct amqp_connection_info info;
    if (parse_url(url_copy, &info) != 0) {
        fprintf(stderr, "amqp: bad URL (want amqp://user:pass@host:port/vhost)\n");
        free(url_copy);
        return -1;
    }

    int result = -1;
    session->conn = amqp_new_connection();
    if (session->conn == NULL) {
        fprintf(stderr, "amqp: out of memory\n");
    } else if (connect_socket(session, &info) == 0) {
        char what[300];
        snprintf(what, sizeof what, "login to vhost %s as %s", info.vhost, info.user);
        amqp_rpc_reply_t reply = amqp_login(session->conn, info.vhost, 0, FRAME_MAX, NO_HEARTBEAT,
                                            AMQP_SASL_METHOD_PLAIN, info.user, info.password);
        if (amqp_check_reply(session, reply, what) == 0) {
            session->needs_close = true;
            amqp_channel_open(session->conn, CHANNEL);
            result = amqp_check_reply(session, amqp_get_rpc_reply(session->conn), "channel.open");
        }
    }
    free(url_copy);
    return result;
}

void amqp_session_close(struct amqp_session *session)
{
    if (session->conn == NULL)
        return;
    // A quorum queue drops acks still queued inside the broker when their channel closes and
    // redelivers those messages (rabbitmq-server issue 10327): the last ~5% of a fast run of acks
    // came back here. Lingering lets the broker apply them first. Failures here change nothing.
    if (session->needs_close) {
        struct timespec linger = {.tv_sec = 0, .tv_nsec = 250 * 1000 * 1000};
        nanosleep(&linger, NULL);
        (void)amqp_connection_close(session->conn, AMQP_REPLY_SUCCESS);
    }
    (void)amqp_destroy_connection(session->conn);
    session->conn = NULL;
}
