"""A real Python Celery app for the interop tests: its worker runs py.* tasks, its client sends hotspot.* ones."""
import os

from celery import Celery

# BROKER_URL (redis://…) selects kombu's Redis transport, as for hotspot; else RabbitMQ.
app = Celery(
    "interop", broker=os.environ.get("BROKER_URL") or os.environ["AMQP_URL"], backend=os.environ["REDIS_URL"]
)
app.conf.update(
    task_serializer="json",
    result_serializer="json",
    accept_content=["json"],
    task_track_started=True,
    worker_prefetch_multiplier=1,
    task_acks_late=True,
    worker_hijack_root_logger=False,
)
if os.environ.get("BROKER_VISIBILITY_TIMEOUT"):
    app.conf.broker_transport_options = {"visibility_timeout": float(os.environ["BROKER_VISIBILITY_TIMEOUT"])}


@app.task(name="py.sleep")
def sleep(seconds):
    import time

    time.sleep(seconds)
    return seconds


@app.task(name="py.add")
def add(a, b):
    return a + b


@app.task(name="py.fail")
def fail(message):
    raise ValueError(message)


@app.task(name="py.record_error")
def record_error(task_id):
    """An errback: Celery calls it with the failed task's id."""
    return task_id
