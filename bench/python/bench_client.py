"""Celery's own client for `npm run bench -- tasks` (contender d). Prints one line `RESULT {json}` in the shape
of the Node contenders.

usage: bench_client.py <tasks> <queue> <mode> <ids file>
  both  send the tasks with send_task, then wait until every result is SUCCESS in Redis (end to end)
  send  only send them (the worker is not running yet: the queue fills up), ids go to <ids file>
  wait  only wait for the tasks of <ids file>; the rate comes from the results' date_done, first to last,
        which is the worker's own throughput on a full queue (its start-up excluded)
"""
import json
import os
import sys
import time
from datetime import datetime

import redis

from bench_celery import app

tasks, queue, mode, ids_file = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
store = redis.Redis.from_url(os.environ["REDIS_URL"])


def percentile(values, p):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, -(-p * len(ordered) // 100) - 1))]


def send():
    ids = []
    # One producer (one channel) for all sends, as a Celery client sending in a loop would hold.
    with app.producer_or_acquire() as producer:
        for _ in range(tasks):
            ids.append(app.send_task("bench.noop", args=[time.time() * 1000], queue=queue, producer=producer).id)
    return ids


def wait(ids):
    """Polls the result keys from the oldest unfinished one (tasks finish roughly in order), 1 000 per MGET."""
    keys = [f"celery-task-meta-{i}" for i in ids]
    metas = [None] * len(ids)
    cursor = 0
    deadline = time.time() + 900
    while cursor < len(ids) and time.time() < deadline:
        end = min(cursor + 1000, len(ids))
        for offset, raw in enumerate(store.mget(keys[cursor:end])):
            if raw is not None:
                meta = json.loads(raw)
                if meta["status"] == "SUCCESS":
                    metas[cursor + offset] = meta
        while cursor < len(ids) and metas[cursor] is not None:
            cursor += 1
        if cursor < end:
            time.sleep(0.02)
    return [m for m in metas if m is not None]


cpu_at_start = time.process_time()
started = time.perf_counter()
if mode == "wait":
    with open(ids_file) as f:
        ids = json.load(f)
else:
    ids = send()
published = time.perf_counter()
if mode == "send":
    with open(ids_file, "w") as f:
        json.dump(ids, f)
    sys.exit(0)
done = wait(ids)
finished = time.perf_counter()

latencies = [m["result"] for m in done]
seconds = finished - started
if mode == "wait":
    stamps = sorted(datetime.fromisoformat(m["date_done"]) for m in done)
    # n results over the span from the first to the last: n - 1 intervals.
    seconds = (stamps[-1] - stamps[0]).total_seconds() * len(stamps) / max(1, len(stamps) - 1)
print("RESULT " + json.dumps({
    "tasks": tasks,
    "seconds": seconds,
    "publishSeconds": published - started,
    "p50": percentile(latencies, 50) if latencies else None,
    "p99": percentile(latencies, 99) if latencies else None,
    "found": len(done),
    "cpuMs": (time.process_time() - cpu_at_start) * 1000,
}), flush=True)
