"""Celery side of the peer benchmark: `celery -A bench.peers.celery_app worker` loads this module.

Settings, and why (Celery's "Optimizing" guide, "Tasks" guide and configuration reference):
- Broker: RabbitMQ through py-amqp (`pyamqp://`), Celery's recommended transport for RabbitMQ.
- task_acks_late=True with task_reject_on_worker_lost=True: a message is acked after its task
  returns, and a task whose worker process died is redelivered, so Celery is at-least-once like
  the fleet (by default Celery acks before running the task: at-most-once).
- worker_prefetch_multiplier=64: the Optimizing guide says that with many short tasks, when
  throughput matters, the multiplier should be large, "say 64, or 128". Prefetch is the multiplier
  times the concurrency (128 with 2 processes; the fleet's bench prefetch is 200). The harness can
  change it (--celery-prefetch-multiplier).
- Pool and concurrency: the default prefork pool with one child per core (Celery's default
  concurrency is the CPU count; the worker command passes it explicitly). Prefork is the pool
  Celery recommends for CPU-bound work such as the no-op, where the GIL rules out threads. For
  workload B the harness also runs the threads pool at 16 (see bench-peers.sh, `celery-threads`),
  since B waits on I/O, which the Concurrency guide says thread/green pools are for.
- Persistent messages (task_default_delivery_mode "persistent", the default), JSON serializer
  (the default), publisher confirms on (`confirm_publish`, the producer waits for each confirm).
- No result backend and task_ignore_result=True: the fleet stores no results either, and a result
  backend would add a write per task.
- worker_disable_rate_limits=True: the Optimizing guide's advice when rate limits are not used.
- The worker runs with --without-gossip --without-mingle --without-heartbeat (no worker-to-worker
  traffic on the broker; events are off by default) and log level WARNING.
- Queue type: classic durable queues (Celery's default and the harness's). With --queue-type
  quorum they are declared with x-queue-type=quorum; Celery then uses per-consumer prefetch, as its
  docs require for quorum queues (worker_detect_quorum_queues, on by default), and declares its
  native delayed-delivery exchanges and queues.
"""

import os

from celery import Celery
from kombu import Exchange, Queue

from bench.peers import jobs

QUEUE_TYPE = os.environ.get("PEERS_QUEUE_TYPE", "classic")
NOOP_QUEUE = "celery.noop"
WRITE_QUEUE = "celery.write"

app = Celery("bench_peers", broker=os.environ["PEERS_AMQP_URL"].replace("amqp://", "pyamqp://", 1))

# A topic exchange: Celery's native delayed delivery (used with quorum queues) needs one.
_exchange = Exchange("celery.bench", type="topic", durable=True)
_arguments = {"x-queue-type": "quorum"} if QUEUE_TYPE == "quorum" else {}

app.conf.update(
    task_queues=[
        Queue(NOOP_QUEUE, _exchange, routing_key=NOOP_QUEUE, durable=True, queue_arguments=_arguments),
        Queue(WRITE_QUEUE, _exchange, routing_key=WRITE_QUEUE, durable=True, queue_arguments=_arguments),
    ],
    task_routes={
        "bench.noop": {"queue": NOOP_QUEUE, "routing_key": NOOP_QUEUE},
        "bench.write": {"queue": WRITE_QUEUE, "routing_key": WRITE_QUEUE},
    },
    task_acks_late=True,
    task_reject_on_worker_lost=True,
    worker_prefetch_multiplier=int(os.environ.get("PEERS_CELERY_PREFETCH_MULTIPLIER", "64")),
    task_serializer="json",
    accept_content=["json"],
    task_default_delivery_mode="persistent",
    broker_transport_options={"confirm_publish": os.environ.get("PEERS_CELERY_CONFIRM", "1") == "1"},
    task_ignore_result=True,
    result_backend=None,
    worker_disable_rate_limits=True,
    broker_connection_retry_on_startup=True,
    worker_hijack_root_logger=False,
)


@app.task(name="bench.noop")
def noop(key, pad):
    jobs.noop(key, pad)


@app.task(name="bench.write", autoretry_for=(TimeoutError,), max_retries=5, default_retry_delay=0.05)
def write(key, pad):
    jobs.write(key, pad)
