#!/usr/bin/env python3
"""The ring client (tools/ring_client.c) on a live ring: requests go straight
to each key's owner position.

Four processes with --vnodes 4 and --replicas 3 (16 positions), each with
--http, converge. Then:
- chord-bench --connect (all four) --route owner: exit 0, no errors, no
  reply saying another position served the key, and the ring's received
  STOREs (chord_messages_received_total{type="store"} summed over /metrics)
  grow by at most 2% of the operations; --route entry on the same ring: no
  errors, and STOREs grow by at least half the operations (an entry owns
  1 key in 16), so the first check can fail;
- chordctl --route owner put, get and del round-trip a key; --route bogus
  exits 2;
- a stale map: chord-bench --route owner runs while a fifth process joins;
  every operation succeeds and the client re-learns the ring at least once
  (its printed refreshes);
- an owner SIGSTOPped: chordctl --route owner get of keys whose owner
  position is in the stopped process still answers the right value, each
  within the --timeout (the client reads from a copy holder after 500 ms);
  SIGCONT after, and the process answers again.
Helpers are in tests/chordtest.py and tests/httptest.py; environment as
there (CHORD_BIN, CHORD_TEST_SEED, CHORD_TEST_SECURE, CHORD_KEEP_LOGS)."""

import concurrent.futures
import json
import os
import signal
import subprocess
import sys
import threading
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import chordtest as ct  # noqa: E402
import httptest as ht  # noqa: E402
from chordtest import Fatal, diag, ok  # noqa: E402

PROCESSES = 4
VNODES = 4
REPLICAS = 3
BENCH = os.path.join(ct.BIN, "chord-bench")
BENCH_SECONDS = 2
BENCH_RUN_S = 60            # a chord-bench run must end within this
COUNTER_WAIT_S = 1.5        # the loop publishes its counters at most every 200 ms
STOPPED_KEYS = 4            # keys read while their owner is stopped
GET_TIMEOUT_MS = 4000       # chordctl --timeout of those reads


def stores(live):
    """STORE messages received over the processes, from /metrics."""
    result = 0.0
    for peer in live:
        for name, labels, value in ht.scrape(peer.http_port)[0]:
            if name == "chord_messages_received_total" and labels.get("type") == "store":
                result += value
    return result


def bench_argv(live, route, seconds=BENCH_SECONDS):
    argv = [BENCH, "--route", route, "--seconds", str(seconds), "--inflight", "16", "--keys", "2000", "--json"]
    for peer in live:
        argv += ["--connect", peer.endpoint]
    return argv + (["--secret", ct.SECRET] if ct.SECRET else [])


def run_bench(argv):
    """Runs chord-bench; returns (exit code, its JSON or None, stderr)."""
    code, out, err = ct.run(argv, timeout=BENCH_RUN_S)
    try:
        return code, json.loads(out.decode()), ct.text(err)
    except ValueError:
        return code, None, ct.text(err) + ct.text(out)


def phase_sum(result, field):
    return sum((result.get(p) or {}).get(field, 0) for p in ("put", "get")) if result else 0


def check_routes(live):
    """Owner route: no forwarded STOREs; entry route: mostly forwarded."""
    figures = {}
    for route in ("owner", "entry"):
        before = stores(live)
        code, result, err = run_bench(bench_argv(live, route))
        time.sleep(COUNTER_WAIT_S)
        grown = stores(live) - before
        ops = phase_sum(result, "ops")
        ok(code == 0 and result and result.get("route") == route and ops > 0 and phase_sum(result, "errors") == 0,
           "chord-bench --route %s: exit 0, %d operations, no errors" % (route, ops), [err[-500:]])
        figures[route] = (ops, grown, phase_sum(result, "forwarded"))
        diag("route %s: %d operations, %d STOREs received by the ring, %d replies forwarded" % (
            route, ops, grown, figures[route][2]))
    ops, grown, forwarded = figures["owner"]
    ok(ops > 0 and grown <= 0.02 * ops and forwarded <= 0.02 * ops,
       "route owner: %d STOREs and %d forwarded replies for %d operations (at most 2%%)" % (grown, forwarded, ops))
    ops, grown, forwarded = figures["entry"]
    ok(ops > 0 and grown >= 0.5 * ops and forwarded >= 0.5 * ops,
       "route entry: %d STOREs and %d forwarded replies for %d operations (at least half)" % (grown, forwarded, ops))


