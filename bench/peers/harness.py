"""The peer comparison behind scripts/bench-peers.sh: workloads A (no-op) and B (Redis lock +
PostgreSQL upsert) drained by the fleet, Dramatiq and Celery, on the same broker and stores, timed
the same way for each.

One measurement ("side": a system at some settings, on one workload):
 1. reset: purge the side's queues, truncate the counter table, delete the lock and fence keys;
 2. preload N messages in the system's own format into its own queue (Dramatiq's and Celery's
    through their own producer APIs, the fleet's as its JobProducer publishes them: persistent JSON
    envelopes of ~200 bytes to the `jobs` exchange), and wait until the queue holds exactly N;
 3. start the broker probe (probe.py), then the workers;
 4. the clock runs from the first delivery leaving the queue to the moment the broker reports the
    queue empty with nothing unacked (both stamped by the broker itself): jobs/s = N / that time;
 5. read each worker process's peak RSS (VmHWM) and sum them; stop the workers;
 6. verify: queue empty, no dead letters, and for B the counters sum to N, the fence counters sum to
    N (every job took the lock exactly once) and no lock is left.
A run measures every side once, one after another; --runs repeats it. The table shows medians and
ranges, and each side's ratio to the fleet within the same run.
"""

import argparse
import json
import os
import shlex
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request

import pika
import psycopg
import redis

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, REPO)

from bench.peers.probe import Probe  # noqa: E402

CPUS = os.cpu_count() or 1
FLEET_EXCHANGE = "jobs"
FLEET_QUEUES = {"noop": "bench.noop", "write": "bench.write"}
# Same as the fleet's BenchWorkload: 1,000 keys, ~200-byte envelopes, a fixed creation date.
KEYS = 1_000
ENVELOPE_BYTES = 200
EPOCH = 1_795_000_000
TABLE = "bench_counters"
LOCK_PREFIX = "bench:lock:"  # the fleet's CounterWriteJob.lockPrefix; all three use it


def log(message):
    print(message, file=sys.stderr, flush=True)


def debug(message):
    if os.environ.get("BENCH_PEERS_DEBUG"):
        log(f"    [{time.strftime('%H:%M:%S')}] {message}")


# ------------------------------------------------------------------------------------------------
# Messages
# ------------------------------------------------------------------------------------------------
def key(index):
    return f"k-{index % KEYS:04d}"


def fleet_envelope(workload, index, pad=""):
    return json.dumps(
        {
            "id": f"00000000-0000-4000-a000-{index:012d}",
            "type": FLEET_QUEUES[workload],
            "version": 1,
            "created_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(EPOCH)),
            "payload": {"key": key(index), "pad": pad},
        },
        separators=(",", ":"),
    )


def pad_for(workload):
    """The padding that makes a fleet envelope ENVELOPE_BYTES long; the peers get the same payload."""
    return "x" * max(0, ENVELOPE_BYTES - len(fleet_envelope(workload, 0)))


