"""Celery client side of the canvas interop tests: builds a canvas, prints what its results gave, as JSON.

usage: canvas_client.py <chain|failing-chain|unknown-step> <hotspot queue> <python queue>
"""
import json
import sys

from celery import signature

from interop_app import app

kind, hq, pq = sys.argv[1], sys.argv[2], sys.argv[3]


def hot(name, *args):
    return signature(name, args=args, queue=hq, app=app)


def py(name, *args):
    return signature(name, args=args, queue=pq, app=app)


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
    print(json.dumps({"errback_got": failed_id, "failed": result.parent.id, "tail_state": app.AsyncResult(tail.id).state}))
elif kind == "unknown-step":
    errback = py("py.record_error")
    errback.freeze()
    result = hot("hotspot.no_such_task", 1).on_error(errback).apply_async()
    failed_id = app.AsyncResult(errback.id).get(timeout=30)
    print(json.dumps({"errback_got": failed_id, "failed": result.id, "state": result.state, "exc_type": type(result.result).__name__}))
