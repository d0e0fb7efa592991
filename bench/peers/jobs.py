"""The work of workloads A and B, shared by the Dramatiq actors and the Celery tasks.

Workload B is byte for byte what the C writer (Sources/FleetBenchBaseline/write_job.c) and the
fleet's CounterWriteJob do: take a Redis lock on the job's key with the same Lua script (SET NX PX
plus a fencing INCR, in one EVALSHA), run the same upsert (a server-side prepared statement), and
release the lock with the same Lua script. Four round trips per job, one after another.

Settings come from the environment the harness gives every worker process:
  PEERS_POSTGRES_URL   the bench database (its own, never the fleet's)
  PEERS_REDIS_URL      redis://host:port/db; the bench uses a database number of its own
  PEERS_LOCK_PREFIX    lock key prefix (the fleet's CounterWriteJob uses "bench:lock:")
  PEERS_TABLE          counter table (the fleet's is "bench_counters")
"""

import os
import secrets
import threading
import time

import psycopg
import redis

# Copied from write_job.c (acquire_script, release_script): the same bytes, so the same SHA.
ACQUIRE_SCRIPT = (
    "if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then\n"
    "  return redis.call('INCR', KEYS[2])\n"
    "end\n"
    "return false"
)
RELEASE_SCRIPT = (
    "if redis.call('GET', KEYS[1]) == ARGV[1] then\n"
    "  return redis.call('DEL', KEYS[1])\n"
    "end\n"
    "return 0"
)
LEASE_MS = 5000
# The fleet gives up on a lock after 10 s (CounterWriteJob: withLock(timeout: .seconds(10))).
LOCK_TIMEOUT_S = 10.0

TABLE = os.environ.get("PEERS_TABLE", "bench_counters")
LOCK_PREFIX = os.environ.get("PEERS_LOCK_PREFIX", "bench:lock:")
UPSERT = (
    f"INSERT INTO {TABLE} (key, counter) VALUES (%s, 1) "
    f"ON CONFLICT (key) DO UPDATE SET counter = {TABLE}.counter + 1"
)


class LockLost(Exception):
    """The release script found another token: the lease ran out while the job held it."""


class _Stores(threading.local):
    """One Redis and one PostgreSQL connection per thread (Dramatiq runs jobs on threads) and per
    process (Celery's prefork children each open their own after the fork, on first use)."""

    def __init__(self):
        self.pid = None
        self.redis = None
        self.pg = None
        self.acquire = None
        self.release = None

    def ensure(self):
        if self.pid == os.getpid() and self.pg is not None and not self.pg.closed:
            return
        self.pid = os.getpid()
        self.redis = redis.Redis.from_url(os.environ["PEERS_REDIS_URL"])
        # redis-py's Script sends EVALSHA (and SCRIPT LOAD once, on NOSCRIPT), as the C writer does.
        self.acquire = self.redis.register_script(ACQUIRE_SCRIPT)
        self.release = self.redis.register_script(RELEASE_SCRIPT)
        # Autocommit: one statement, one implicit transaction, as libpq's PQexecPrepared.
        self.pg = psycopg.connect(os.environ["PEERS_POSTGRES_URL"], autocommit=True)


_stores = _Stores()


def noop(key, pad):
    """Workload A: nothing. The system's own cost per job is all that is measured."""
    return None


def write(key, pad):
    """Workload B: lock, upsert, release."""
    stores = _stores
    stores.ensure()
    lock_key = LOCK_PREFIX + key
    fence_key = lock_key + ":fence"
    token = secrets.token_hex(16)  # 32 hex characters, as the C writer's token
    deadline = time.monotonic() + LOCK_TIMEOUT_S
    while stores.acquire(keys=[lock_key, fence_key], args=[token, LEASE_MS]) is None:
        # Held by another job on the same key: poll every millisecond, as the C writer does.
        if time.monotonic() > deadline:
            raise TimeoutError(f"lock {lock_key} still held after {LOCK_TIMEOUT_S} s")
        time.sleep(0.001)
    # prepare=True: a server-side prepared statement from the first call on, as the C writer's.
    stores.pg.execute(UPSERT, (key,), prepare=True)
    if stores.release(keys=[lock_key], args=[token]) != 1:
        raise LockLost(f"lock {lock_key} no longer held on release (lease expired?)")
