"""Celery side of `npm run bench -- tasks` (contender d): the app its prefork worker and its client share.

The same guarantees as the Node contenders: persistent messages published with confirms, acks late, results
in Redis (Celery's own result backend), prefetch 200 per worker (multiplier 100 x concurrency 2).
"""
import os
import sys
import time

from celery import Celery
from celery.signals import worker_ready

app = Celery("bench", broker=os.environ["AMQP_URL"], backend=os.environ["REDIS_URL"])
app.conf.update(
    task_serializer="json",
    result_serializer="json",
    accept_content=["json"],
    task_acks_late=True,
    worker_prefetch_multiplier=int(os.environ.get("TASKS_PREFETCH_MULTIPLIER", "100")),
    broker_transport_options={"confirm_publish": True},
    worker_hijack_root_logger=False,
    # The worker announces readiness on stdout (below): keep stdout a plain stream.
    worker_redirect_stdouts=False,
)


@app.task(name="bench.noop")
def noop(sent_at):
    """The no-op: its result is how long the message took from send to start (ms), for the client to read."""
    return time.time() * 1000 - sent_at


@worker_ready.connect
def announce_ready(**_):
    # The bench starts the clock only once the worker consumes; logging at INFO would cost per task.
    sys.stdout.write("ready\n")
    sys.stdout.flush()
