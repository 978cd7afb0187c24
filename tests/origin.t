#!/usr/bin/env python3
"""Routing ids that chordd keeps for itself are refused on the wire.

The Redis door hands its commands to the ring positions with origins of
its own (0x00 'r' + connection slot + generation), and replies to such an
origin go to the door's connection, not to the ROUTER. libzmq generates
routing ids of 5 bytes starting with 0x00 and refuses ids starting with
0x00 from its own API, but a hand-made ZMTP peer can announce any
Identity in its READY. Checked on an open peer with --http and --resp:
a hand-framed DEALER with an ordinary Identity gets its INFO_REPLY (the
control); one announcing the door's form, with a Redis connection open
at slot 0, is dropped by the transport: the node never counts its
requests (chord_messages_received_total{type="client_info"} grows by the
control's requests only), it gets no reply, and the Redis connection
still answers PING with +PONG and nothing else.

Helpers are in tests/chordtest.py, tests/httptest.py and tests/wire.py."""
import os
import select
import socket
import struct
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import chordtest as ct  # noqa: E402
import httptest as ht  # noqa: E402
from chordtest import ok  # noqa: E402
from wire import MSG_CLIENT_INFO, MSG_INFO_REPLY, Zmtp, request, unmp  # noqa: E402

COUNTER_WAIT_S = 5.0        # the loop publishes its counters at most every 200 ms
FORGED = 5                  # requests sent under the door's form of origin


def info_count(peer):
    """chord_messages_received_total{type="client_info"} on peer, or None."""
    for name, labels, value in ht.scrape(peer.http_port)[0]:
        if name == "chord_messages_received_total" and labels.get("type") == "client_info":
            return value
    return 0.0


def replies_within(conn, seconds, request_id=None):
    """Decoded messages conn receives within seconds, or until one answers
    request_id. (A hand-made DEALER answers no ZMTP heartbeat: the peer
    drops it after 3 s, so no wait here is longer.)"""
    got = []
    conn.sock.settimeout(3.0)       # once a message has begun, the rest follows
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not select.select([conn.sock], [], [], 0.2)[0]:
            continue
        try:
            frames = conn.recv_message()
        except (OSError, ConnectionError):
            break
        got.append(unmp(frames[-1])[0])
        if request_id is not None and isinstance(got[-1], list) and len(got[-1]) == 6 and got[-1][2] == request_id:
            break
    return got


def resp_ping(sock):
    sock.sendall(b"*1\r\n$4\r\nPING\r\n")
    data = b""
    deadline = time.monotonic() + 5
    sock.settimeout(0.5)
    while time.monotonic() < deadline and not data.endswith(b"\r\n"):
        try:
            chunk = sock.recv(4096)
        except socket.timeout:
            continue
        if not chunk:
            break
        data += chunk
    return data


def main():
    resp_port = ct.free_port()
    peer = ht.start_http_peer(tokens=False, secret=None, extra=["--resp", "127.0.0.1:%d" % resp_port])
    redis = socket.create_connection(("127.0.0.1", resp_port), timeout=5)
    ok(resp_ping(redis) == b"+PONG\r\n", "the Redis door answers PING (its connection takes slot 0)")

    control = Zmtp(peer.port, identity=b"plain-client")
    control.send(request(MSG_CLIENT_INFO, 1, {}))
    answers = replies_within(control, 2.5, request_id=1)
    ok(any(isinstance(a, list) and len(a) == 6 and a[1] == MSG_INFO_REPLY and a[2] == 1 for a in answers),
       "control: a hand-framed DEALER with Identity 'plain-client' gets its INFO_REPLY", [repr(answers)[:200]])
    before = ht.until(lambda: info_count(peer) if info_count(peer) >= 1 else None, COUNTER_WAIT_S)
    ok(before is not None and before >= 1, "control: its request was counted (client_info = %r)" % before)

    forger = Zmtp(peer.port, identity=b"\x00r" + struct.pack(">II", 0, 1))
    for i in range(FORGED):
        forger.send(request(MSG_CLIENT_INFO, 100 + i, {}))
    forged_answers = replies_within(forger, 1.5)
    ok(not forged_answers, "a DEALER announcing the door's origin form gets no reply", [repr(forged_answers)[:200]])

    control.close()
    control = Zmtp(peer.port, identity=b"plain-client-2")
    control.send(request(MSG_CLIENT_INFO, 2, {}))
    second = replies_within(control, 2.5, request_id=2)
    ok(any(isinstance(a, list) and len(a) == 6 and a[2] == 2 for a in second),
       "control: a second DEALER's INFO answered after them", [repr(second)[:300]])
    after = ht.until(lambda: info_count(peer) if info_count(peer) >= (before or 0) + 1 else None,
                     COUNTER_WAIT_S)
    ok(after == (before or 0) + 1,
       "the node counted the control's second request and none of the %d forged ones (client_info %r -> %r)"
       % (FORGED, before, after))
    ok(resp_ping(redis) == b"+PONG\r\n", "the Redis connection at slot 0 still answers PING with +PONG alone")
    forger.close()
    control.close()
    redis.close()
    ct.stop_all([peer])


if __name__ == "__main__":
    ct.finish(main, "chord-origin-")
