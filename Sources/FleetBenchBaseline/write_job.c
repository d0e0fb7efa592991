// write mode's job: take the Redis lock on the message's key, upsert its PostgreSQL counter,
// release the lock: four round trips per job, one after another, nothing overlapped.
#define _POSIX_C_SOURCE 200809L

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <hiredis/hiredis.h>
#include <postgresql/libpq-fe.h>

#include "bench.h"

// Byte for byte the scripts of the Swift RedisLock, so both sides run the same Lua.
static const char acquire_script[] =
    "if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then\n"
    "  return redis.call('INCR', KEYS[2])\n"
    "end\n"
    "return false";
static const char release_script[] =
    "if redis.call('GET', KEYS[1]) == ARGV[1] then\n"
    "  return redis.call('DEL', KEYS[1])\n"
    "end\n"
    "return 0";

enum { KEY_MAX = 256, PREFIX_MAX = 512, TOKEN_LEN = 32 };
static const char lease_ms[] = "5000";
static const char upsert_name[] = "bench_upsert";

struct write_stores {
    redisContext *redis;
    PGconn *pg;
    char acquire_sha[41];
    char release_sha[41];
    const char *lock_prefix;
    uint64_t rng; // splitmix64 state, for lock tokens
};

// splitmix64: fast, and plenty random for lock tokens that only need to differ.
static uint64_t next_random(uint64_t *state)
{
    uint64_t z = (*state += 0x9E3779B97F4A7C15u);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9u;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBu;
    return z ^ (z >> 31);
}

static uint64_t random_seed(void)
{
    uint64_t seed = 0;
    FILE *urandom = fopen("/dev/urandom", "rb");
    if (urandom != NULL) {
        size_t got = fread(&seed, sizeof seed, 1, urandom);
        fclose(urandom);
        if (got == 1)
            return seed;
    }
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    return (uint64_t)now.tv_nsec ^ ((uint64_t)now.tv_sec << 20) ^ (uint64_t)getpid();
}

static void make_token(uint64_t *rng, char token[TOKEN_LEN + 1])
{
    static const char hex[] = "0123456789abcdef";
    for (int word = 0; word < TOKEN_LEN / 16; word++) {
        uint64_t bits = next_random(rng);
        for (int i = 0; i < 16; i++, bits >>= 4)
            token[word * 16 + i] = hex[bits & 15];
    }
    token[TOKEN_LEN] = '\0';
}

// The body is not NUL-terminated, so scan it by length for the first "key":"…".
static int find_key(amqp_bytes_t body, char key[KEY_MAX + 1])
{
    static const char marker[] = "\"key\":\"";
    const size_t marker_len = sizeof marker - 1;
    const char *bytes = body.bytes, *end = bytes + body.len;
    for (const char *p = bytes; (size_t)(end - p) >= marker_len; p++) {
        p = memchr(p, '"', (size_t)(end - p));
        if (p == NULL || (size_t)(end - p) < marker_len)
            break;
        if (memcmp(p, marker, marker_len) != 0)
            continue;
        const char *start = p + marker_len;
        const char *close = memchr(start, '"', (size_t)(end - start));
        if (close == NULL || close - start > KEY_MAX)
            break;
        memcpy(key, start, (size_t)(close - start));
        key[close - start] = '\0';
        return 0;
    }
    fprintf(stderr, "write: message body has no \"key\":\"…\" of at most %d bytes\n", KEY_MAX);
    return -1;
}

// Returns the reply, or NULL after printing what failed (including Redis error replies).
static redisReply *redis_checked(redisContext *redis, redisReply *reply, const char *what)
{
    if (reply == NULL) {
        fprintf(stderr, "redis: %s: %s\n", what, redis->errstr);
        return NULL;
    }
    if (reply->type == REDIS_REPLY_ERROR) {
        fprintf(stderr, "redis: %s: %s\n", what, reply->str);
        freeReplyObject(reply);
        return NULL;
    }
    return reply;
}

static int load_script(redisContext *redis, const char *script, char sha[41], const char *name)
{
    char what[64];
    snprintf(what, sizeof what, "SCRIPT LOAD %s", name);
    redisReply *reply = redis_checked(redis, redisCommand(redis, "SCRIPT LOAD %s", script), what);
    if (reply == NULL)
        return -1;
    int ok = reply->type == REDIS_REPLY_STRING && reply->len == 40;
    if (ok)
        memcpy(sha, reply->str, 41);
    else
        fprintf(stderr, "redis: %s: unexpected reply type %d\n", what, reply->type);
    freeReplyObject(reply);
    return ok ? 0 : -1;
}

static int open_redis(struct write_stores *stores, const struct bench_options *options)
{
    stores->redis = redisConnect(options->redis_host, options->redis_port);
    if (stores->redis == NULL || stores->redis->err) {
        fprintf(stderr, "redis: connect %s:%d: %s\n", options->redis_host, options->redis_port,
                stores->redis ? stores->redis->errstr : "out of memory");
        return -1;
    }
    if (load_script(stores->redis, acquire_script, stores->acquire_sha, "(lock acquire)") != 0)
        return -1;
    return load_script(stores->redis, release_script, stores->release_sha, "(lock release)");
}

// libpq's messages end in a newline and may continue on a tab-indented line; keep ours to one.
static void print_pg_error(const char *what, const char *message)
{
    fprintf(stderr, "postgres: %s: ", what);
    bool space = false;
    for (const char *p = message; *p != '\0'; p++) {
        if (*p == '\n' || *p == '\t' || *p == ' ') {
            space = true;
            continue;
        }
        if (space && p != message)
            fputc(' ', stderr);
        space = false;
        fputc(*p, stderr);
    }
    fputc('\n', stderr);
}

