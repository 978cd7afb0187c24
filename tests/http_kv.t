#!/usr/bin/env python3
"""chordd --http: keys over HTTP (GET, HEAD, PUT, DELETE /v1/kv/{key}), lookups
with the key's replicas (GET /v1/lookup/{key}) and chordctl replicas.

Three processes (secured, each with --http) form a ring. Checked: put, get
and delete round trips over HTTP, with a binary key (%00, %FF) and a 1 MiB
value, byte-exact; a value written over HTTP is read by chordctl and one
written by chordctl is read over HTTP; 404 for a missing key (GET and
DELETE); 413 for a PUT announcing 1 MiB + 1 byte, before its body is sent (a
chunked body passing 1 MiB: 413 or its connection closed), after which the
process still answers; 400 for a bad escape and an empty key, 414 for a key
over 4096 bytes; 405 with Allow: GET, HEAD, PUT, DELETE; /v1/lookup agrees with
chordctl lookup --json (id, owner), names R-1 replicas, each a process other
than the owner's and each other's, the positions the test's model of the
placement expects, and chordctl replicas (text and --json) agrees with it;
50 slow clients sending a PUT body a byte a second do not stop a GET from
answering within 2 s; a process still joining answers 503 "not ready".

Helpers are in tests/chordtest.py and tests/httptest.py; environment as
there (CHORD_BIN, CHORD_TEST_SEED, CHORD_TEST_SECURE, CHORD_KEEP_LOGS)."""
import concurrent.futures
import os
import socket
import sys
import threading
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import chordtest as ct  # noqa: E402
import httptest as ht  # noqa: E402
from chordtest import Fatal, ok  # noqa: E402
from httptest import json_of, kv_path, until  # noqa: E402

PROCESSES = 3
VALUE_MAX = 1024 * 1024
KEY_MAX = 4096
SLOW_CLIENTS = 50
SLOW_SECONDS = 4
GET_WITHIN_S = 2.0
SNAPSHOT_WAIT_S = 5.0
HTTP_TIMEOUT_S = 10


def request(port, path, method="GET", body=None, headers=None, chunked=False):
    """ht.request; on a secured ring with the write token (tests/http_auth.t checks the roles)."""
    return ht.request(port, path, method, body, headers, role="write", timeout_s=HTTP_TIMEOUT_S, chunked=chunked)


def check_round_trips(live):
    a, b = live[0], live[1]
    key = b"\x00http\xffkey"
    path = kv_path(key)
    value = bytes(range(256)) * 7
    put = request(a.http_port, path, "PUT", value)
    got = request(b.http_port, path)
    ok(put[0] == 204 and got[0] == 200 and got[2] == value and
       got[1].get("content-type") == "application/octet-stream",
       "a binary key (%00, %FF) and value: PUT 204 on one process, GET 200 byte-exact on another",
       [put[:3:2], got[0], got[1].get("content-type"), len(got[2])])
    status, headers, rest = ht.head(b.http_port, path, role="read", timeout_s=HTTP_TIMEOUT_S)
    ok(status == 200 and headers.get("content-length") == str(len(value)) and rest == b"",
       "HEAD of the key: 200, Content-Length of the value, no body", [status, headers, len(rest)])
    deleted = request(b.http_port, path, "DELETE")
    gone = request(a.http_port, path)
    again = request(a.http_port, path, "DELETE")
    head_gone = ht.head(a.http_port, path, role="read", timeout_s=HTTP_TIMEOUT_S)
    ok(deleted[0] == 204 and gone[0] == 404 and json_of(gone[2]) == {"error": "not found"} and again[0] == 404 and
       head_gone[0] == 404 and head_gone[2] == b"",
       "DELETE 204, then GET 404 {\"error\":\"not found\"}, HEAD 404 without a body and DELETE 404",
       [deleted[:3:2], gone[:3:2], again[0], head_gone[0]])

    big = os.urandom(VALUE_MAX)
    put = request(a.http_port, kv_path(b"big \xffvalue"), "PUT", big)
    code, out, err = ct.ctl(b, "get", b"big \xffvalue")
    ok(put[0] == 204 and code == 0 and out == big,
       "a 1 MiB value PUT over HTTP is read back byte-exact by chordctl get", [put[:3:2], code, len(out), err])
    big2 = os.urandom(VALUE_MAX)
    code, _, err = ct.ctl(a, "put", "from-chordctl", "-", stdin=big2)
    got = request(b.http_port, kv_path(b"from-chordctl"))
    ok(code == 0 and got[0] == 200 and got[2] == big2,
       "a 1 MiB value put by chordctl is read back byte-exact over HTTP", [code, err, got[0], len(got[2])])
    empty = request(a.http_port, kv_path(b"empty"), "PUT", b"")
    got = request(a.http_port, kv_path(b"empty"))
    ok(empty[0] == 204 and got[0] == 200 and got[2] == b"", "an empty value round-trips", [empty[0], got[:3:2]])
    plus = request(a.http_port, "/v1/kv/a+b", "PUT", b"plus")
    code, out, _ = ct.ctl(b, "get", "a+b")
    ok(plus[0] == 204 and code == 0 and out == b"plus", "'+' in a key path is a plus", [plus[0], code, out])


