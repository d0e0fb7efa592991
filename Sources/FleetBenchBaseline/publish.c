// publish mode: persistent messages with publisher confirms, in batches of at most W unconfirmed:
// publish a batch, wait until the broker has confirmed all of it, repeat.
#define _POSIX_C_SOURCE 200809L

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <amqp.h>
#include <amqp_framing.h>

#include "bench.h"

enum { CHANNEL = 1, KEY_COUNT = 1000 };

// The body's shape is the fleet's job envelope, so a queue filled here also feeds write mode:
// {"id":"bench-0000000042","type":"bench.write","version":1,"created_at":"…",
//  "payload":{"key":"k-0042","pad":"xxx…"}}; only the sequence number varies.
struct body {
    char *bytes;
    size_t size;
    char created_at[32];
};

static const char body_tail[] = "\"}}";

static int format_head(const struct body *body, uint64_t seq, char *out, size_t cap)
{
    return snprintf(out, cap,
                    "{\"id\":\"bench-%010" PRIu64 "\",\"type\":\"bench.write\",\"version\":1,"
                    "\"created_at\":\"%s\",\"payload\":{\"key\":\"k-%04" PRIu64 "\",\"pad\":\"",
                    seq, body->created_at, seq % KEY_COUNT);
}

size_t publish_min_body_size(void)
{
    struct body probe = {.created_at = "2000-01-01T00:00:00Z"};
    char head[256];
    return (size_t)format_head(&probe, 0, head, sizeof head) + sizeof body_tail - 1;
}

static int body_init(struct body *body, size_t size)
{
    time_t now = time(NULL);
    struct tm utc;
    gmtime_r(&now, &utc);
    strftime(body->created_at, sizeof body->created_at, "%Y-%m-%dT%H:%M:%SZ", &utc);

    body->size = size;
    body->bytes = malloc(size);
    if (body->bytes == NULL) {
        fprintf(stderr, "publish: out of memory for a %zu-byte body\n", size);
        return -1;
    }
    // Padding and tail never change; body_set_seq rewrites the head in front of them.
    memset(body->bytes, 'x', size);
    memcpy(body->bytes + size - (sizeof body_tail - 1), body_tail, sizeof body_tail - 1);
    return 0;
}

static void body_set_seq(struct body *body, uint64_t seq)
{
    char head[256];
    // Fixed-width numbers below 10^10 keep the head's length, so the padding stays in place.
    int length = format_head(body, seq, head, sizeof head);
    memcpy(body->bytes, head, (size_t)length);
}

// Which delivery tags of the batch in flight the broker has confirmed.
struct batch {
    uint64_t first_tag;
    size_t size;
    size_t confirmed;
    size_t low; // every index below this one is confirmed
    unsigned char *acked;
};

static void batch_mark(struct batch *batch, size_t index)
{
    if (!batch->acked[index]) {
        batch->acked[index] = 1;
        batch->confirmed++;
    }
}

static int batch_ack(struct batch *batch, uint64_t tag, bool multiple)
{
    if (tag < batch->first_tag)
        return 0; // a multiple ack repeating tags already confirmed
    if (tag >= batch->first_tag + batch->size) {
        fprintf(stderr, "amqp: broker confirmed delivery tag %" PRIu64 ", never published\n", tag);
        return -1;
    }
    size_t index = (size_t)(tag - batch->first_tag);
    if (multiple) {
        for (size_t i = batch->low; i <= index; i++)
            batch_mark(batch, i);
    } else {
        batch_mark(batch, index);
    }
    while (batch->low < batch->size && batch->acked[batch->low])
        batch->low++;
    return 0;
}