// The primary message alone is one line; the full text adds the statement and a caret.
static void print_pg_result_error(const char *what, const PGresult *result)
{
    const char *primary = PQresultErrorField(result, PG_DIAG_MESSAGE_PRIMARY);
    print_pg_error(what, primary != NULL ? primary : PQresultErrorMessage(result));
}

static int open_postgres(struct write_stores *stores, const struct bench_options *options)
{
    stores->pg = PQconnectdb(options->postgres);
    if (stores->pg == NULL || PQstatus(stores->pg) != CONNECTION_OK) {
        print_pg_error("connect", stores->pg ? PQerrorMessage(stores->pg) : "out of memory");
        return -1;
    }
    // The table name is the operator's, trusted like the rest of the command line.
    char sql[1024];
    int len = snprintf(sql, sizeof sql,
                       "INSERT INTO %s (key, counter) VALUES ($1, 1) "
                       "ON CONFLICT (key) DO UPDATE SET counter = %s.counter + 1",
                       options->table, options->table);
    if (len < 0 || (size_t)len >= sizeof sql) {
        fprintf(stderr, "postgres: table name too long\n");
        return -1;
    }
    PGresult *result = PQprepare(stores->pg, upsert_name, sql, 1, NULL);
    int ok = PQresultStatus(result) == PGRES_COMMAND_OK;
    if (!ok)
        print_pg_result_error("prepare upsert", result);
    PQclear(result);
    return ok ? 0 : -1;
}

struct write_stores *write_stores_open(const struct bench_options *options)
{
    struct write_stores *stores = calloc(1, sizeof *stores);
    if (stores == NULL) {
        fprintf(stderr, "write: out of memory\n");
        return NULL;
    }
    if (strlen(options->lock_prefix) > PREFIX_MAX) {
        fprintf(stderr, "write: --lock-prefix longer than %d bytes\n", PREFIX_MAX);
        free(stores);
        return NULL;
    }
    stores->lock_prefix = options->lock_prefix;
    stores->rng = random_seed();
    if (open_redis(stores, options) != 0 || open_postgres(stores, options) != 0) {
        write_stores_close(stores);
        return NULL;
    }
    return stores;
}

void write_stores_close(struct write_stores *stores)
{
    if (stores == NULL)
        return;
    if (stores->redis != NULL)
        redisFree(stores->redis);
    if (stores->pg != NULL)
        PQfinish(stores->pg);
    free(stores);
}

static int acquire_lock(struct write_stores *stores, const char *lock_key, size_t lock_len,
                        const char *fence_key, size_t fence_len, const char *token)
{
    for (;;) {
        redisReply *reply = redis_checked(
            stores->redis,
            redisCommand(stores->redis, "EVALSHA %s 2 %b %b %s %s", stores->acquire_sha, lock_key,
                         lock_len, fence_key, fence_len, token, lease_ms),
            "lock acquire");
        if (reply == NULL)
            return -1;
        int type = reply->type;
        freeReplyObject(reply);
        if (type == REDIS_REPLY_INTEGER)
            return 0; // the fence; nothing downstream checks it in this benchmark
        if (type != REDIS_REPLY_NIL) {
            fprintf(stderr, "redis: lock acquire %s: unexpected reply type %d\n", lock_key, type);
            return -1;
        }
        // Someone else holds it; jobs run one after another here, so only a stale lease can.
        nanosleep(&(struct timespec){.tv_nsec = 1000000}, NULL);
    }
}

static int release_lock(struct write_stores *stores, const char *lock_key, size_t lock_len,
                        const char *token)
{
    redisReply *reply = redis_checked(
        stores->redis,
        redisCommand(stores->redis, "EVALSHA %s 1 %b %s", stores->release_sha, lock_key, lock_len,
                     token),
        "lock release");
    if (reply == NULL)
        return -1;
    int released = reply->type == REDIS_REPLY_INTEGER && reply->integer == 1;
    freeReplyObject(reply);
    if (!released)
        fprintf(stderr, "redis: lock release %s: lock no longer held (lease expired?)\n", lock_key);
    return released ? 0 : -1;
}

static int upsert_counter(struct write_stores *stores, const char *key)
{
    const char *values[1] = {key};
    PGresult *result = PQexecPrepared(stores->pg, upsert_name, 1, values, NULL, NULL, 0);
    int ok = PQresultStatus(result) == PGRES_COMMAND_OK;
    if (!ok)
        print_pg_result_error("upsert", result);
    PQclear(result);
    return ok ? 0 : -1;
}

int write_job(void *context, amqp_bytes_t body)
{
    struct write_stores *stores = context;
    char key[KEY_MAX + 1];
    if (find_key(body, key) != 0)
        return -1;

    char lock_key[PREFIX_MAX + KEY_MAX + 1], fence_key[PREFIX_MAX + KEY_MAX + 7];
    int lock_len = snprintf(lock_key, sizeof lock_key, "%s%s", stores->lock_prefix, key);
    int fence_len = snprintf(fence_key, sizeof fence_key, "%s:fence", lock_key);

    char token[TOKEN_LEN + 1];
    make_token(&stores->rng, token);
    if (acquire_lock(stores, lock_key, (size_t)lock_len, fence_key, (size_t)fence_len, token) != 0)
        return -1;
    if (upsert_counter(stores, key) != 0)
        return -1; // the lease runs out on its own; the run is over anyway
    return release_lock(stores, lock_key, (size_t)lock_len, token);
}
