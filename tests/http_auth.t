#!/usr/bin/env python3
"""HTTP roles end to end: bearer tokens (--http-tokens), 401 and 403, the
probes' loopback exemption, SIGHUP, and the command line.

chordctl keygen --http-token makes the tokens: the line for the file, the
token alone with --file, nothing printed with --token-file (and --keep).
One secured process serves HTTP on 0.0.0.0 with a tokens file holding a
read and a write token. From 127.0.0.1: /healthz, /readyz and /metrics
answer 200 with no token; /v1/info answers 401 with WWW-Authenticate:
Bearer realm="chord" and a JSON error without a token, with an unknown one
and with another scheme, and 200 with the read token. From this host's
non-loopback address (skipped when it has none): the probes answer 401
without a token and 200 with the read token. A PUT to /v1/kv/KEY with the
read token is 403 and with the write token not refused (when the route
exists on this build; else noted as a skip). SIGHUP: a token added to the
file is admitted, one removed is refused, and a file made readable by
others is refused in the log while the tokens held before still work. An
open ring (no --secret) asks for no token. On the command line,
--http-tokens without --secret or without --http, a file others may read
and a bad line all exit 2, the last naming file:line.

Helpers are in tests/chordtest.py and tests/httptest.py; environment as
there (CHORD_BIN, CHORD_TEST_SEED, CHORD_KEEP_LOGS). Always secured (it
tests the secured rules), whatever CHORD_TEST_SECURE says."""
import os
import re
import signal
import socket
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import chordtest as ct  # noqa: E402
import httptest as ht  # noqa: E402
from chordtest import ok  # noqa: E402
from httptest import JSON_TYPE, error_of, until  # noqa: E402

HTTP_TIMEOUT_S = 5
RELOAD_S = 5                # a SIGHUP is handled within this
BEARER = 'Bearer realm="chord"'


def request(host, port, path, token=None, method="GET", source=None, scheme="Bearer"):
    """ht.request with token (under scheme) and nothing else; from source (an address) when given."""
    return ht.request(port, path, method, body=b"v" if method == "PUT" else None,
                      headers={"Authorization": "%s %s" % (scheme, token)} if token else {},
                      timeout_s=HTTP_TIMEOUT_S, host=host, source=source)