def announce_only(port, path, length):
    """Sends a PUT's headers announcing length bytes and no body; returns
    (status, None, body) of the answer, or (None, None, why). (Sending the
    body too would race the answer: the server closes once it has replied.)"""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=HTTP_TIMEOUT_S) as s:
            s.sendall(b"PUT %s HTTP/1.1\r\nHost: x\r\n%sContent-Length: %d\r\n\r\n" % (
                path.encode(), ht.header_lines("write"), length))
            data = b""
            while b"\r\n\r\n" not in data or len(data.split(b"\r\n\r\n", 1)[1]) == 0:
                chunk = s.recv(4096)
                if not chunk:
                    break
                data += chunk
    except OSError as e:
        return None, None, str(e).encode()
    head, _, body = data.partition(b"\r\n\r\n")
    parts = head.split(b" ", 2)
    return (int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else None), None, body


def check_errors(peer):
    port = peer.http_port
    over = announce_only(port, kv_path(b"too-big"), VALUE_MAX + 1)
    after = request(port, "/healthz")
    missing = request(port, kv_path(b"too-big"))
    ok(over[0] == 413 and json_of(over[2]) is not None and after[0] == 200 and missing[0] == 404,
       "a PUT announcing 1 MiB + 1 byte: 413 with a JSON error before a byte of the body is sent; the process "
       "answers after, and nothing was stored",
       [over[:3:2], after[0], missing[0]])
    chunks = iter([b"y" * 65536] * 16 + [b"y"])
    over = request(port, kv_path(b"too-big-chunked"), "PUT", chunks, chunked=True)
    after = request(port, "/healthz")
    missing = request(port, kv_path(b"too-big-chunked"))
    ok(over[0] in (413, None) and after[0] == 200 and missing[0] == 404,
       "a chunked body passing 1 MiB: 413 or the connection closed; the process answers after, nothing stored",
       [over[:3:2], after[0], missing[0]])
    problems = []
    for path, want in [("/v1/kv/a%zz", 400), ("/v1/kv/a%4", 400), ("/v1/kv/%", 400), ("/v1/kv/", 400),
                       ("/v1/lookup/%g0", 400), ("/v1/lookup/", 400),
                       ("/v1/kv/" + "k" * (KEY_MAX + 1), 414), ("/v1/lookup/" + "k" * (KEY_MAX + 1), 414)]:
        status, headers, body = request(port, path)
        if status != want or headers.get("content-type") != "application/json" or "error" not in (json_of(body) or {}):
            problems.append("%s: %s %r" % (path[:40], status, body[:80]))
    longest = request(port, kv_path(b"k" * KEY_MAX), "PUT", b"v")
    if longest[0] != 204:
        problems.append("a %d-byte key: %s %r" % (KEY_MAX, longest[0], longest[2]))
    ok(not problems, "bad escapes and empty keys 400, keys over 4096 bytes 414, with JSON errors; "
       "a 4096-byte key is taken", problems)
    status, headers, body = request(port, kv_path(b"k"), "POST", b"x")
    ok(status == 405 and headers.get("allow") == "GET, HEAD, PUT, DELETE" and json_of(body) is not None,
       "POST /v1/kv/{key}: 405 with Allow: GET, HEAD, PUT, DELETE", [status, headers.get("allow"), body])
    status, headers, _ = request(port, "/v1/lookup/k", "PUT", b"x")
    healthz = request(port, "/healthz")
    metrics = request(port, "/metrics")
    ok(status == 405 and headers.get("allow") == "GET, HEAD" and healthz[0] == 200 and metrics[0] == 200,
       "PUT /v1/lookup/{key}: 405 with Allow: GET, HEAD; /healthz and /metrics still match", [status, healthz[0],
                                                                                   metrics[0]])


def check_lookup(live):
    problems = []
    by_endpoint = {p.endpoint: p for p in live}
    for i in range(8):
        key = ("lookup-%d-%d" % (i, ct.rng.randrange(1 << 30))).encode()
        peer = live[i % len(live)]
        status, _, body = request(peer.http_port, ht.lookup_path(key))
        got = json_of(body) or {}
        code, out, err = ct.ctl(peer, "lookup", "--json", key)
        ctl_json = json_of(out) or {}
        replicas = got.get("replicas") or []
        owner = got.get("owner") or {}
        endpoints = [r.get("endpoint") for r in replicas]
        expected = [pid.hex() for pid in ct.holder_positions(bytes.fromhex(got.get("id", "00" * 20)), live)]
        if status != 200 or code != 0:
            problems.append("%r: HTTP %s %r; chordctl exit %s %r" % (key, status, body[:100], code, err[-100:]))
        elif (got.get("id"), owner) != (ctl_json.get("id"), ctl_json.get("owner")) or \
                got.get("key") != key.decode() or got.get("key_hex") != key.hex() or \
                not isinstance(got.get("hops"), int):
            problems.append("%r: /v1/lookup %s, chordctl lookup %s" % (key, got, ctl_json))
        elif len(replicas) != live[0].replicas - 1 or len(set(endpoints)) != len(endpoints) or \
                owner.get("endpoint") in endpoints or not all(e in by_endpoint for e in endpoints):
            problems.append("%r: replicas %s of owner %s: want %d distinct other processes" % (
                key, endpoints, owner.get("endpoint"), live[0].replicas - 1))
        elif [owner.get("id")] + [r.get("id") for r in replicas] != expected:
            problems.append("%r: holders %s, the model expects %s" % (
                key, [owner.get("id")] + [r.get("id") for r in replicas], expected))
        else:
            problems += check_replicas_command(peer, key, got)
    ok(not problems, "/v1/lookup/{key} agrees with chordctl lookup --json, names %d replicas on distinct other "
       "processes, as the placement model expects, and chordctl replicas agrees (8 keys)" % (
           live[0].replicas - 1), problems)


