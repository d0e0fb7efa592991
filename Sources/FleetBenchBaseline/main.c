// fleet-bench-baseline: the C baseline that `fleet bench` measures the Swift fleet against.
//
// It does the same broker and store work as a fleet worker, the way a competent C programmer
// would write it with nothing to prove: one thread, blocking librabbitmq/libpq/hiredis calls,
// one message at a time, no pipelining beyond what the mode's protocol needs.
//
//   consume  ack each delivery on its own (prefetch P) until N are acked; with --effects FILE,
//            also write each job's index and effect time (light-load workload)
//   write    per delivery: Redis lock (Lua, EVALSHA) -> PostgreSQL upsert (prepared) -> unlock -> ack
//   publish  N persistent messages with publisher confirms, at most W unconfirmed at a time
//
// It prints one JSON line: mode, jobs, seconds, jobs_per_second, p50_ms, p99_ms, max_rss_kib,
// cpu_ms (its CPU time since it started) and, for consume and write, last_effect_unix_ns
// (CLOCK_REALTIME when the last job's effect was done) and last_ack_written_unix_ns (when its last
// basic.ack was written).
// Latencies are per job (delivery received -> its ack sent) or, for publish, per batch round trip.
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <signal.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "bench.h"

enum { EXIT_USAGE = 2 };

static const char usage_text[] =
    "usage: fleet-bench-baseline MODE --count N [options]\n"
    "\n"
    "modes:\n"
    "  consume   consume --queue Q, acking every delivery on its own\n"
    "  write     like consume, with a Redis lock and a PostgreSQL upsert per delivery\n"
    "  publish   publish persistent messages with publisher confirms\n"
    "\n"
    "options:\n"
    "  --amqp URL           amqp://user:pass@host:port/vhost (default amqp://guest:guest@127.0.0.1:5682/)\n"
    "  --count N            messages to process or publish (required)\n"
    "  --queue Q            queue to consume (consume, write)\n"
    "  --prefetch P         basic.qos prefetch count (default 200)\n"
    "  --postgres CONNINFO  libpq conninfo or URL (write)\n"
    "  --redis HOST:PORT    Redis address (default 127.0.0.1:56379)\n"
    "  --table T            counter table, created by you (default bench_counters)\n"
    "  --lock-prefix P      Redis lock key prefix (default bench:lock:)\n"
    "  --exchange E         exchange to publish to (default \"\", the default exchange)\n"
    "  --routing-key K      routing key (publish)\n"
    "  --body-size B        message body bytes (default 200)\n"
    "  --batch W            most unconfirmed publishes at a time (default 500)\n"
    "  --effects FILE       write \"INDEX UNIX_NS\" per job (consume, write): the job's index, read\n"
    "                       from the envelope id, and when its effect was done\n";

static int usage_error(const char *message, const char *detail)
{
    fprintf(stderr, "fleet-bench-baseline: %s%s\n\n%s", message, detail, usage_text);
    return -1;
}

uint64_t monotonic_ns(void)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (uint64_t)now.tv_sec * 1000000000u + (uint64_t)now.tv_nsec;
}

uint64_t realtime_ns(void)
{
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    return (uint64_t)now.tv_sec * 1000000000u + (uint64_t)now.tv_nsec;
}

static int parse_size(const char *text, size_t min, size_t max, size_t *out)
{
    char *end;
    errno = 0;
    unsigned long long value = strtoull(text, &end, 10);
    if (errno != 0 || end == text || *end != '\0' || text[0] == '-' || value < min || value > max)
        return -1;
    *out = (size_t)value;
    return 0;
}

static int parse_redis(const char *text, struct bench_options *options)
{
    const char *colon = strrchr(text, ':');
    size_t port;
    if (colon == NULL || colon == text || (size_t)(colon - text) >= sizeof options->redis_host
        || parse_size(colon + 1, 1, 65535, &port) != 0)
        return -1;
    memcpy(options->redis_host, text, (size_t)(colon - text));
    options->redis_host[colon - text] = '\0';
    options->redis_port = (int)port;
    return 0;
}

