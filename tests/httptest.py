"""Helpers shared by the TAP tests of chordd's HTTP side (tests/http.t,
http_kv.t, ring_walk.t, metrics.t, dashboard.t, http_auth.t), over
tests/chordtest.py: one request function (tokens by role, bodies, chunked
uploads, another host or source address), JSON and Prometheus text parsing,
promtool, bounded waiting, and chordd processes with --http on free
loopback ports, alone or as a ring.

A test imports it beside chordtest, with its own directory on sys.path:

    import chordtest as ct
    import httptest as ht

It reads chordtest's state (SECRET, HTTP_TOKENS, rng, TMPDIR, ...) when
called, never at import, so a test may set that state in any order."""

import http.client
import json
import os
import re
import shutil
import socket
import subprocess
import time
import urllib.parse

import chordtest as ct
from chordtest import Fatal, diag

JSON_TYPE = "application/json"
METRIC_LABELS = {"type", "reason", "op", "status", "kind", "le"}    # every label name /metrics uses
SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$')
LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


def request(port, path, method="GET", body=None, headers=None, role=None, timeout_s=5, chunked=False,
            host="127.0.0.1", source=None):
    """One HTTP request to host:port; returns (status, headers {lower name:
    value}, body bytes), with status None and the error as body when the
    request failed. role ("read", "write", "admin") adds that role's bearer
    token when the ring has HTTP tokens (ct.http_headers); headers are added
    over it. chunked sends body (an iterable) chunked; source is the local
    address to send from."""
    conn = http.client.HTTPConnection(host, port, timeout=timeout_s,
                                      source_address=(source, 0) if source else None)
    try:
        conn.request(method, path, body=body, headers=dict(ct.http_headers(role) if role else {}, **(headers or {})),
                     encode_chunked=chunked)
        reply = conn.getresponse()
        return reply.status, {k.lower(): v for k, v in reply.getheaders()}, reply.read()
    except (OSError, http.client.HTTPException) as e:
        return None, {}, str(e).encode()
    finally:
        conn.close()


def head(port, path, role=None, timeout_s=5):
    """HEAD path over a raw socket (http.client would skip a body sent by
    mistake); returns (status, headers {lower name: value}, the bytes that
    came after the headers before the server closed), or (None, {}, error)."""
    request = b"HEAD %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n%s\r\n" % (
        path.encode(), header_lines(role) if role else b"")
    data = b""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout_s) as sock:
            sock.sendall(request)
            deadline = time.monotonic() + timeout_s
            while time.monotonic() < deadline:
                chunk = sock.recv(65536)
                if not chunk:
                    break
                data += chunk
    except OSError as e:
        return None, {}, str(e).encode()
    head_text, _, rest = data.partition(b"\r\n\r\n")
    lines = head_text.decode("latin-1").split("\r\n")
    try:
        status = int(lines[0].split()[1])
    except (IndexError, ValueError):
        return None, {}, data[:200]
    headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
    return status, headers, rest


def header_lines(role):
    """The Authorization header of role as raw request lines (b"" without
    tokens), for tests that write HTTP on a socket themselves."""
    return "".join("%s: %s\r\n" % kv for kv in ct.http_headers(role).items()).encode()


def json_of(body):
    """body parsed as JSON, or None when it is not JSON."""
    try:
        return json.loads(body)
    except ValueError:
        return None


def error_of(body):
    """The "error" of a JSON object body ("" when it has none), or None when body is no JSON object."""
    doc = json_of(body)
    return (doc.get("error") or "") if isinstance(doc, dict) else None


def kv_path(key):
    """/v1/kv/{key}, key (bytes or str) escaped whole."""
    return "/v1/kv/" + urllib.parse.quote(key, safe="")


def lookup_path(key):
    """/v1/lookup/{key}, key (bytes or str) escaped whole."""
    return "/v1/lookup/" + urllib.parse.quote(key, safe="")