def check_replicas_command(peer, key, got):
    code, out, err = ct.ctl(peer, "replicas", "--json", key)
    mine = json_of(out) or {}
    problems = []
    if code != 0 or {k: v for k, v in mine.items() if k != "hops"} != {k: v for k, v in got.items() if k != "hops"}:
        problems.append("%r: chordctl replicas --json exit %s %s, /v1/lookup %s" % (key, code, out[:300], got))
    code, out, err = ct.ctl(peer, "replicas", key)
    lines = [tuple(line.split()) for line in ct.text(out).splitlines()]
    want = [(p["id"], p["endpoint"]) for p in [got["owner"]] + got["replicas"]]
    if code != 0 or lines != want:
        problems.append("%r: chordctl replicas exit %s: %s, want %s" % (key, code, lines, want))
    return problems


def slow_client(port, stop, sockets):
    """Sends a PUT's headers announcing 100 bytes, then a byte a second until stop is set."""
    try:
        s = socket.create_connection(("127.0.0.1", port), timeout=5)
    except OSError:
        return
    sockets.append(s)
    try:
        s.sendall(b"PUT /v1/kv/slow HTTP/1.1\r\nHost: x\r\n" + ht.header_lines("write") +
                  b"Content-Length: 100\r\n\r\n")
        while not stop.wait(1.0):
            s.sendall(b"x")
    except OSError:
        pass


def check_slow_clients(peer):
    code, _, err = ct.ctl(peer, "put", "during-slow", "fine")
    stop, sockets = threading.Event(), []
    threads = [threading.Thread(target=slow_client, args=(peer.http_port, stop, sockets), daemon=True)
               for _ in range(SLOW_CLIENTS)]
    for t in threads:
        t.start()
    time.sleep(1.5)
    worst, problems = 0.0, []
    try:
        for _ in range(SLOW_SECONDS):
            start = time.monotonic()
            status, _, body = request(peer.http_port, kv_path(b"during-slow"))
            took = time.monotonic() - start
            worst = max(worst, took)
            if status != 200 or body != b"fine" or took > GET_WITHIN_S:
                problems.append("GET %s %r in %.2f s" % (status, body[:60], took))
            time.sleep(0.5)
    finally:
        stop.set()
        for t in threads:
            t.join(5)
        for s in sockets:
            s.close()
    ok(code == 0 and not problems and len(sockets) == SLOW_CLIENTS,
       "%d clients sending a PUT body a byte a second: a GET answers within %.0f s (slowest %.3f s)" % (
           SLOW_CLIENTS, GET_WITHIN_S, worst), [code, err, len(sockets)] + problems)


def check_not_ready():
    peer = ht.start_joining_peer()
    result = until(lambda: (lambda r: r if r[0] == 503 else None)(request(peer.http_port, kv_path(b"k"))),
                   SNAPSHOT_WAIT_S) or request(peer.http_port, kv_path(b"k"))
    status, _, body = result
    error = (json_of(body) or {}).get("error", "")
    lookup = request(peer.http_port, "/v1/lookup/k")
    ok(status == 503 and error.startswith("not ready: ") and "joining" in error and lookup[0] == 503,
       "a process still joining: GET /v1/kv/{key} and /v1/lookup 503 {\"error\": \"not ready: ...\"}",
       [status, body, lookup[:3:2]])
    ct.stop_gracefully(peer)


def main():
    pool = concurrent.futures.ThreadPoolExecutor(max_workers=ct.WORKERS)
    try:
        check_not_ready()
        live = ht.start_ring(PROCESSES, pool)
        seconds, problem = ct.wait_converged(live, pool)
        if seconds is None:
            raise Fatal("the ring of %d processes did not converge: %s" % (PROCESSES, problem))
        ready = until(lambda: all(request(p.http_port, "/readyz")[0] == 200 for p in live), SNAPSHOT_WAIT_S)
        if not ready:
            raise Fatal("not every process is ready")
        check_round_trips(live)
        check_errors(live[0])
        check_lookup(live)
        check_slow_clients(live[1])
        ct.stop_all(live)
    finally:
        pool.shutdown(wait=True)


if __name__ == "__main__":
    ct.finish(main, "chord-http-kv-", secured=True)
