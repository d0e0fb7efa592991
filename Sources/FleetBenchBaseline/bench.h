// Declarations shared by the files of fleet-bench-baseline (see main.c for what it is).
#ifndef FLEET_BENCH_BASELINE_H
#define FLEET_BENCH_BASELINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <amqp.h>

enum bench_mode { MODE_CONSUME, MODE_WRITE, MODE_PUBLISH };

struct bench_options {
    enum bench_mode mode;
    const char *amqp_url;
    const char *queue;
    size_t count;
    uint16_t prefetch;
    const char *postgres;
    char redis_host[256];
    int redis_port;
    const char *table;
    const char *lock_prefix;
    const char *exchange;
    const char *routing_key;
    size_t body_size;
    size_t batch;
    // When set (consume, write): each job's index and effect time go to this file, one
    // "INDEX UNIX_NS" line per job, for the light-load workload.
    const char *effects;
};

// What a mode measured; `samples` are latencies in milliseconds, owned by the caller.
struct bench_result {
    size_t jobs;
    double seconds;
    double *samples;
    size_t sample_count;
    // CLOCK_REALTIME of the moment the last job's effect was done (consume, write), 0 otherwise:
    // `fleet bench` compares it with the time the broker saw the queue empty.
    uint64_t last_effect_unix_ns;
    // CLOCK_REALTIME of the moment its last ack was written to the socket (consume, write), 0
    // otherwise: the process's share of a drain's tail ends there.
    uint64_t last_ack_written_unix_ns;
};

uint64_t monotonic_ns(void);
uint64_t realtime_ns(void);

// AMQP session on channel 1.
struct amqp_session {
    amqp_connection_state_t conn;
    bool needs_close; // logged in, and the broker has not closed the connection itself
};

int amqp_session_open(struct amqp_session *session, const char *url);
void amqp_session_close(struct amqp_session *session);
// Prints "amqp: <what>: <reason>" when `reply` is not a normal one; returns 0 when it is.
int amqp_check_reply(struct amqp_session *session, amqp_rpc_reply_t reply, const char *what);
// Prints why the broker closed the channel or connection, for a method frame that says so.
// Returns true if `method` was such a close.
bool amqp_report_close(struct amqp_session *session, const amqp_method_t *method, const char *what);

// Per-delivery work done before the ack; returns 0 on success, prints and returns -1 on failure.
typedef int (*job_fn)(void *context, amqp_bytes_t body);

int run_consumer(struct amqp_session *session, const struct bench_options *options, job_fn job,
                 void *job_context, struct bench_result *result);
int run_publisher(struct amqp_session *session, const struct bench_options *options,
                  struct bench_result *result);
// The smallest --body-size that leaves room for the envelope around the padding.
size_t publish_min_body_size(void);

// The write job's stores: Redis lock around a PostgreSQL upsert.
struct write_stores;

struct write_stores *write_stores_open(const struct bench_options *options);
void write_stores_close(struct write_stores *stores);
int write_job(void *stores, amqp_bytes_t body);

#endif