def until(fn, bound_s, interval_s=0.1):
    """Calls fn every interval_s until it returns something true or bound_s
    passes; returns the last result."""
    deadline = time.monotonic() + bound_s
    while True:
        result = fn()
        if result or time.monotonic() >= deadline:
            return result
        time.sleep(interval_s)


def parse_metrics(body):
    """[(name, {label: value}, float)]: the samples of a Prometheus text body."""
    samples = []
    for line in ct.text(body).splitlines():
        match = SAMPLE.match(line)
        if match:
            samples.append((match.group(1), dict(LABEL.findall(match.group(2) or "")), float(match.group(3))))
    return samples


def scrape(port, role=None, timeout_s=5):
    """(samples as parse_metrics gives them, body) of GET /metrics; ([], body)
    when it did not answer 200, ([], b"") when the request failed."""
    status, _, body = request(port, "/metrics", role=role, timeout_s=timeout_s)
    if status is None:
        return [], b""
    return (parse_metrics(body) if status == 200 else []), body


def sum_by_name(samples):
    """{sample name: its values summed over the labelled series}."""
    sums = {}
    for name, _, value in samples:
        sums[name] = sums.get(name, 0.0) + value
    return sums


def promtool_check(body):
    """(exit code, output text) of `promtool check metrics` on body; None
    when promtool is not on PATH (Debian package prometheus)."""
    promtool = shutil.which("promtool")
    if not promtool:
        return None
    proc = subprocess.run([promtool, "check", "metrics"], input=body, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, timeout=30)
    return proc.returncode, ct.text(proc.stdout)


def start_http_peer(join=None, vnodes=None, extra=(), tokens=True, data_dir=False, http_host="127.0.0.1",
                    secret=ct.DEFAULT):
    """A chordd with --http HTTP_HOST:<free port> (peer.http_port), then
    extra; with the ring's HTTP tokens file when tokens (ct.http_token_args:
    none on an open ring) and --data-dir TMPDIR/data-PORT when data_dir.
    Retries when either port was taken meanwhile; raises Fatal when it
    cannot start."""
    for attempt in range(8):
        port, http_port = ct.free_port(), ct.free_port()
        args = ["--http", "%s:%d" % (http_host, http_port)] + (ct.http_token_args() if tokens else []) + list(extra)
        if data_dir:
            args += ["--data-dir", os.path.join(ct.TMPDIR, "data-%d" % port)]
        argv = ct.chordd_argv(port, join, vnodes, args, secret=secret)
        peer, outcome = ct.spawn(port, argv, "peer%d-%d.log" % (len(ct.all_peers), port), vnodes)
        if outcome == "listening":
            peer.http_port = http_port
            return peer
        if outcome == "silent" or b"in use" not in peer.log():
            raise Fatal("%s did not start (%s): %r" % (peer, outcome, peer.log()[-300:]))
        diag("a port was taken before chordd bound it; retrying (attempt %d)" % (attempt + 1))
    raise Fatal("could not start a peer: every port tried was taken")


def start_joining_peer():
    """A process with 2 positions whose --join seed never answers; with
    --placement first it does not walk the ring, so its positions stay joining."""
    nobody = ct.Peer(-1, ct.free_port(), None, os.devnull)
    return start_http_peer(join=nobody, extra=["--placement", "first", "--vnodes", "2"])


def start_ring(count, pool, join_first=False, each=None, **peer_args):
    """Starts count processes with start_http_peer(**peer_args), one at a
    time, each joining a random one started before it (the first one, with
    join_first), and waits after each until the ring has taken it in, as
    seen through it; raises Fatal when it does not. each(n, peer), when
    given, runs between a process's start and that wait. Returns the peers."""
    live = []
    for n in range(count):
        seed = (live[0] if join_first else ct.rng.choice(live)) if live else None
        live.append(start_http_peer(join=seed, **peer_args))
        if each:
            each(n, live[-1])
        seconds, problem = ct.wait_converged(live, pool, vias=[live[-1]])
        if seconds is None:
            raise Fatal("the ring did not take in process %d: %s" % (n, problem))
    return live
