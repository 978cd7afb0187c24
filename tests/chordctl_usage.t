#!/usr/bin/env python3
"""chordctl's command line, with no server running: help, usage errors and
their exit codes, and a bounded timeout against a port nobody listens on.

Runs $CHORD_BIN/chordctl (default ./bin/chordctl)."""

import os
import socket
import subprocess
import sys
import time

CHORDCTL = os.path.join(os.environ.get("CHORD_BIN", "./bin"), "chordctl")
RUN_TIMEOUT_S = 10        # no single run may take longer than this
COMMANDS = ["put", "get", "del", "lookup", "info", "ring", "leave"]
KEY_MAX = 4096            # CHORD_KEY_MAX
VALUE_MAX = 1024 * 1024   # CHORD_VALUE_MAX

results = []


def ok(cond, name):
    results.append((bool(cond), name))


def free_port():
    """A TCP port on 127.0.0.1 that nothing listens on (bound, then released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run(args, stdin=b"", env_server=None):
    """Runs chordctl; returns (exit code, stdout, stderr, seconds), with exit
    code None when it had to be killed or could not start."""
    env = dict(os.environ)
    # Never let a developer's CHORD_SERVER reach a real ring from this test.
    env["CHORD_SERVER"] = env_server or "tcp://127.0.0.1:%d" % free_port()
    start = time.monotonic()
    try:
        proc = subprocess.run([CHORDCTL] + args, input=stdin, capture_output=True,
                              timeout=RUN_TIMEOUT_S, env=env)
    except (subprocess.TimeoutExpired, OSError) as e:
        print("# %s: %s" % (" ".join(args)[:80], e))
        return None, b"", b"", time.monotonic() - start
    return proc.returncode, proc.stdout, proc.stderr, time.monotonic() - start


def usage_error(args, name, stdin=b""):
    """One assertion: args end in exit 2 with a chordctl: line on stderr."""
    code, _, err, _ = run(args, stdin)
    ok(code == 2 and err.startswith(b"chordctl: "),
       "%s: exit 2 with a message (got %s, %r)" % (name, code, err[:100]))


code, out, err, _ = run(["--help"])
ok(code == 0, "--help exits 0 (got %s)" % code)
text = out.decode("utf-8", "replace")
for command in COMMANDS:
    ok(command in text.split(), "--help mentions %s" % command)
code, out, _, _ = run(["-h"])
ok(code == 0 and out.startswith(b"usage:"), "-h prints the usage (got %s)" % code)

usage_error([], "no command")
usage_error(["frobnicate"], "unknown command")
usage_error(["put"], "put without arguments")
usage_error(["put", "k"], "put without a value")
usage_error(["get"], "get without a key")
usage_error(["get", "a", "b"], "get with two keys")
usage_error(["--bogus", "info"], "unknown option")
usage_error(["--timeout", "abc", "get", "k"], "--timeout abc")
usage_error(["--timeout", "0", "get", "k"], "--timeout 0")
usage_error(["--timeout", "-5", "get", "k"], "--timeout -5")
usage_error(["get", "k", "--timeout"], "--timeout without a value")
usage_error(["-s", "http://127.0.0.1:1", "get", "k"], "endpoint with a bad scheme")

port = free_port()
server = "tcp://127.0.0.1:%d" % port
code, out, err, seconds = run(["-s", server, "--timeout", "300", "get", "k"])
ok(code == 3, "get with no server exits 3 (got %s)" % code)
ok(seconds < 2.0, "get with no server gives up in time (%.2f s)" % seconds)
ok(err.startswith(b"chordctl: ") and out == b"",
   "get with no server says why on stderr only (%r)" % err[:100])

code, _, err, seconds = run(["get", "k", "--timeout", "300", "--server", server])
ok(code == 3 and seconds < 2.0,
   "options after the command work (got %s in %.2f s)" % (code, seconds))

code, _, err, seconds = run(["--timeout", "300", "ring"], env_server=server)
ok(code == 3 and seconds < 2.0,
   "ring with no server exits 3 in time via $CHORD_SERVER (got %s in %.2f s)" % (code, seconds))

usage_error(["--timeout", "300", "get", "k" * (KEY_MAX + 1)], "oversize key")
usage_error(["--timeout", "300", "put", "", "v"], "empty key")
usage_error(["--timeout", "300", "put", "k", "-"], "oversize value on stdin",
            stdin=b"v" * (VALUE_MAX + 1))

code, _, _, seconds = run(["--timeout", "300", "put", "k" * KEY_MAX, "-"],
                          stdin=b"v" * VALUE_MAX)
ok(code == 3 and seconds < 2.0,
   "largest key and value pass the checks (got %s in %.2f s)" % (code, seconds))

print("1..%d" % len(results))
for number, (passed, name) in enumerate(results, 1):
    print("%sok %d - %s" % ("" if passed else "not ", number, name))
sys.exit(0 if all(passed for passed, _ in results) else 1)