# ------------------------------------------------------------------------------------------------
# Broker helpers
# ------------------------------------------------------------------------------------------------
class Broker:
    def __init__(self, amqp_url, mgmt_url, vhost, rabbitmqctl):
        parsed = urllib.parse.urlsplit(amqp_url)
        self.vhost = vhost
        self.amqp_url = urllib.parse.urlunsplit(
            (parsed.scheme, parsed.netloc, "/" + urllib.parse.quote(vhost, safe=""), "", "")
        )
        self.amqp_user = urllib.parse.unquote(parsed.username or "guest")
        # An administrator's management URL: it makes and deletes the vhost.
        self.mgmt = urllib.parse.urlsplit(mgmt_url)
        self.rabbitmqctl = rabbitmqctl

    def api(self, method, path, body=None):
        url = f"{self.mgmt.scheme}://{self.mgmt.hostname}:{self.mgmt.port}/api/{path}"
        request = urllib.request.Request(url, method=method)
        user = urllib.parse.unquote(self.mgmt.username or "guest")
        password = urllib.parse.unquote(self.mgmt.password or "guest")
        import base64

        request.add_header("Authorization", "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode())
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            request.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(request, data=data, timeout=30) as response:
                text = response.read()
                return json.loads(text) if text else None
        except urllib.error.HTTPError as error:
            if error.code == 404 and method in ("GET", "DELETE"):
                return None
            raise

    def ensure_vhost(self):
        vhost = urllib.parse.quote(self.vhost, safe="")
        self.api("PUT", f"vhosts/{vhost}", {})
        self.api("PUT", f"permissions/{vhost}/{urllib.parse.quote(self.amqp_user, safe='')}", {"configure": ".*", "write": ".*", "read": ".*"})
        self.connection(attempts=10).close()  # the vhost accepts connections

    def delete_vhost(self):
        """Deletes the vhost and waits until it is gone: the broker finishes a deletion (closing
        connections, deleting queues) after the API call returns, and a vhost declared again in
        the meantime disappears with it."""
        path = f"vhosts/{urllib.parse.quote(self.vhost, safe='')}"
        self.api("DELETE", path)
        deadline = time.monotonic() + 60
        while self.api("GET", path) is not None:
            if time.monotonic() > deadline:
                raise RuntimeError(f"vhost {self.vhost} still exists 60 s after its deletion")
            time.sleep(0.2)
        time.sleep(1)  # the vhost's supervisor stops after the record is gone

    def connection(self, attempts=5):
        """A new connection; a shared, loaded broker may miss a handshake, so it tries again."""
        for attempt in range(1, attempts + 1):
            try:
                return pika.BlockingConnection(pika.URLParameters(self.amqp_url))
            except Exception as error:  # noqa: BLE001 (pika's connector errors share no base class)
                if attempt == attempts:
                    raise
                log(f"    broker connection failed ({error!r}), again in {attempt} s")
                time.sleep(attempt)

    def depth(self, queue):
        """Ready messages, from a passive declare (live, unlike the management API's statistics)."""
        with self.connection() as connection:
            return connection.channel().queue_declare(queue, passive=True).method.message_count

    def exists(self, queue):
        try:
            self.depth(queue)
            return True
        except pika.exceptions.ChannelClosedByBroker:
            return False

    def purge(self, queues):
        with self.connection() as connection:
            for queue in queues:
                channel = connection.channel()
                try:
                    channel.queue_purge(queue)
                    channel.close()
                except pika.exceptions.ChannelClosedByBroker:
                    pass  # not declared yet

    def wait_depth(self, queue, expected, timeout_s=120):
        deadline = time.monotonic() + timeout_s
        with self.connection() as connection:
            channel = connection.channel()
            while True:
                depth = channel.queue_declare(queue, passive=True).method.message_count
                if depth == expected:
                    return
                if depth > expected or time.monotonic() > deadline:
                    raise RuntimeError(f"{queue}: {depth} messages queued, expected {expected}")
                time.sleep(0.05)


# ------------------------------------------------------------------------------------------------
# Processes and memory
# ------------------------------------------------------------------------------------------------
def session_pids(sid):
    """The processes of a session (the workers are started as session leaders)."""
    pids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[3]) == sid:  # fields after the name: state ppid pgrp session ...
            pids.append(int(entry))
    return pids


def status_kib(pid, field):
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def stop_session(process, stop_signal=signal.SIGTERM, grace_s=15):
    if process.poll() is not None:
        return
    try:
        os.killpg(process.pid, stop_signal)
    except ProcessLookupError:
        return
    try:
        process.wait(timeout=grace_s)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
    # Children that outlived their parent (same session): end them too.
    for pid in session_pids(process.pid):
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


