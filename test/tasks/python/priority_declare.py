"""Declares a queue exactly as a Celery app with task_queue_max_priority does, and prints its arguments as JSON.

usage: priority_declare.py <queue> <max priority>
"""
import json
import sys

from interop_app import app

queue_name, max_priority = sys.argv[1], int(sys.argv[2])
app.conf.task_queue_max_priority = max_priority
queue = app.amqp.queues[queue_name]  # a missing queue is created the way Celery routes to one
with app.connection_for_write() as conn:
    try:
        queue.bind(conn.default_channel).declare()
        print(json.dumps({"declared": True, "arguments": queue.queue_arguments}))
    except Exception as error:  # PRECONDITION_FAILED when the existing queue was declared otherwise
        print(json.dumps({"declared": False, "error": str(error)}))