def outside_address():
    """This host's address on its default route, if it is not loopback; else None."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            s.connect(("192.0.2.1", 9))          # no packet is sent: this only picks a route
            address = s.getsockname()[0]
        except OSError:
            return None
    return None if address.startswith("127.") else address


def check_keygen():
    path = os.path.join(ct.TMPDIR, "keygen.tokens")
    code, out, err = ct.run([ct.CHORDCTL, "keygen", "--http-token", "read"])
    line = ct.text(out).strip()
    ok(code == 0 and re.fullmatch(r"read [A-Za-z0-9_-]{43}", line), "keygen --http-token read prints 'read TOKEN'",
       [line, ct.text(err)])
    code, out, err = ct.run([ct.CHORDCTL, "keygen", "--http-token", "write", "--file", path])
    token = ct.text(out).strip()
    with open(path) as f:
        content = f.read()
    ok(code == 0 and re.fullmatch(r"[A-Za-z0-9_-]{43}", token) and content == "write %s\n" % token and
       os.stat(path).st_mode & 0o777 == 0o600,
       "--file appends 'write TOKEN' to a file of mode 0600 and prints the token alone", [ct.text(err)])
    alone = os.path.join(ct.TMPDIR, "alone.token")
    argv = [ct.CHORDCTL, "keygen", "--http-token", "read", "--file", path, "--token-file", alone, "--keep"]
    code, out, _ = ct.run(argv)
    with open(alone) as f:
        kept = f.read().strip()
    with open(path) as f:
        lines = f.read().splitlines()
    code2, out2, _ = ct.run(argv)
    with open(path) as f:
        again = f.read().splitlines()
    ok(code == 0 and not out and lines[-1] == "read " + kept and code2 == 0 and not out2 and again == lines,
       "--token-file writes the token alone and prints nothing; with --keep a second run changes nothing")
    code, _, err = ct.run([ct.CHORDCTL, "keygen", "--http-token", "peer"])
    ok(code == 2 and b"read, write or admin" in err, "keygen --http-token peer: exit 2", [ct.text(err)])


def check_command_line(tokens):
    port = ct.free_port()
    base = [ct.CHORDD, "--listen", "tcp://127.0.0.1:%d" % port]
    http = ["--http", "127.0.0.1:%d" % ct.free_port()]
    secret = ["--secret", ct.SECRET]
    bad_line = os.path.join(ct.TMPDIR, "bad.tokens")
    with open(bad_line, "w") as f:
        f.write("# a comment\nread short\n")
    os.chmod(bad_line, 0o600)
    readable = os.path.join(ct.TMPDIR, "readable.tokens")
    with open(readable, "w") as f:
        f.write("read %s\n" % ("r" * 40))
    os.chmod(readable, 0o644)
    cases = [(base + http + ["--http-tokens", tokens], b"needs --secret"),
             (base + secret + ["--http-tokens", tokens], b"needs --secret and --http"),
             (base + secret + http + ["--http-tokens", readable], b"chmod 600"),
             (base + secret + http + ["--http-tokens", bad_line], b"bad.tokens:2"),
             (base + secret + http + ["--http-tokens", os.path.join(ct.TMPDIR, "missing")], b"cannot open")]
    problems = []
    for argv, want in cases:
        code, _, err = ct.run(argv, timeout=15)
        if code != 2 or want not in err:
            problems.append("%s: exit %s: %s" % (" ".join(argv[3:]), code, ct.text(err)[-200:]))
    ok(not problems, "--http-tokens without --secret or --http, readable by others, with a bad line or missing: "
       "exit 2 with the reason", problems)


def check_loopback(port, read):
    problems = []
    for path in ("/healthz", "/readyz", "/metrics"):
        status, _, body = request("127.0.0.1", port, path)
        if status != 200:
            problems.append("%s: %s %r" % (path, status, body[:100]))
    ok(not problems, "from 127.0.0.1, /healthz, /readyz and /metrics answer 200 without a token", problems)
    problems = []
    for token, scheme, what in ((None, "Bearer", "no token"), ("x" * 43, "Bearer", "an unknown token"),
                                (read, "Basic", "the read token as Basic")):
        status, headers, body = request("127.0.0.1", port, "/v1/info", token, scheme=scheme)
        if (status != 401 or headers.get("www-authenticate") != BEARER or
                headers.get("content-type") != JSON_TYPE or not (error_of(body) or "").startswith("unauthorized")):
            problems.append("%s: %s %s %r" % (what, status, headers, body))
    ok(not problems, "/v1/info with no token, an unknown one or another scheme: 401, WWW-Authenticate: %s, "
       "a JSON error" % BEARER, problems)
    status, _, body = request("127.0.0.1", port, "/v1/info", read)
    ok(status == 200 and b"positions" in body, "/v1/info with the read token: 200", [status, body[:200]])


def check_outside(port, read):
    address = outside_address()
    if not address:
        ok(True, "probes from a non-loopback address # SKIP this host has no non-loopback IPv4 address")
        return
    problems = []
    for path in ("/healthz", "/readyz", "/metrics"):
        status, headers, body = request(address, port, path, source=address)
        if status != 401 or headers.get("www-authenticate") != BEARER:
            problems.append("%s without a token: %s %r" % (path, status, body[:100]))
        status, _, body = request(address, port, path, read, source=address)
        if status != 200:
            problems.append("%s with the read token: %s %r" % (path, status, body[:100]))
    ok(not problems, "from %s (not loopback), the probes answer 401 without a token and 200 with the read "
       "token" % address, problems)


def check_roles(port, read, write):
    status, _, body = request("127.0.0.1", port, "/v1/kv/http-auth", write, method="PUT")
    if status == 404:
        ok(True, "PUT /v1/kv/KEY: 403 with a read token # SKIP this build has no /v1/kv/ route")
        return
    ok(status is not None and status not in (401, 403), "PUT /v1/kv/KEY with the write token is not refused "
       "(%s)" % status, [body[:200]])
    status, _, body = request("127.0.0.1", port, "/v1/kv/http-auth", read, method="PUT")
    ok(status == 403 and (error_of(body) or "").startswith("forbidden"),
       "PUT /v1/kv/KEY with the read token: 403 forbidden", [status, body[:200]])
    status, _, body = request("127.0.0.1", port, "/v1/kv/http-auth", read)
    ok(status == 200 and body == b"v", "GET /v1/kv/KEY with the read token: 200 and the value",
       [status, body[:200]])


def check_sighup(peer, port, path, read, write):
    fresh = ct.keygen("--http-token", "read", "--file", path)
    ok(request("127.0.0.1", port, "/v1/info", fresh)[0] == 401, "a token added to the file is refused before SIGHUP")
    peer.proc.send_signal(signal.SIGHUP)
    ok(until(lambda: request("127.0.0.1", port, "/v1/info", fresh)[0] == 200, RELOAD_S),
       "after SIGHUP the added token is admitted")
    with open(path, "w") as f:
        f.write("write %s\nread %s\n" % (write, fresh))
    peer.proc.send_signal(signal.SIGHUP)
    ok(until(lambda: request("127.0.0.1", port, "/v1/info", read)[0] == 401, RELOAD_S) and
       request("127.0.0.1", port, "/v1/info", write)[0] == 200,
       "after SIGHUP a token removed from the file is refused, the others still admitted")
    os.chmod(path, 0o644)
    peer.proc.send_signal(signal.SIGHUP)
    logged = until(lambda: b"keeping the tokens held before" in peer.log(), RELOAD_S)
    ok(logged and request("127.0.0.1", port, "/v1/info", fresh)[0] == 200,
       "a SIGHUP on a file others may read logs the refusal and keeps the tokens held before")
    os.chmod(path, 0o600)
    ok(b"http: SIGHUP: re-read" in peer.log() and read.encode() not in peer.log() and
       fresh.encode() not in peer.log(), "the log says what was re-read and never shows a token")


def main():
    check_keygen()
    path = os.path.join(ct.TMPDIR, "ring.tokens")
    read = ct.keygen("--http-token", "read", "--file", path)
    write = ct.keygen("--http-token", "write", "--file", path)
    check_command_line(path)
    peer = ht.start_http_peer(vnodes=1, extra=["--http-tokens", path], tokens=False, http_host="0.0.0.0")
    port = peer.http_port
    ok(until(lambda: request("127.0.0.1", port, "/readyz")[0] == 200, 10), "the secured process is ready")
    ok(b"1 read, 1 write and 0 admin tokens" in peer.log(), "it logs how many tokens of each role it holds")
    check_loopback(port, read)
    check_outside(port, read)
    check_roles(port, read, write)
    check_sighup(peer, port, path, read, write)
    ct.stop_gracefully(peer)
    open_peer = ht.start_http_peer(vnodes=1, tokens=False, secret=None)
    status, _, body = request("127.0.0.1", open_peer.http_port, "/v1/info")
    ok(status == 200, "an open ring: /v1/info answers without a token", [status, body[:200]])
    ct.stop_gracefully(open_peer)


if __name__ == "__main__":
    os.environ.pop("CHORD_TEST_SECURE", None)
    ct.finish(main, "chord-http-auth-", secured=True)
