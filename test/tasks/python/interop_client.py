"""Celery client side of the interop tests: sends a task by name and prints what AsyncResult.get() gave, as JSON.

usage: interop_client.py <task name> <json args> <queue> [countdown]
"""
import json
import sys

from interop_app import app

name, args, queue = sys.argv[1], json.loads(sys.argv[2]), sys.argv[3]
countdown = float(sys.argv[4]) if len(sys.argv) > 4 else None
result = app.send_task(name, args=args, queue=queue, countdown=countdown)
try:
    value = result.get(timeout=30)
    print(json.dumps({"id": result.id, "result": value}))
except Exception as error:  # the exception Celery rebuilt from hotspot's FAILURE
    print(json.dumps({"id": result.id, "error_type": type(error).__name__, "message": str(error)}))
