"""Celery's own event receiver (what Flower uses) watching one worker: prints what it saw as JSON.

usage: event_receiver.py <worker hostname> <terminal task events to wait for> [wakeup] [ready-on-event]
Prints `ready` once its queue is bound (ready-on-event: once the worker's first event came, for kombu's Redis
transport, which subscribes only when the receiver starts reading), then one JSON line when it has seen that many
task-succeeded / failed / revoked events from the worker and at least one heartbeat (or after 45 s): the raw events and Flower's view
(celery.events.state.State) of the worker and its tasks.
"""
import json
import sys
import threading

from interop_app import app

hostname, wanted = sys.argv[1], int(sys.argv[2])
# wakeup: as Flower starts, broadcast `heartbeat` and wait for the worker's answer (a heartbeat with freq 5).
wakeup = 'wakeup' in sys.argv[3:]
ready_on_event = 'ready-on-event' in sys.argv[3:]
state = app.events.State()
seen = []
terminal = 0
heartbeats = 0
announced = not ready_on_event

with app.connection_for_read() as conn:
    def on_event(event):
        global terminal, heartbeats, announced
        if event.get('hostname') == hostname or event['type'] == 'task-sent':
            seen.append(dict(event))  # before State, which adds its own keys to the dict
        state.event(event)
        if event.get('hostname') != hostname:
            return
        if not announced:
            announced = True
            print('ready', flush=True)
        if event['type'] in ('task-succeeded', 'task-failed', 'task-revoked'):
            terminal += 1
        if event['type'] == 'worker-heartbeat' and (not wakeup or event.get('freq') == 5):
            heartbeats += 1
        if terminal >= wanted and heartbeats >= 1:
            recv.should_stop = True

    recv = app.events.Receiver(conn, handlers={'*': on_event})
    recv.queue(conn.default_channel).declare()
    if not ready_on_event:
        print('ready', flush=True)
    timer = threading.Timer(45, lambda: setattr(recv, 'should_stop', True))
    timer.start()
    try:
        recv.capture(limit=None, timeout=None, wakeup=wakeup)
    finally:
        timer.cancel()

worker = state.workers.get(hostname)
out = {
    'events': seen,
    'worker': worker and {
        'alive': worker.alive, 'freq': worker.freq, 'processed': worker.processed, 'active': worker.active,
        'sw_ident': worker.sw_ident, 'loadavg': worker.loadavg,
    },
    'tasks': {
        uuid: {
            'state': t.state, 'name': t.name, 'args': t.args, 'result': t.result, 'exception': t.exception,
            'hostname': t.worker and t.worker.hostname, 'runtime': t.runtime, 'routing_key': t.routing_key,
        }
        for uuid, t in state.tasks.items()
    },
}
print(json.dumps(out, default=str), flush=True)
