"""Dramatiq side of the peer benchmark: `dramatiq bench.peers.dramatiq_app` loads this module.

Settings, and why (https://dramatiq.io, "Cookbook"/"Advanced topics", and dramatiq/cli.py):
- RabbitmqBroker over pika, the broker Dramatiq recommends for production.
- confirm_delivery=True: the producer waits for the broker's confirm of every message, so an
  enqueue that returned is durable (the fleet's JobProducer publishes with confirms too). It only
  affects publishing, which is not timed here.
- Messages are persistent (Dramatiq always publishes with delivery_mode=2) and JSON (its default
  encoder); queues are durable.
- Acks: Dramatiq acks a message only after the actor returns (or after its Retries middleware has
  re-enqueued it), so it is at-least-once like the fleet, with nothing to configure.
- Worker processes and threads: the CLI defaults, one process per core (`--processes` = CPU count)
  and 8 threads each. The GIL makes more threads useless for the CPU-bound no-op, and workload B
  waits on Redis and PostgreSQL, where 8 threads per process (16 in all) match the fleet's
  concurrency of 16.
- Prefetch: the worker's documented `dramatiq_queue_prefetch` setting, set by the harness so that
  the processes together hold as many unacked messages as the fleet (200: 100 per process).
  Dramatiq's default, 2 x threads (16 per process), left the no-op workers waiting for deliveries:
  on this machine 100 per process drained A about 25% faster (6,600 against 5,100 jobs/s) and B
  about 20% faster. --dramatiq-prefetch sets another value.
- Middleware: Dramatiq's default set (AgeLimit, TimeLimit, ShutdownNotifications, Callbacks,
  Pipelines, Retries), as an application gets it.
- Queue type: Dramatiq declares classic durable queues, the harness's default for all three
  systems. With --queue-type quorum the work queue and its delay queue are declared with
  x-queue-type=quorum, through the broker's own argument hook.
"""

import os

import dramatiq
from dramatiq.brokers.rabbitmq import RabbitmqBroker

from bench.peers import jobs

QUEUE_TYPE = os.environ.get("PEERS_QUEUE_TYPE", "classic")


class Broker(RabbitmqBroker):
    def _build_queue_arguments(self, queue_name):
        arguments = super()._build_queue_arguments(queue_name)
        if QUEUE_TYPE == "quorum":
            arguments["x-queue-type"] = "quorum"
        return arguments


broker = Broker(
    url=os.environ["PEERS_AMQP_URL"],
    confirm_delivery=os.environ.get("PEERS_DRAMATIQ_CONFIRM", "1") == "1",
)
dramatiq.set_broker(broker)

NOOP_QUEUE = "dramatiq.noop"
WRITE_QUEUE = "dramatiq.write"


@dramatiq.actor(queue_name=NOOP_QUEUE, max_retries=5)
def noop(key, pad):
    jobs.noop(key, pad)


@dramatiq.actor(queue_name=WRITE_QUEUE, max_retries=5)
def write(key, pad):
    jobs.write(key, pad)