static int parse_mode(const char *text, enum bench_mode *mode)
{
    if (strcmp(text, "consume") == 0)
        *mode = MODE_CONSUME;
    else if (strcmp(text, "write") == 0)
        *mode = MODE_WRITE;
    else if (strcmp(text, "publish") == 0)
        *mode = MODE_PUBLISH;
    else
        return -1;
    return 0;
}

// Applies one "--name value" pair; -1 for an unknown name or a bad value.
static int apply_option(struct bench_options *o, const char *name, const char *value)
{
    size_t number;
    if (strcmp(name, "--amqp") == 0)
        o->amqp_url = value;
    else if (strcmp(name, "--queue") == 0)
        o->queue = value;
    else if (strcmp(name, "--postgres") == 0)
        o->postgres = value;
    else if (strcmp(name, "--table") == 0)
        o->table = value;
    else if (strcmp(name, "--lock-prefix") == 0)
        o->lock_prefix = value;
    else if (strcmp(name, "--exchange") == 0)
        o->exchange = value;
    else if (strcmp(name, "--routing-key") == 0)
        o->routing_key = value;
    else if (strcmp(name, "--effects") == 0)
        o->effects = value;
    else if (strcmp(name, "--redis") == 0)
        return parse_redis(value, o);
    else if (strcmp(name, "--count") == 0)
        return parse_size(value, 1, SIZE_MAX / sizeof(double), &o->count);
    else if (strcmp(name, "--body-size") == 0)
        return parse_size(value, 0, 128u * 1024 * 1024, &o->body_size);
    else if (strcmp(name, "--batch") == 0)
        return parse_size(value, 1, 1000000, &o->batch);
    else if (strcmp(name, "--prefetch") == 0) {
        if (parse_size(value, 0, UINT16_MAX, &number) != 0)
            return -1;
        o->prefetch = (uint16_t)number;
    } else
        return -1;
    return 0;
}

static int check_required(const struct bench_options *o)
{
    if (o->count == 0)
        return usage_error("--count is required", "");
    if (o->mode != MODE_PUBLISH && o->queue == NULL)
        return usage_error("--queue is required for consume and write", "");
    if (o->mode == MODE_WRITE && o->postgres == NULL)
        return usage_error("--postgres is required for write", "");
    if (o->mode == MODE_PUBLISH && o->routing_key == NULL)
        return usage_error("--routing-key is required for publish", "");
    if (o->mode == MODE_PUBLISH && o->body_size < publish_min_body_size()) {
        char detail[64];
        snprintf(detail, sizeof detail, "%zu bytes", publish_min_body_size());
        return usage_error("--body-size must leave room for the JSON envelope: at least ", detail);
    }
    return 0;
}

static int parse_options(int argc, char **argv, struct bench_options *o)
{
    *o = (struct bench_options){
        .amqp_url = "amqp://guest:guest@127.0.0.1:5682/",
        .prefetch = 200,
        .redis_host = "127.0.0.1",
        .redis_port = 56379,
        .table = "bench_counters",
        .lock_prefix = "bench:lock:",
        .exchange = "",
        .body_size = 200,
        .batch = 500,
    };
    if (argc < 2)
        return usage_error("missing MODE", "");
    if (parse_mode(argv[1], &o->mode) != 0)
        return usage_error("unknown mode: ", argv[1]);
    for (int i = 2; i < argc; i += 2) {
        if (i + 1 >= argc)
            return usage_error("missing value for ", argv[i]);
        if (apply_option(o, argv[i], argv[i + 1]) != 0) {
            char detail[256];
            snprintf(detail, sizeof detail, "%s %s", argv[i], argv[i + 1]);
            return usage_error("bad option or value: ", detail);
        }
    }
    return check_required(o);
}