// Reads frames until every message of the batch is confirmed; a nack is fatal.
static int await_confirms(struct amqp_session *session, struct batch *batch)
{
    while (batch->confirmed < batch->size) {
        amqp_frame_t frame;
        int status = amqp_simple_wait_frame(session->conn, &frame);
        if (status != AMQP_STATUS_OK) {
            fprintf(stderr, "amqp: waiting for publisher confirms: %s\n", amqp_error_string2(status));
            return -1;
        }
        if (frame.frame_type != AMQP_FRAME_METHOD)
            continue;
        const amqp_method_t *method = &frame.payload.method;
        if (method->id == AMQP_BASIC_ACK_METHOD) {
            const amqp_basic_ack_t *ack = method->decoded;
            if (batch_ack(batch, ack->delivery_tag, ack->multiple) != 0)
                return -1;
        } else if (method->id == AMQP_BASIC_NACK_METHOD) {
            const amqp_basic_nack_t *nack = method->decoded;
            fprintf(stderr, "amqp: broker nacked publish with delivery tag %" PRIu64 "%s\n",
                    nack->delivery_tag, nack->multiple ? " (and earlier ones)" : "");
            return -1;
        } else if (amqp_report_close(session, method, "publishing")) {
            return -1;
        }
    }
    return 0;
}

static int publish_one(struct amqp_session *session, const struct bench_options *options,
                       const amqp_basic_properties_t *properties, const struct body *body)
{
    amqp_bytes_t bytes = {.len = body->size, .bytes = body->bytes};
    int status = amqp_basic_publish(session->conn, CHANNEL, amqp_cstring_bytes(options->exchange),
                                    amqp_cstring_bytes(options->routing_key), 0, 0, properties, bytes);
    if (status != AMQP_STATUS_OK) {
        fprintf(stderr, "amqp: basic.publish: %s\n", amqp_error_string2(status));
        return -1;
    }
    return 0;
}

static int publish_all(struct amqp_session *session, const struct bench_options *options,
                       struct body *body, struct batch *batch, struct bench_result *result)
{
    amqp_basic_properties_t properties = {
        ._flags = AMQP_BASIC_CONTENT_TYPE_FLAG | AMQP_BASIC_DELIVERY_MODE_FLAG,
        .content_type = amqp_cstring_bytes("application/json"),
        .delivery_mode = AMQP_DELIVERY_PERSISTENT,
    };
    uint64_t next_tag = 1; // confirm mode numbers a channel's publishes from 1
    uint64_t start = monotonic_ns(), end = start;
    for (size_t sent = 0; sent < options->count; sent += batch->size) {
        size_t remaining = options->count - sent;
        batch->size = remaining < options->batch ? remaining : options->batch;
        batch->first_tag = next_tag;
        batch->confirmed = 0;
        batch->low = 0;
        memset(batch->acked, 0, batch->size);

        uint64_t batch_start = monotonic_ns();
        for (size_t i = 0; i < batch->size; i++) {
            body_set_seq(body, (uint64_t)(sent + i));
            if (publish_one(session, options, &properties, body) != 0)
                return -1;
        }
        next_tag += batch->size;
        if (await_confirms(session, batch) != 0)
            return -1;
        end = monotonic_ns();
        result->samples[result->sample_count++] = (double)(end - batch_start) / 1e6;
        amqp_maybe_release_buffers(session->conn);
    }
    result->jobs = options->count;
    result->seconds = (double)(end - start) / 1e9;
    return 0;
}

int run_publisher(struct amqp_session *session, const struct bench_options *options,
                  struct bench_result *result)
{
    amqp_confirm_select(session->conn, CHANNEL);
    if (amqp_check_reply(session, amqp_get_rpc_reply(session->conn), "confirm.select") != 0)
        return -1;

    struct body body = {0};
    struct batch batch = {0};
    int status = -1;
    batch.acked = malloc(options->batch);
    if (batch.acked == NULL)
        fprintf(stderr, "publish: out of memory for a batch of %zu\n", options->batch);
    else if (body_init(&body, options->body_size) == 0)
        status = publish_all(session, options, &body, &batch, result);
    free(body.bytes);
    free(batch.acked);
    return status;
}
