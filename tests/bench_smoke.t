#!/usr/bin/env python3
"""chord-bench end to end, briefly: a ring of two peers, eight requests in
flight, one second per phase. It must exit 0 and print a put line and a get
line, each with a positive rate and no errors.

Runs $CHORD_BIN/chord-bench (default ./bin/chord-bench), which starts the
chordd next to it."""

import os
import re
import subprocess

BENCH = os.path.join(os.environ.get("CHORD_BIN", "./bin"), "chord-bench")
ARGS = ["--peers", "2", "--inflight", "8", "--seconds", "1"]
RUN_TIMEOUT_S = 60
# put: 2 peers, 8 in flight, 100-byte values: 1234 ops in 1.00 s = 1234 ops/s, ..., 0 errors
PHASE_RE = r"^%s: .*= (\d+(?:\.\d+)?) ops/s, .*, (\d+) errors"

results = []


def ok(cond, name):
    results.append((bool(cond), name))


try:
    proc = subprocess.run([BENCH] + ARGS, capture_output=True, timeout=RUN_TIMEOUT_S)
    code, out, err = proc.returncode, proc.stdout.decode("utf-8", "replace"), \
        proc.stderr.decode("utf-8", "replace")
except subprocess.TimeoutExpired as e:
    code, out, err = None, (e.stdout or b"").decode("utf-8", "replace"), "timed out"
except OSError as e:
    code, out, err = None, "", str(e)

for line in out.splitlines():
    print("# " + line)
for line in err.splitlines():
    print("# stderr: " + line)

ok(code == 0, "chord-bench %s exits 0 within %d s (got %s)" % (" ".join(ARGS), RUN_TIMEOUT_S, code))
for phase in ("put", "get"):
    match = re.search(PHASE_RE % phase, out, re.MULTILINE)
    ok(match is not None, "a %s line with ops/s and errors" % phase)
    ok(match is not None and float(match.group(1)) > 0, "%s: positive ops/s" % phase)
    ok(match is not None and int(match.group(2)) == 0, "%s: 0 errors" % phase)

print("1..%d" % len(results))
for number, (passed, name) in enumerate(results, 1):
    print("%sok %d - %s" % ("" if passed else "not ", number, name))
raise SystemExit(0 if all(passed for passed, _ in results) else 1)