# ------------------------------------------------------------------------------------------------
# Systems
# ------------------------------------------------------------------------------------------------
class Side:
    """One system at given settings on one workload."""

    system = ""
    # Sent to the worker's session once the queue is drained and every ack is in.
    stop_signal = signal.SIGTERM

    def __init__(self, bench, workload):
        self.bench = bench
        self.workload = workload

    label = ""
    queue = ""

    def queues(self):
        return [self.queue]

    def dead_letter_queues(self):
        return []

    def preload(self, count):
        raise NotImplementedError

    def command(self, count):
        raise NotImplementedError

    def environment(self):
        return dict(os.environ, **self.bench.worker_env)


class FleetSide(Side):
    system = "fleet"

    def __init__(self, bench, workload, concurrency):
        super().__init__(bench, workload)
        self.concurrency = concurrency
        self.queue = FLEET_QUEUES[workload]
        self.label = f"fleet, concurrency {concurrency}, prefetch {bench.args.prefetch}, 1 process"
        self.result = None

    def queues(self):
        return [self.queue] + [f"{self.queue}.retry.{delay}" for delay in ("1s", "5s", "30s", "2m", "10m")]

    def dead_letter_queues(self):
        return [f"{self.queue}.dlq"]

    def preload(self, count):
        # As JobProducer publishes: persistent, application/json, message id and type set.
        pad = pad_for(self.workload)
        with self.bench.broker.connection() as connection:
            channel = connection.channel()
            for index in range(count):
                body = fleet_envelope(self.workload, index, pad)
                channel.basic_publish(
                    FLEET_EXCHANGE,
                    FLEET_QUEUES[self.workload],
                    body.encode(),
                    pika.BasicProperties(
                        content_type="application/json",
                        delivery_mode=2,
                        message_id=f"00000000-0000-4000-a000-{index:012d}",
                        type=FLEET_QUEUES[self.workload],
                        timestamp=EPOCH,
                    ),
                )

    def command(self, count):
        return [
            self.bench.args.fleet_bin, "bench-worker", "--workload", self.workload, "--count", str(count),
            "--concurrency", str(self.concurrency), "--prefetch", str(self.bench.args.prefetch),
            "--config-dir", self.bench.fleet_config,
        ]  # fmt: skip

    def environment(self):
        env = super().environment()
        env.update(
            FLEET_AMQP_URL=self.bench.broker.amqp_url,
            FLEET_POSTGRES_URL=self.bench.postgres_url,
            FLEET_REDIS_URL=self.bench.redis_url,
            FLEET_LOG_LEVEL="error",
        )
        return env


