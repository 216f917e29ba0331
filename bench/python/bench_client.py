"""Celery's own client for `npm run bench -- tasks` (contender d): sends N no-op tasks with send_task and waits
until every result is SUCCESS in Redis; prints one line `RESULT {json}` in the shape of the Node contenders.

usage: bench_client.py <tasks> <queue>
"""
import json
import os
import sys
import time

import redis

from bench_celery import app

tasks, queue = int(sys.argv[1]), sys.argv[2]
store = redis.Redis.from_url(os.environ["REDIS_URL"])


def percentile(values, p):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, -(-p * len(ordered) // 100) - 1))]


started = time.perf_counter()
ids = []
# One producer (one channel) for all sends, as a Celery client sending in a loop would hold.
with app.producer_or_acquire() as producer:
    for _ in range(tasks):
        ids.append(app.send_task("bench.noop", args=[time.time() * 1000], queue=queue, producer=producer).id)
published = time.perf_counter()

# Poll the result keys from the oldest unfinished one (tasks finish roughly in order), 1 000 keys per MGET.
keys = [f"celery-task-meta-{i}" for i in ids]
latencies = [None] * tasks
cursor = 0
deadline = time.time() + 600
while cursor < tasks and time.time() < deadline:
    end = min(cursor + 1000, tasks)
    for offset, raw in enumerate(store.mget(keys[cursor:end])):
        if raw is not None:
            meta = json.loads(raw)
            if meta["status"] == "SUCCESS":
                latencies[cursor + offset] = meta["result"]
    while cursor < tasks and latencies[cursor] is not None:
        cursor += 1
    if cursor < end:
        time.sleep(0.02)
finished = time.perf_counter()

done = [v for v in latencies if v is not None]
print("RESULT " + json.dumps({
    "tasks": tasks,
    "seconds": finished - started,
    "publishSeconds": published - started,
    "p50": percentile(done, 50) if done else None,
    "p99": percentile(done, 99) if done else None,
    "found": len(done),
}), flush=True)