static int compare_doubles(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

// Nearest rank: the smallest sample with at least `percent` % of all samples at or below it.
static double percentile(const double *sorted, size_t count, unsigned percent)
{
    if (count == 0)
        return 0.0;
    size_t rank = (count * percent + 99) / 100;
    return sorted[rank > 0 ? rank - 1 : 0];
}

// The peak resident set of this process image. Not getrusage's ru_maxrss: Linux carries that
// over from the parent across fork and exec, so a child of a big parent would report its size.
static long peak_rss_kib(void)
{
    FILE *status = fopen("/proc/self/status", "r");
    if (status == NULL)
        return -1;
    char line[256];
    long kib = -1;
    while (fgets(line, sizeof line, status) != NULL) {
        if (sscanf(line, "VmHWM: %ld kB", &kib) == 1)
            break;
    }
    fclose(status);
    return kib;
}

// User and system CPU time since the process started, in milliseconds; -1 if unknown.
static double cpu_ms(void)
{
    struct rusage usage;
    if (getrusage(RUSAGE_SELF, &usage) != 0)
        return -1.0;
    return (double)(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) * 1e3
           + (double)(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e3;
}

static void print_report(const char *mode, struct bench_result *result)
{
    qsort(result->samples, result->sample_count, sizeof *result->samples, compare_doubles);
    double rate = result->seconds > 0 ? (double)result->jobs / result->seconds : 0.0;
    printf("{\"mode\":\"%s\",\"jobs\":%zu,\"seconds\":%.6f,\"jobs_per_second\":%.1f,"
           "\"p50_ms\":%.3f,\"p99_ms\":%.3f,\"max_rss_kib\":%ld",
           mode, result->jobs, result->seconds, rate,
           percentile(result->samples, result->sample_count, 50),
           percentile(result->samples, result->sample_count, 99), peak_rss_kib());
    double cpu = cpu_ms();
    if (cpu >= 0)
        printf(",\"cpu_ms\":%.1f", cpu);
    if (result->last_effect_unix_ns != 0)
        printf(",\"last_effect_unix_ns\":%" PRIu64, result->last_effect_unix_ns);
    if (result->last_ack_written_unix_ns != 0)
        printf(",\"last_ack_written_unix_ns\":%" PRIu64, result->last_ack_written_unix_ns);
    printf("}\n");
    fflush(stdout);
}

static int run_mode(const struct bench_options *options, struct amqp_session *session,
                    struct bench_result *result)
{
    if (options->mode == MODE_PUBLISH)
        return run_publisher(session, options, result);
    if (options->mode == MODE_CONSUME)
        return run_consumer(session, options, NULL, NULL, result);

    // Stores first, so a bad --postgres fails before any message is taken off the queue.
    struct write_stores *stores = write_stores_open(options);
    if (stores == NULL)
        return -1;
    int status = run_consumer(session, options, write_job, stores, result);
    write_stores_close(stores);
    return status;
}

int main(int argc, char **argv)
{
    if (argc == 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        fputs(usage_text, stdout);
        return EXIT_SUCCESS;
    }
    // A server dropping the connection mid-write should end in an error message, not SIGPIPE.
    signal(SIGPIPE, SIG_IGN);
    struct bench_options options;
    if (parse_options(argc, argv, &options) != 0)
        return EXIT_USAGE;

    // One latency per job, or one per batch round trip when publishing; allocated up front so
    // the measured loop never allocates for its own bookkeeping.
    size_t capacity = options.mode == MODE_PUBLISH
                          ? (options.count + options.batch - 1) / options.batch
                          : options.count;
    struct bench_result result = {.samples = malloc(capacity * sizeof(double))};
    if (result.samples == NULL) {
        fprintf(stderr, "fleet-bench-baseline: out of memory for %zu latency samples\n", capacity);
        return EXIT_FAILURE;
    }

    struct amqp_session session;
    int status = amqp_session_open(&session, options.amqp_url);
    if (status == 0)
        status = run_mode(&options, &session, &result);
    amqp_session_close(&session);
    if (status == 0)
        print_report(argv[1], &result);
    free(result.samples);
    return status == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
