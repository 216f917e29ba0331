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
# REDIS_URL=sentinel://h1:p1;sentinel://h2:p2 (Celery's Sentinel result backend) needs the master's name apart.
if os.environ.get("REDIS_SENTINEL_MASTER"):
    app.conf.result_backend_transport_options = {"master_name": os.environ["REDIS_SENTINEL_MASTER"]}
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


@app.task(name="py.sum")
def py_sum(numbers):
    """A chord body on the Python side."""
    return sum(numbers)


@app.task(name="py.replace_with", bind=True)
def replace_with(self, name, queue, *args):
    """Replaces itself with name(*args) on queue (Celery's Task.replace: the new task inherits id and chord)."""
    return self.replace(app.signature(name, args=args, queue=queue))


@app.task(name="py.add_to_chord", bind=True)
def add_to_chord(self, name, queue, *args):
    """Adds name(*args) on queue to the chord this task is a header part of (Celery's Task.add_to_chord)."""
    self.add_to_chord(app.signature(name, args=args, queue=queue))
    return 0
