"""Celery client for nested canvases (groups, chains and chords inside a chord header, a chord as a chain step).

usage: canvas_nested.py <kind> <fleet> <hotspot queue> <python queue>
fleet `mixed`: the A steps run on hotspot, the B steps on Python; fleet `python`: every step on Python, which is
the reference a mixed fleet must match. Prints {"result": …} as JSON.
"""
import json
import sys

from celery import chain, chord, group, signature

from interop_app import app

kind, fleet, hq, pq = sys.argv[1:5]


def a(name, *args):
    """An A step: hotspot's task on hotspot's queue (or Python's twin)."""
    if fleet == "python":
        return signature("py." + name, args=args, queue=pq, app=app)
    return signature("hotspot." + name, args=args, queue=hq, app=app)


def b(name, *args):
    """A B step: always on the Python worker."""
    return signature("py." + name, args=args, queue=pq, app=app)


if kind == "nested-group":
    # Celery unrolls the inner group into the header: 2 + 4 + 6.
    result = chord([a("add", 1, 1), group(b("add", 2, 2), a("add", 3, 3))])(a("sum"))
elif kind == "chains-in-header":
    # Each chain's last step is the chord part; the one before it is sent on by the other kind of worker.
    result = chord([a("add", 1, 1), chain(b("add", 2, 2), a("add", 10)), chain(a("add", 3, 3), b("add", 100))])(
        b("sum")
    )
elif kind == "chord-in-header":
    # The inner chord's body is the outer chord's part: 2 + (4 + 6).
    result = chord([a("add", 1, 1), chord([b("add", 2, 2), a("add", 3, 3)], a("sum"))])(b("sum"))
elif kind == "chord-in-chain":
    # hotspot sends the chord after its step, the Python body sends the last step: (2+10) + (2+20) + 1000.
    result = (a("add", 1, 1) | chord([b("add", 10), a("add", 20)], b("sum")) | a("add", 1000)).apply_async()
elif kind == "chord-in-chain-reverse":
    result = (b("add", 1, 1) | chord([a("add", 10), b("add", 20)], a("sum")) | b("add", 1000)).apply_async()
else:
    raise SystemExit(f"unknown kind {kind}")
print(json.dumps({"result": result.get(timeout=30)}))
