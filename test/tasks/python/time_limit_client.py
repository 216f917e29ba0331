"""Celery client for the time limit tests: sends a task with time_limit / soft_time_limit (the message's
`timelimit` header) and prints what AsyncResult.get() gave, as JSON.

usage: time_limit_client.py <task name> <queue> <hard seconds|-> <soft seconds|->
"""
import json
import sys

from interop_app import app

name, queue = sys.argv[1], sys.argv[2]
hard, soft = (None if a == '-' else float(a) for a in sys.argv[3:5])
result = app.send_task(name, queue=queue, time_limit=hard, soft_time_limit=soft)
try:
    print(json.dumps({'id': result.id, 'result': result.get(timeout=30)}))
except Exception as error:  # the exception Celery rebuilt from hotspot's FAILURE
    print(json.dumps({'id': result.id, 'error_type': type(error).__name__, 'error_module': type(error).__module__,
                      'args': list(error.args)}))
