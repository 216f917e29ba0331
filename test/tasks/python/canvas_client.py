"""Celery client side of the canvas interop tests: builds a canvas, prints what its results gave, as JSON.

usage: canvas_client.py <kind> <hotspot queue> <python queue> [id]
"""
import json
import time
import sys

from celery import chord, group, signature

from interop_app import app

kind, hq, pq = sys.argv[1], sys.argv[2], sys.argv[3]


def hot(name, *args):
    return signature(name, args=args, queue=hq, app=app)


def py(name, *args):
    return signature(name, args=args, queue=pq, app=app)


def meta(task_id):
    return app.backend.get_task_meta(task_id)


if kind == "chain":
    # Steps alternate hotspot -> Python -> hotspot: each worker sends the next one.
    result = (hot("hotspot.add", 2, 3) | py("py.add", 10) | hot("hotspot.add", 100)).apply_async()
    print(json.dumps({"result": result.get(timeout=30), "parent": result.parent.get(timeout=30)}))
elif kind == "failing-chain":
    errback, tail = py("py.record_error"), hot("hotspot.add", 1)
    errback.freeze()
    tail.freeze()
    result = (hot("hotspot.fail", "boom") | tail).on_error(errback).apply_async()
    failed_id = app.AsyncResult(errback.id).get(timeout=30)
    tail_result = app.AsyncResult(tail.id)
    try:
        tail_result.get(timeout=30)
    except Exception as error:  # the chain's last result fails with the step's error, as under Celery
        tail_error = type(error).__name__
    print(json.dumps({"errback_got": failed_id, "failed": result.parent.id, "tail_state": tail_result.state, "tail_error": tail_error}))
elif kind == "unknown-step":
    errback = py("py.record_error")
    errback.freeze()
    result = hot("hotspot.no_such_task", 1).on_error(errback).apply_async()
    failed_id = app.AsyncResult(errback.id).get(timeout=30)
    print(json.dumps({"errback_got": failed_id, "failed": result.id, "state": result.state, "exc_type": type(result.result).__name__}))
elif kind == "chord-mixed":
    # Header parts on both kinds of worker; whichever finishes the last one sends the hotspot body.
    result = chord([hot("hotspot.add", 1, 1), py("py.add", 2, 2), hot("hotspot.add", 3, 3)])(hot("hotspot.sum"))
    value = result.get(timeout=30)
    print(json.dumps({"result": value, "body": meta(result.id)}))
elif kind == "chord-python-body":
    result = chord([hot("hotspot.add", 1, 1), hot("hotspot.add", 2, 2)])(py("py.sum"))
    print(json.dumps({"result": result.get(timeout=30)}))
elif kind == "chord-failing":
    errback = py("py.record_error")
    errback.freeze()
    body = py("py.sum").on_error(errback)
    result = chord([hot("hotspot.add", 1, 1), hot("hotspot.fail", "boom"), py("py.add", 1, 1)])(body)
    # get() would raise the failed header task's own error first (Celery checks parents): read the body's state.
    out = {"errback_got": app.AsyncResult(errback.id).get(timeout=30), "body": result.id}
    body_result = app.AsyncResult(result.id)
    # Celery's chord_error_from_stack calls the errbacks first and stores the body's FAILURE after: the errback's
    # result can be read a moment before the body's state is there.
    deadline = time.monotonic() + 10
    while body_result.state == "PENDING" and time.monotonic() < deadline:
        time.sleep(0.05)
    out.update(state=body_result.state, error=type(body_result.result).__name__, message=str(body_result.result))
    print(json.dumps(out))
elif kind == "group":
    result = group(hot("hotspot.add", 1, 1), py("py.add", 2, 2), hot("hotspot.add", 3, 3)).apply_async()
    values = result.get(timeout=30)
    print(json.dumps({"result": values, "id": result.id, "metas": [meta(r.id) for r in result.results]}))
elif kind == "read":
    print(json.dumps({"result": app.AsyncResult(sys.argv[4]).get(timeout=30)}))
elif kind == "read-group":
    restored = app.GroupResult.restore(sys.argv[4])
    print(json.dumps({"ids": [r.id for r in restored.results], "result": restored.get(timeout=30)}))