def check_chordctl(live):
    key, value = "smart-client-key", b"straight to the owner"
    code, _, err = ct.ctl(live[0], "--route", "owner", "put", key, value)
    ok(code == 0, "chordctl --route owner put: exit 0", [ct.text(err)])
    code, out, err = ct.ctl(live[1], "--route", "owner", "get", key)
    ok(code == 0 and out == value, "chordctl --route owner get: the value back", [ct.text(err), repr(out)])
    code, _, err = ct.ctl(live[2], "--route", "owner", "del", key)
    ok(code == 0, "chordctl --route owner del: exit 0", [ct.text(err)])
    code, _, err = ct.ctl(live[3], "--route", "owner", "get", key)
    ok(code == 1, "chordctl --route owner get after del: exit 1 (not found)", [ct.text(err)])
    code, _, err = ct.ctl(live[0], "--route", "bogus", "get", key)
    ok(code == 2 and b"--route" in err, "chordctl --route bogus: exit 2, saying why", [ct.text(err)])


def check_stale_map(live, pool):
    """A fifth process joins while the client writes and reads."""
    proc = subprocess.Popen(bench_argv(live, "owner", seconds=4), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env=ct.ENV)
    ct.register(proc)
    timer = threading.Timer(BENCH_RUN_S, proc.kill)
    timer.start()
    try:
        time.sleep(1.0)             # the client has learnt the ring of four and writes
        joiner = ht.start_http_peer(join=live[0], vnodes=VNODES, tokens=False, extra=["--replicas", str(REPLICAS)])
        out, err = proc.communicate()
    finally:
        timer.cancel()
        ct.unregister(proc)
    live.append(joiner)
    try:
        result = json.loads(out.decode())
    except ValueError:
        result = None
    ops, errors, refreshes = phase_sum(result, "ops"), phase_sum(result, "errors"), phase_sum(result, "refreshes")
    diag("with a join: %d operations, %d errors, %d refreshes, %d forwarded, %d retries" % (
        ops, errors, refreshes, phase_sum(result, "forwarded"), phase_sum(result, "retries")))
    ok(proc.returncode == 0 and ops > 0 and errors == 0,
       "a fifth process joins during chord-bench --route owner: every operation succeeds", [ct.text(err)[-500:]])
    ok(refreshes >= 1, "the client re-learnt the ring after the join (%d refreshes)" % refreshes)
    seconds, problem = ct.wait_converged(live, pool)
    ok(seconds is not None, "the ring of %d processes converges" % len(live), [problem])


def keys_owned_by(victim, live, count):
    """count keys whose owner position belongs to victim."""
    keys = []
    for i in range(10000):
        key = "stopped-%d" % i
        owner = ct.owner_position(ct.blake(key.encode()), live)
        if owner and owner[1] is victim:
            keys.append(key)
            if len(keys) == count:
                break
    return keys


def check_stopped_owner(live):
    victim = live[2]
    keys = keys_owned_by(victim, live, STOPPED_KEYS)
    if len(keys) < STOPPED_KEYS:
        raise Fatal("found only %d keys owned by %s" % (len(keys), victim))
    put_ok = all(ct.ctl(live[0], "put", key, ("value of " + key).encode())[0] == 0 for key in keys)
    ok(put_ok, "%d keys owned by one process stored" % len(keys))
    time.sleep(0.5)                 # replication acknowledges before the answer; copies are in place
    victim.proc.send_signal(signal.SIGSTOP)
    try:
        answers = []
        for key in keys:
            start = time.monotonic()
            code, out, err = ct.ctl(live[0], "--route", "owner", "get", key, timeout_ms=GET_TIMEOUT_MS)
            answers.append((key, code, out, time.monotonic() - start, ct.text(err)))
    finally:
        victim.proc.send_signal(signal.SIGCONT)
    good = [a for a in answers if a[1] == 0 and a[2] == ("value of " + a[0]).encode()]
    slowest = max(a[3] for a in answers)
    diag("reads with the owner stopped took %s s" % ", ".join("%.2f" % a[3] for a in answers))
    ok(len(good) == len(answers) and slowest < GET_TIMEOUT_MS / 1000 + 1,
       "owner SIGSTOPped: %d of %d reads answered from the copies, the slowest in %.2f s" % (
           len(good), len(answers), slowest), ["%s: exit %s %s" % (a[0], a[1], a[4]) for a in answers])
    code, out, err = ct.ctl(victim, "get", keys[0])
    ok(code == 0, "after SIGCONT the stopped process answers again", [ct.text(err)])


def main():
    pool = concurrent.futures.ThreadPoolExecutor(max_workers=ct.WORKERS)
    try:
        if not os.access(BENCH, os.X_OK):
            raise Fatal("%s is not an executable: build first or set CHORD_BIN" % BENCH)
        live = ht.start_ring(PROCESSES, pool, vnodes=VNODES, tokens=False, extra=["--replicas", str(REPLICAS)])
        seconds, problem = ct.wait_converged(live, pool)
        ok(seconds is not None, "the ring of %d processes x %d positions converges" % (PROCESSES, VNODES), [problem])
        check_routes(live)
        check_chordctl(live)
        check_stale_map(live, pool)
        check_stopped_owner(live)
        ct.stop_all(live)
    finally:
        pool.shutdown(wait=True)


if __name__ == "__main__":
    ct.finish(main, "chord-smart-client-")
