// consume and write modes: one delivery at a time, each acked on its own once its job is done.
#define _POSIX_C_SOURCE 200809L

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <amqp.h>
#include <amqp_framing.h>

#include "bench.h"

enum { CHANNEL = 1 };

static int start_consuming(struct amqp_session *session, const struct bench_options *options)
{
    amqp_basic_qos(session->conn, CHANNEL, 0, options->prefetch, 0);
    if (amqp_check_reply(session, amqp_get_rpc_reply(session->conn), "basic.qos") != 0)
        return -1;

    char what[300];
    snprintf(what, sizeof what, "basic.consume on queue %s", options->queue);
    amqp_basic_consume(session->conn, CHANNEL, amqp_cstring_bytes(options->queue), amqp_empty_bytes,
                       0, 0 /* manual ack */, 0, amqp_empty_table);
    return amqp_check_reply(session, amqp_get_rpc_reply(session->conn), what);
}

// amqp_consume_message stops at any frame that is not a delivery; read it and decide whether
// consuming can go on (0) or the broker has ended it (-1).
static int handle_other_frame(struct amqp_session *session)
{
    amqp_frame_t frame;
    int status = amqp_simple_wait_frame(session->conn, &frame);
    if (status != AMQP_STATUS_OK) {
        fprintf(stderr, "amqp: reading a frame: %s\n", amqp_error_string2(status));
        return -1;
    }
    if (frame.frame_type != AMQP_FRAME_METHOD)
        return 0;
    if (amqp_report_close(session, &frame.payload.method, "consuming"))
        return -1;
    if (frame.payload.method.id == AMQP_BASIC_CANCEL_METHOD) {
        fprintf(stderr, "amqp: consuming: the broker cancelled the consumer (queue deleted?)\n");
        return -1;
    }
    return 0;
}

// Waits for the next delivery; 0 with `envelope` filled in, or -1 after printing why not.
static int next_delivery(struct amqp_session *session, amqp_envelope_t *envelope)
{
    for (;;) {
        amqp_maybe_release_buffers(session->conn);
        amqp_rpc_reply_t reply = amqp_consume_message(session->conn, envelope, NULL, 0);
        if (reply.reply_type == AMQP_RESPONSE_NORMAL)
            return 0;
        bool other_frame = reply.reply_type == AMQP_RESPONSE_LIBRARY_EXCEPTION
                           && reply.library_error == AMQP_STATUS_UNEXPECTED_STATE;
        if (!other_frame) {
            amqp_check_reply(session, reply, "consuming"); // not normal, so this prints why
            return -1;
        }
        if (handle_other_frame(session) != 0)
            return -1;
    }
}

static int ack(struct amqp_session *session, const amqp_envelope_t *envelope)
{
    int status = amqp_basic_ack(session->conn, CHANNEL, envelope->delivery_tag, 0);
    if (status != AMQP_STATUS_OK) {
        fprintf(stderr, "amqp: basic.ack: %s\n", amqp_error_string2(status));
        return -1;
    }
    return 0;
}

// The bench's envelope ids are "00000000-0000-4000-a000-" and the job's index in 12 digits; the
// index, or -1 for a body without such an id.
static long long job_index(amqp_bytes_t body)
{
    static const char prefix[] = "00000000-0000-4000-a000-";
    const size_t prefix_len = sizeof prefix - 1;
    const char *bytes = body.bytes;
    for (size_t at = 0; at + prefix_len + 12 <= body.len; at++) {
        if (memcmp(bytes + at, prefix, prefix_len) != 0)
            continue;
        long long index = 0;
        for (size_t digit = 0; digit < 12; digit++) {
            char c = bytes[at + prefix_len + digit];
            if (c < '0' || c > '9')
                return -1;
            index = index * 10 + (c - '0');
        }
        return index;
    }
    return -1;
}

struct effect {
    long long index;
    uint64_t unix_ns;
};

static int write_effects(const char *path, const struct effect *effects, size_t count)
{
    FILE *file = fopen(path, "w");
    if (file == NULL) {
        perror(path);
        return -1;
    }
    for (size_t i = 0; i < count; i++)
        fprintf(file, "%lld %llu\n", effects[i].index, (unsigned long long)effects[i].unix_ns);
    if (fclose(file) != 0) {
        perror(path);
        return -1;
    }
    return 0;
}

int run_consumer(struct amqp_session *session, const struct bench_options *options, job_fn job,
                 void *job_context, struct bench_result *result)
{
    if (start_consuming(session, options) != 0)
        return -1;

    struct effect *effects = NULL;
    if (options->effects != NULL && (effects = calloc(options->count, sizeof *effects)) == NULL) {
        fprintf(stderr, "fleet-bench-baseline: out of memory for %zu effect times\n", options->count);
        return -1;
    }
    uint64_t first = 0, last = 0;
    int status = 0;
    for (size_t done = 0; done < options->count && status == 0; done++) {
        amqp_envelope_t envelope;
        if (next_delivery(session, &envelope) != 0) {
            status = -1;
            break;
        }
        uint64_t received = monotonic_ns();
        if (done == 0)
            first = received;
        // The effect is done when the job is; a consume job is done when it is received.
        status = job != NULL ? job(job_context, envelope.message.body) : 0;
        result->last_effect_unix_ns = realtime_ns();
        if (effects != NULL)
            effects[done] = (struct effect){job_index(envelope.message.body), result->last_effect_unix_ns};
        if (status == 0)
            status = ack(session, &envelope);
        if (status == 0)
            result->last_ack_written_unix_ns = realtime_ns();
        last = monotonic_ns();
        amqp_destroy_envelope(&envelope);
        result->samples[done] = (double)(last - received) / 1e6;
        result->sample_count = done + 1;
    }
    if (status == 0 && effects != NULL)
        status = write_effects(options->effects, effects, options->count);
    free(effects);
    result->jobs = options->count;
    result->seconds = (double)(last - first) / 1e9;
    return status;
}