class DramatiqSide(Side):
    system = "dramatiq"

    def __init__(self, bench, workload):
        super().__init__(bench, workload)
        from bench.peers import dramatiq_app

        self.app = dramatiq_app
        self.queue = dramatiq_app.NOOP_QUEUE if workload == "noop" else dramatiq_app.WRITE_QUEUE
        self.processes = bench.args.dramatiq_processes or CPUS
        self.threads = bench.args.dramatiq_threads
        # The fleet's prefetch, split over the processes (see dramatiq_app.py).
        self.prefetch = bench.args.dramatiq_prefetch or -(-bench.args.prefetch // self.processes)
        prefetch = self.prefetch
        self.label = (
            f"Dramatiq {self.app.dramatiq.__version__}, {self.processes} processes x {self.threads} threads, "
            f"prefetch {prefetch} per process"
        )

    def queues(self):
        return [self.queue, self.queue + ".DQ"]

    def dead_letter_queues(self):
        return [self.queue + ".XQ"]

    def preload(self, count):
        actor = self.app.noop if self.workload == "noop" else self.app.write
        pad = pad_for(self.workload)
        for index in range(count):
            actor.send(key(index), pad)

    def command(self, count):
        return [
            sys.executable, "-m", "dramatiq", "bench.peers.dramatiq_app",
            "--processes", str(self.processes), "--threads", str(self.threads),
            "--queues", self.queue, "--path", REPO, "--skip-logging",
        ]  # fmt: skip

    def environment(self):
        env = super().environment()
        env["PEERS_DRAMATIQ_CONFIRM"] = "1"
        env["dramatiq_queue_prefetch"] = str(self.prefetch)
        return env


class CelerySide(Side):
    system = "celery"
    # Cold shutdown: the drain is over and acked; a warm one (SIGTERM) can wait out its
    # connection teardown for many seconds.
    stop_signal = signal.SIGQUIT

    def __init__(self, bench, workload, pool, concurrency):
        super().__init__(bench, workload)
        from bench.peers import celery_app

        self.app = celery_app
        self.pool = pool
        self.concurrency = concurrency
        self.queue = celery_app.NOOP_QUEUE if workload == "noop" else celery_app.WRITE_QUEUE
        multiplier = bench.args.celery_prefetch_multiplier
        import celery

        what = f"{concurrency} processes (prefork)" if pool == "prefork" else f"{concurrency} threads, 1 process"
        self.label = (
            f"Celery {celery.__version__}, {what}, prefetch {multiplier} x {concurrency}, acks late"
        )

    def preload(self, count):
        task = self.app.noop if self.workload == "noop" else self.app.write
        pad = pad_for(self.workload)
        with self.app.app.producer_or_acquire() as producer:
            for index in range(count):
                task.apply_async((key(index), pad), producer=producer)

    def command(self, count):
        return [
            sys.executable, "-m", "celery", "-A", "bench.peers.celery_app", "worker",
            "--pool", self.pool, "--concurrency", str(self.concurrency), "--queues", self.queue,
            "--prefetch-multiplier", str(self.bench.args.celery_prefetch_multiplier),
            "--without-gossip", "--without-mingle", "--without-heartbeat", "--loglevel", "WARNING",
        ]  # fmt: skip

    def environment(self):
        env = super().environment()
        env["PEERS_CELERY_CONFIRM"] = "1"
        env["PYTHONPATH"] = REPO + os.pathsep + env.get("PYTHONPATH", "")
        return env


# ------------------------------------------------------------------------------------------------
# The bench
# ------------------------------------------------------------------------------------------------
class Bench:
    def __init__(self, args):
        self.args = args
        self.broker = Broker(os.environ["FLEET_AMQP_URL"], os.environ.get("FLEET_RABBITMQ_ADMIN_URL", os.environ["FLEET_RABBITMQ_MGMT_URL"]), args.vhost,
                             os.environ["FLEET_RABBITMQCTL"])  # fmt: skip
        pg = urllib.parse.urlsplit(os.environ["FLEET_POSTGRES_URL"])
        self.admin_postgres_url = os.environ["FLEET_POSTGRES_URL"]
        self.postgres_url = urllib.parse.urlunsplit((pg.scheme, pg.netloc, "/" + args.database, "", ""))
        rd = urllib.parse.urlsplit(os.environ["FLEET_REDIS_URL"])
        self.redis_url = urllib.parse.urlunsplit((rd.scheme, rd.netloc, f"/{args.redis_db}", "", ""))
        self.worker_env = {
            "PEERS_AMQP_URL": self.broker.amqp_url,
            "PEERS_POSTGRES_URL": self.postgres_url,
            "PEERS_REDIS_URL": self.redis_url,
            "PEERS_QUEUE_TYPE": args.queue_type,
            "PEERS_LOCK_PREFIX": LOCK_PREFIX,
            "PEERS_TABLE": TABLE,
            "PEERS_CELERY_PREFETCH_MULTIPLIER": str(args.celery_prefetch_multiplier),
        }
        # The harness's own imports of the apps preload without waiting for each confirm; it then
        # waits until the broker holds all N messages (a passive declare), which is as safe.
        os.environ.update(self.worker_env, PEERS_DRAMATIQ_CONFIRM="0", PEERS_CELERY_CONFIRM="0")
        self.redis = redis.Redis.from_url(self.redis_url)
        self.fleet_config = None

    # -- setup and cleanup -----------------------------------------------------------------------
    def setup(self):
        # A fresh vhost, so nothing left over from an earlier, interrupted run (queues of another
        # type, stray messages) changes what this run measures; but quorum queues are never deleted
        # and declared again under the same names (see cleanup): a vhost holding them is reused.
        if self.quorum_queues_in_vhost():
            if self.args.queue_type != "quorum":
                raise SystemExit(
                    f"vhost {self.args.vhost} holds quorum queues from a --queue-type quorum run: "
                    "rerun with --queue-type quorum, or use another --vhost"
                )
        else:
            self.broker.delete_vhost()
        self.broker.ensure_vhost()
        with psycopg.connect(self.admin_postgres_url, autocommit=True) as connection:
            if not connection.execute("SELECT 1 FROM pg_database WHERE datname = %s", (self.args.database,)).fetchone():
                connection.execute(f'CREATE DATABASE "{self.args.database}"')
        with psycopg.connect(self.postgres_url, autocommit=True) as connection:
            connection.execute(f"CREATE TABLE IF NOT EXISTS {TABLE} (key text PRIMARY KEY, counter bigint NOT NULL)")
        if "fleet" in self.args.systems:
            self.setup_fleet()

    def setup_fleet(self):
        """A config folder holding only the two bench queues, of the chosen type, with the retry and
        dead-letter layout of production, declared with `fleet topology declare`. Only these: the
        production topology is some 80 quorum queues, and on this shared 3.10 node a vhost holding
        them (declared just before) twice stopped the node from accepting any new connection until
        the vhost was deleted."""
        self.fleet_config = tempfile.mkdtemp(prefix="bench-peers-config-")
        lines = [
            "# Written by bench/peers/harness.py: the fleet's bench queues only.",
            f"exchange: {FLEET_EXCHANGE}",
            "dead_letter_exchange: jobs.dead",
            "broker_consumer_timeout: 30m",
            "retry:",
            "  delays: [1s, 5s, 30s, 2m, 10m]",
            "  jitter: 0.1",
            "dedup_window: 7d",
            "queue_defaults:",
            f"  type: {self.args.queue_type}",
            f"  prefetch: {self.args.prefetch}",
            f"  concurrency: {self.args.concurrency}",
        ]
        if self.args.queue_type == "quorum":
            lines.append("  delivery_limit: 5")
        lines.append("job_types:")
        for queue in FLEET_QUEUES.values():
            lines += [f"  {queue}:", "    deadline: 30s"]
        lines.append("queues:")
        for queue in FLEET_QUEUES.values():
            lines += [f"  {queue}:", f"    job_types: [{queue}]"]
        with open(os.path.join(self.fleet_config, "queues.yaml"), "w") as target:
            target.write("\n".join(lines) + "\n")
        subprocess.run(
            [self.args.fleet_bin, "topology", "declare", "--config-dir", self.fleet_config],
            env=dict(os.environ, FLEET_AMQP_URL=self.broker.amqp_url),
            check=True,
            stdout=subprocess.DEVNULL,
        )

    def quorum_queues_in_vhost(self):
        queues = self.broker.api("GET", f"queues/{urllib.parse.quote(self.args.vhost, safe='')}") or []
        return [queue["name"] for queue in queues if queue.get("type") == "quorum"]

    def cleanup(self):
        if self.fleet_config:
            shutil.rmtree(self.fleet_config, ignore_errors=True)
        if self.args.keep:
            return
        # Quorum queues stay: on the shared RabbitMQ 3.10.8 node here, after a vhost holding some 80
        # quorum queues was deleted and the same queues declared again soon after, the node twice
        # accepted no new connection at all (from anyone) until the vhost was deleted again, and a
        # third time stayed wedged. Classic queues are deleted with the vhost.
        try:
            keep_vhost = self.args.queue_type == "quorum" or bool(self.quorum_queues_in_vhost())
        except Exception as error:  # noqa: BLE001
            log(f"cleanup: listing the queues of vhost {self.args.vhost}: {error}")
            keep_vhost = True
        self.delete_lock_keys()
        try:
            with psycopg.connect(self.postgres_url, autocommit=True) as connection:
                connection.execute(f"DROP TABLE IF EXISTS {TABLE}")
        except psycopg.Error as error:
            log(f"cleanup: {error}")
        if keep_vhost:
            log(f"cleanup: vhost {self.args.vhost} kept (quorum queues); purge or delete it when the broker is idle")
            return
        try:
            self.broker.delete_vhost()
        except Exception as error:  # noqa: BLE001
            log(f"cleanup: deleting vhost {self.args.vhost}: {error}")

    def delete_lock_keys(self):
        batch = list(self.redis.scan_iter(match=LOCK_PREFIX + "*", count=1000))
        for start in range(0, len(batch), 500):
            self.redis.delete(*batch[start : start + 500])

    # -- one measurement -------------------------------------------------------------------------
    def reset(self, side):
        self.broker.purge(side.queues() + side.dead_letter_queues())
        if side.workload == "write":
            with psycopg.connect(self.postgres_url, autocommit=True) as connection:
                connection.execute(f"TRUNCATE {TABLE}")
            self.delete_lock_keys()

    def measure(self, side, count):
        self.reset(side)
        started = time.monotonic()
        side.preload(count)
        self.broker.wait_depth(side.queue, count)
        log(f"    preloaded {count} in {time.monotonic() - started:.1f} s")
        probe = Probe(self.broker.rabbitmqctl, self.args.vhost, side.queue, count, self.args.timeout)
        process = None
        # The workers' own output (Celery warns about running as root, say) goes to a file, shown on failure.
        worker_log = tempfile.TemporaryFile(mode="w+")
        try:
            probe.wait_started()
            launched = time.time()
            process = subprocess.Popen(
                side.command(count),
                env=side.environment(),
                cwd=REPO,
                start_new_session=True,
                stdout=subprocess.PIPE if side.system == "fleet" else worker_log,
                stderr=worker_log,
                text=True,
            )
            # Peak RSS: VmHWM of every process of the worker's session, read while they all live.
            # VmHWM is the kernel's own high-water mark, so a scan a second (cheap next to the
            # workers) only guards against a process that ends before the drain does.
            peaks = {}
            next_scan = 0.0
            while probe.process.poll() is None:
                if time.monotonic() >= next_scan:
                    for pid in session_pids(process.pid):
                        peaks[pid] = max(peaks.get(pid, 0), status_kib(pid, "VmHWM"))
                    next_scan = time.monotonic() + 1.0
                if process.poll() is not None and side.system != "fleet":
                    raise RuntimeError(f"{side.label}: worker exited early with {process.returncode}")
                time.sleep(0.02)
            first, drained, max_unacked = probe.result(timeout_s=30)
            debug(f"drained; probe says {drained - first:.3f} s")
            for pid in session_pids(process.pid):
                peaks[pid] = max(peaks.get(pid, 0), status_kib(pid, "VmHWM"))
            if side.system == "fleet":
                output, _ = process.communicate(timeout=60)
                result = json.loads(output.strip().splitlines()[-1])
                # The fleet reports its own VmHWM at exit: the peak, even if it came after the last sample.
                peaks[process.pid] = max(peaks.get(process.pid, 0), int(result.get("maxRSSKiB", 0)))
        except Exception:
            if process is not None:
                stop_session(process)
            worker_log.seek(0)
            tail = worker_log.read()[-3000:]
            if tail:
                log(f"    worker output (end):\n{tail}")
            raise
        finally:
            probe.abandon()
            if process is not None:
                stop_session(process, side.stop_signal)
            worker_log.close()
        debug("workers stopped")
        self.verify(side, count)
        seconds = drained - first
        return {
            "jobs_per_s": count / seconds,
            "seconds": seconds,
            "startup_s": first - launched,
            "rss_mib": sum(peaks.values()) / 1024,
            "processes": len(peaks),
            "max_unacked": max_unacked,
        }

    def verify(self, side, count):
        for queue in [side.queue] + side.dead_letter_queues():
            depth = self.broker.depth(queue)
            if depth != 0:
                raise RuntimeError(f"{side.label}: {depth} messages left in {queue}")
        if side.workload != "write":
            return
        with psycopg.connect(self.postgres_url) as connection:
            total = connection.execute(f"SELECT coalesce(sum(counter), 0)::bigint FROM {TABLE}").fetchone()[0]
        if total != count:
            raise RuntimeError(f"{side.label}: counters sum to {total}, not {count}")
        fences = [key for key in self.redis.scan_iter(match=LOCK_PREFIX + "*:fence", count=1000)]
        fence_total = sum(int(value) for value in self.redis.mget(fences)) if fences else 0
        if fence_total != count:
            raise RuntimeError(f"{side.label}: {fence_total} lock acquisitions for {count} jobs")
        held = [key for key in self.redis.scan_iter(match=LOCK_PREFIX + "*", count=1000) if not key.endswith(b":fence")]
        if held:
            raise RuntimeError(f"{side.label}: {len(held)} locks still held after the run")

    # -- the sides -------------------------------------------------------------------------------
    def sides(self, workload):
        sides = []
        for system in self.args.systems:
            if system == "fleet":
                sides.append(FleetSide(self, workload, self.args.concurrency))
            elif system == "dramatiq":
                sides.append(DramatiqSide(self, workload))
            elif system == "celery":
                sides.append(CelerySide(self, workload, "prefork", self.args.celery_processes or CPUS))
                if workload == "write" and self.args.celery_threads:
                    sides.append(CelerySide(self, workload, "threads", self.args.celery_threads))
        return sides


def summarize(values):
    return statistics.median(values), min(values), max(values)


def fmt_range(values, digits=0):
    median, low, high = summarize(values)
    spec = f"{{:.{digits}f}}"
    if len(values) == 1:
        return spec.format(median)
    return f"{spec.format(median)} ({spec.format(low)}–{spec.format(high)})"


def markdown(results, args, counts):
    lines = [
        f"| Workload | System and settings | jobs/s, median (min–max) | ÷ fleet, same run | "
        f"start to 1st delivery, s | most unacked | peak RSS MiB (processes) |",
        "|---|---|---|---|---|---|---|",
    ]
    names = {"noop": "A: no-op", "write": "B: lock + upsert"}
    for workload in args.workloads:
        for label, runs in results.get(workload, {}).items():
            rates = [run["jobs_per_s"] for run in runs.values()]
            fleet = results[workload].get("__fleet__", {})
            ratios = [runs[r]["jobs_per_s"] / fleet[r]["jobs_per_s"] for r in runs if r in fleet]
            if label == "__fleet__":
                continue
            ratio = "–" if runs is fleet else (fmt_range(ratios, 2) if ratios else "n/a")
            rss = [run["rss_mib"] for run in runs.values()]
            procs = max(run["processes"] for run in runs.values())
            lines.append(
                f"| {names[workload]} ({counts[workload]:,} jobs) | {label} | {fmt_range(rates)} | {ratio} | "
                f"{statistics.median(run['startup_s'] for run in runs.values()):.2f} | "
                f"{max(run['max_unacked'] for run in runs.values())} | {statistics.median(rss):.1f} ({procs}) |"
            )
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--jobs", type=int, default=20_000, help="workload A jobs per run (default 20000)")
    parser.add_argument("--write-jobs", type=int, help="workload B jobs per run (default: --jobs / 4)")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--workloads", default="noop,write")
    parser.add_argument("--systems", default="fleet,dramatiq,celery")
    # Classic by default: Dramatiq's and Celery's own default, and the queue type of the issue's
    # outside harness. With quorum, Celery 5.7 also declares its native delayed-delivery queues, and
    # on RabbitMQ 3.10.8 here a Celery worker stopped after a quorum drain left a channel hanging in
    # shutdown for about 70 s, during which the node accepted no new connection from anyone.
    parser.add_argument("--queue-type", choices=["quorum", "classic"], default="classic",
                        help="queue type for all three systems (default classic; see the comment on quorum)")
    parser.add_argument("--fleet-bin", default=os.path.join(REPO, ".build/release/fleet"))
    parser.add_argument("--concurrency", type=int, default=16, help="fleet jobs at once (default 16)")
    parser.add_argument("--prefetch", type=int, default=200, help="fleet prefetch (default 200)")
    parser.add_argument("--dramatiq-processes", type=int, default=0, help="default: CPU count")
    parser.add_argument("--dramatiq-threads", type=int, default=8)
    parser.add_argument("--dramatiq-prefetch", type=int, default=0,
                        help="per process; default: the fleet's --prefetch divided over the processes")
    parser.add_argument("--celery-processes", type=int, default=0, help="prefork children; default: CPU count")
    parser.add_argument("--celery-prefetch-multiplier", type=int, default=64)
    parser.add_argument("--celery-threads", type=int, default=16, help="B also on the threads pool; 0: skip")
    parser.add_argument("--vhost", default="fleet-peers")
    parser.add_argument("--database", default="fleet_peers")
    parser.add_argument("--redis-db", type=int, default=11)
    parser.add_argument("--timeout", type=int, default=900, help="seconds one drain may take")
    parser.add_argument("--markdown", help="also write the table to this file")
    parser.add_argument("--keep", action="store_true", help="keep the vhost, table and keys afterwards")
    args = parser.parse_args()
    args.workloads = [w for w in args.workloads.split(",") if w]
    args.systems = [s for s in args.systems.split(",") if s]
    for workload in args.workloads:
        if workload not in FLEET_QUEUES:
            parser.error(f"unknown workload {workload}: use noop, write")
    for system in args.systems:
        if system not in ("fleet", "dramatiq", "celery"):
            parser.error(f"unknown system {system}: use fleet, dramatiq, celery")
    counts = {"noop": args.jobs, "write": args.write_jobs or max(1, args.jobs // 4)}

    bench = Bench(args)
    results = {}
    failures = []
    try:
        bench.setup()
        for run in range(1, args.runs + 1):
            for workload in args.workloads:
                for side in bench.sides(workload):
                    log(f"run {run}/{args.runs}, {workload}: {side.label}")
                    try:
                        result = bench.measure(side, counts[workload])
                    except Exception as error:  # noqa: BLE001
                        log(f"    FAILED: {error}")
                        if os.environ.get("BENCH_PEERS_DEBUG"):
                            import traceback

                            traceback.print_exc()
                        failures.append(f"run {run}, {workload}, {side.label}: {error}")
                        continue
                    log(
                        f"    {result['jobs_per_s']:.0f} jobs/s ({result['seconds']:.2f} s), "
                        f"start {result['startup_s']:.2f} s, peak RSS {result['rss_mib']:.1f} MiB "
                        f"over {result['processes']} processes, at most {result['max_unacked']} unacked"
                    )
                    by_label = results.setdefault(workload, {})
                    by_label.setdefault(side.label, {})[run] = result
                    if side.system == "fleet":
                        by_label["__fleet__"] = by_label[side.label]
    finally:
        bench.cleanup()
    table = markdown(results, args, counts)
    print(
        f"\nPeer comparison, {args.runs} run(s), queue type {args.queue_type}, {CPUS} cores, "
        f"{time.strftime('%Y-%m-%d')}:\n"
    )
    print(table)
    if args.markdown:
        with open(args.markdown, "w") as target:
            target.write(table + "\n")
    if failures:
        print("\nFailed measurements:\n" + "\n".join(f"- {failure}" for failure in failures))
        sys.exit(1)


if __name__ == "__main__":
    main()
