#!/usr/bin/env python3
"""tools/bench-compare end to end, in its tiny mode: one round, 2000
redis-benchmark requests, one-second phases, 4 peers and 4 OpenDHT nodes.
It must exit 0 and print the table with every row it promises (OpenDHT's
only when /usr/bin/python3 has python3-opendht), each with positive rates,
ratios that are its rates over its reference's, the commands it ran, and
leave no server listening behind it. Skipped without redis-server or
redis-benchmark (make deps installs them).

Runs tools/bench-compare with $CHORD_BIN (default ./bin)."""

import os
import re
import shutil
import socket
import subprocess

HERE = os.path.dirname(os.path.abspath(__file__))
SCRIPT = os.path.join(HERE, "..", "tools", "bench-compare")
RUN_TIMEOUT_S = 120
LOADS = ("-c 50", "-c 1", "-c 50 -P 16")
NUMBER = r"(\d+(?:\.\d+)?)"

results = []


def ok(cond, name):
    results.append((bool(cond), name))
    return bool(cond)


def finish():
    print("1..%d" % len(results))
    for number, (passed, name) in enumerate(results, 1):
        print("%sok %d - %s" % ("" if passed else "not ", number, name))
    raise SystemExit(0 if all(passed for passed, _ in results) else 1)


def has_opendht():
    try:
        return subprocess.run(["/usr/bin/python3", "-c", "import opendht"], capture_output=True,
                              timeout=30).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def table_rows(out):
    """{(system, load): [cells after load]} of the table's rows."""
    rows = {}
    for line in out.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if line.startswith("| ") and len(cells) == 9 and cells[0] != "system":
            rows[(cells[0], cells[1])] = cells[2:]
    return rows


def check_row(rows, system_re, load, reference=None):
    """The row whose system matches system_re at load: positive put/s and get/s;
    with reference (its system, load), ratios equal to the rates' quotients."""
    found = [(key, cells) for key, cells in rows.items() if re.match(system_re, key[0]) and key[1] == load]
    if not ok(found, "a %s row at %s" % (system_re, load)):
        return []
    for (system, _), cells in found:
        rates = [re.fullmatch(NUMBER, c) for c in cells[:2]]
        ok(all(rates) and all(float(r.group(1)) > 0 for r in rates),
           "%s at %s: put/s and get/s > 0 (got %s)" % (system, load, cells[:2]))
        if reference is None or reference not in rows or not all(rates):
            continue
        theirs = [re.fullmatch(NUMBER, c) for c in rows[reference][:2]]
        ratios = [re.fullmatch(NUMBER, c) for c in cells[4:6]]
        if ok(all(theirs) and all(ratios), "%s at %s: numeric ratios (got %s)" % (system, load, cells[4:6])):
            # the printed rates are rounded to units: allow for that besides the 2 decimals
            want = [float(m.group(1)) / float(t.group(1)) for m, t in zip(rates, theirs)]
            slack = [0.006 + w / float(t.group(1)) for w, t in zip(want, theirs)]
            ok(all(abs(float(r.group(1)) - w) <= s for r, w, s in zip(ratios, want, slack)),
               "%s at %s: ratios %s are its rates over %s's %s" % (
                   system, load, cells[4:6], reference[0], rows[reference][:2]))
    return found


def listening(port):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


def main():
    if not (shutil.which("redis-server") and shutil.which("redis-benchmark")):
        print("1..0 # SKIP no redis-server or redis-benchmark (make deps)")
        return
    dht = has_opendht()
    systems = "redis,chord" + (",opendht" if dht else "")
    env = dict(os.environ, ROUNDS="1", N="2000", SECONDS="1", PEERS="4", SYSTEMS=systems)
    env.setdefault("CHORD_BIN", "./bin")
    try:
        proc = subprocess.run([SCRIPT], capture_output=True, timeout=RUN_TIMEOUT_S, env=env)
        code, out, err = proc.returncode, proc.stdout.decode("utf-8", "replace"), \
            proc.stderr.decode("utf-8", "replace")
    except subprocess.TimeoutExpired as e:
        code, out, err = None, (e.stdout or b"").decode("utf-8", "replace"), "timed out"
    for line in out.splitlines():
        print("# " + line)
    for line in err.splitlines():
        print("# stderr: " + line)

    ok(code == 0, "SYSTEMS=%s ROUNDS=1 N=2000 SECONDS=1 PEERS=4 tools/bench-compare exits 0 within %d s (got %s)"
       % (systems, RUN_TIMEOUT_S, code))
    ok(re.search(r"^machine: nproc \d+ .*load average at start [\d.]+", out, re.M), "machine facts")
    rows = table_rows(out)
    if dht:
        check_row(rows, r"opendht \d", "4 nodes, 64 in flight")
        reference = next((key for key in rows if key[0].startswith("opendht")), None)
    else:
        reference = None
        print("# no python3-opendht for /usr/bin/python3: no OpenDHT row")
    for (system, load), _ in check_row(rows, r"chord", "4 peers R=3, 64 in flight", reference):
        ok("--route" not in system or re.search(r"chord-bench .*--route", out), "%s: its command listed" % system)
    for load in LOADS:
        check_row(rows, r"redis-server$", load)
        check_row(rows, r"chordd --resp$", load, ("redis-server", load))
        ok(re.search(r"^  redis-benchmark .* --csv %s$" % re.escape(load), out, re.M),
           "the redis-benchmark command at %s listed" % load)
    ok(re.search(r"^  \S*chord-bench --peers 4 --inflight 64 --value-size 100 --seconds 1 --json", out, re.M),
       "the chord-bench command listed")
    ports = [int(p) for flag in ("--port ", "--listen tcp://127.0.0.1:", "--resp 127.0.0.1:")
             for p in re.findall(r"^  server: .*%s(\d+)" % re.escape(flag), out, re.M)]
    ok(len(ports) == 3 and not any(listening(p) for p in ports),
       "the servers' ports %s are closed after the run" % ports)
    finish()


if __name__ == "__main__":
    main()
