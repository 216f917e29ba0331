"""Pings one worker with a control message whose Lamport clock header is far ahead (as after a long-lived cluster).

usage: control_clock.py <worker hostname> <clock to jump to>
Prints {"sent": <the clock header sent>, "replies": [...]}: kombu's Mailbox forwards its clock for every message.
"""
import json
import sys

from interop_app import app

hostname, jump = sys.argv[1], int(sys.argv[2])
clock = app.control.mailbox.clock
sent = clock.adjust(jump) + 1  # the ping's header: the next forward()
replies = app.control.ping(destination=[hostname], timeout=10)
print(json.dumps({"sent": sent, "replies": replies}), flush=True)
