#!/usr/bin/env python3
"""The ring walk that never stalls: GET /v1/ring, chordctl status, ring and
health (tools/ring_walk.c, tools/ring_view.c, daemon/http_ring.c).

Four processes (4 positions each, secured, R = 3) start with --http.
Checked: /v1/ring lists every position in id order with the endpoint of
the process holding it, all active, the walk complete; each position's
"owns" is its arc from the position before it over 2^160, computed here
independently, and they sum to 1 (within 1e-9); each process's
owns_effective sums its positions' and all of them sum to min(R, 4) = 3;
chordctl status --json gives the same positions and shares; ten concurrent
/v1/ring requests get one shared walk (the same "walk" number, one past
the last, and byte-identical documents), a request within 500 ms gets it
again, and one after walks anew.

Then one process is stopped (SIGSTOP). The peers run with a long
--rpc-timeout-ms, so the ring keeps it as a member (does not route around
it) while the checks run: /v1/ring and chordctl ring each answer within
3 s and mark its 4 positions down (and only those), chordctl status shows
the process DN, the arcs still sum to 1; chordctl health exits 0 on a
live process and 3 on the stopped one. The process is resumed (SIGCONT),
the ring converges again, and it leaves cleanly (the others are killed). Last, a process whose --join seed never
answers stays joining: chordctl health exits 3 and says so.

Helpers are in tests/chordtest.py and tests/httptest.py; environment as
there (CHORD_BIN, CHORD_TEST_SEED, CHORD_TEST_SECURE, CHORD_KEEP_LOGS)."""
import concurrent.futures
import os
import signal
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import chordtest as ct  # noqa: E402
import httptest as ht  # noqa: E402
from chordtest import ok  # noqa: E402
from httptest import json_of  # noqa: E402

PROCESSES = 4
REPLICAS = 3
PUTS = 40
TABS = 10                   # concurrent /v1/ring requests that must share one walk
ANSWER_WITHIN_S = 3.0       # /v1/ring and chordctl ring with a stopped process
HTTP_TIMEOUT_S = 10
EPSILON = 1e-9
RING = 2 ** 160


def request(port, path):
    """(status, body bytes, seconds) of a GET; status None when the request failed."""
    start = time.monotonic()
    status, _, body = ht.request(port, path, role="read", timeout_s=HTTP_TIMEOUT_S)     # /v1/ring needs read
    return status, body, time.monotonic() - start


def expected_owns(live):
    """{position id hex: its arc over 2^160}, from the ids alone."""
    ring = ct.positions(live)
    ids = [int.from_bytes(pid, "big") for pid, _ in ring]
    return {pid.hex(): ((ids[i] - ids[i - 1]) % RING) / RING for i, (pid, _) in enumerate(ring)}


def ring_problems(doc, live, down=()):
    """Why the /v1/ring document doc does not describe the live ring (the
    processes in down stopped), as a list; empty when it does."""
    if not isinstance(doc, dict):
        return ["not a JSON object: %r" % doc]
    problems = []
    ring = ct.positions(live)
    want = [(pid.hex(), p.endpoint, "down" if p in down else "active") for pid, p in ring]
    got = [(q.get("id"), q.get("endpoint"), q.get("state")) for q in doc.get("positions", [])]
    if got != want:
        problems.append("positions %s, want %s" % (got, want))
    if doc.get("complete") is not True or doc.get("replicas") != REPLICAS:
        problems.append("complete %r replicas %r" % (doc.get("complete"), doc.get("replicas")))
    owns = expected_owns(live)
    positions = doc.get("positions", [])
    off = [q.get("id") for q in positions if abs((q.get("owns") or 0) - owns.get(q.get("id"), -1)) > 1e-12]
    if off:
        problems.append("owns differ from the arcs computed here for %s" % off)
    total = sum(q.get("owns") or 0 for q in positions)
    if abs(total - 1) > EPSILON:
        problems.append("owns sums to %r" % total)
    processes = doc.get("processes", [])
    by_endpoint = {p.get("endpoint"): p for p in processes}
    if sorted(by_endpoint) != sorted(p.endpoint for p in live) or len(processes) != len(live):
        problems.append("processes %s" % sorted(by_endpoint))
    for peer in live:
        entry = by_endpoint.get(peer.endpoint, {})
        mine = [q for q in positions if q.get("endpoint") == peer.endpoint]
        state = "down" if peer in down else "active"
        if (entry.get("positions") != peer.vnodes or entry.get("state") != state or
                abs(entry.get("owns", -1) - sum(q["owns"] for q in mine)) > EPSILON or
                abs(entry.get("owns_effective", -1) - sum(q["owns_effective"] for q in mine)) > EPSILON):
            problems.append("process %s: %s" % (peer.endpoint, entry))
    effective = sum(p.get("owns_effective") or 0 for p in processes)
    if abs(effective - min(REPLICAS, len(live))) > EPSILON:
        problems.append("owns_effective sums to %r over the processes, want %d" % (effective,
                                                                                   min(REPLICAS, len(live))))
    return problems


def check_converged_ring(live, pool):
    status, body, _ = request(live[0].http_port, "/v1/ring")
    doc = json_of(body)
    problems = ring_problems(doc, live) if status == 200 else ["status %s: %r" % (status, body[:300])]
    ok(not problems, "/v1/ring: %d positions in id order, active, complete; owns are the arcs, summing to 1; "
       "owns_effective sums to min(R, N) = %d" % (PROCESSES * 4, min(REPLICAS, PROCESSES)), problems)
    census = [q for q in (doc or {}).get("positions", []) if "keys_owned" in q and "bytes" in q and
              "keys_replica" in q and "tombstones" in q and "predecessor" in q and "successor" in q]
    ok(doc and len(census) == len(doc["positions"]), "every position carries its census fields (null without one)")

    code, out, err = ct.ctl(live[1], "--json", "status")
    mine = json_of(out) if code == 0 else None
    problems = ring_problems(mine, live) if mine else ["exit %s: %s" % (code, ct.text(err))]
    same = mine and doc and [(q["id"], q["owns"], q["owns_effective"]) for q in mine["positions"]] == \
        [(q["id"], q["owns"], q["owns_effective"]) for q in doc["positions"]]
    ok(not problems and same, "chordctl status --json (through another process) agrees with /v1/ring", problems)

    code, out, err = ct.ctl(live[2], "status")
    lines = ct.text(out).splitlines()
    rows = [line for line in lines if line.startswith("UN ")]
    ok(code == 0 and len(rows) == PROCESSES and all(any(p.endpoint in r for r in rows) for p in live),
       "chordctl status: one UN line per process", lines)

    time.sleep(0.6)         # past the cached walk: the tabs below share a new one
    before = (json_of(request(live[0].http_port, "/v1/ring")[1]) or {}).get("walk")
    time.sleep(0.6)
    replies = list(pool.map(lambda _: request(live[0].http_port, "/v1/ring"), range(TABS)))
    walks = [(json_of(b) or {}).get("walk") for _, b, _ in replies]
    ok(all(s == 200 for s, _, _ in replies) and len(set(walks)) == 1 and isinstance(before, int) and
       walks[0] == before + 1 and len({b for _, b, _ in replies}) == 1,
       "%d concurrent /v1/ring requests share one new walk (walk %s after %s, identical documents)" % (
           TABS, walks[0], before), ["%s %r" % (s, b[:80]) for s, b, _ in replies])
    again = (json_of(request(live[0].http_port, "/v1/ring")[1]) or {}).get("walk")
    time.sleep(0.6)
    later = (json_of(request(live[0].http_port, "/v1/ring")[1]) or {}).get("walk")
    ok(again == walks[0] and isinstance(later, int) and later == again + 1,
       "a request right after is served that walk again (%s); one 0.6 s later walks anew (%s)" % (again, later))


def check_stopped(live, stopped):
    os.kill(stopped.proc.pid, signal.SIGSTOP)
    try:
        time.sleep(0.6)     # past the cached walk
        status, body, seconds = request(live[0].http_port, "/v1/ring")
        doc = json_of(body)
        problems = ring_problems(doc, live, down=[stopped]) if status == 200 else ["status %s" % status]
        ok(not problems and seconds < ANSWER_WITHIN_S, "with %s stopped, /v1/ring answers in %.2f s (< %.0f s) "
           "and marks its %d positions down, only those; the arcs still sum to 1" % (
               stopped, seconds, ANSWER_WITHIN_S, stopped.vnodes), problems)

        start = time.monotonic()
        code, out, err = ct.ctl(live[0], "ring")
        seconds = time.monotonic() - start
        down = sorted(line.split()[0] for line in ct.text(out).splitlines() if line.endswith(" down"))
        ok(code == 0 and seconds < ANSWER_WITHIN_S and down == sorted(i.hex() for i in stopped.ids) and
           b"did not answer" in err,
           "chordctl ring answers in %.2f s and shows the stopped process's positions down" % seconds,
           [ct.text(out), ct.text(err)])

        code, out, err = ct.ctl(live[0], "status")
        rows = ct.text(out).splitlines()
        ok(code == 0 and any(r.startswith("DN ") and stopped.endpoint in r for r in rows) and
           sum(r.startswith("UN ") for r in rows) == PROCESSES - 1,
           "chordctl status: the stopped process DN, the others UN", rows)

        code, out, err = ct.ctl(live[0], "health")
        ok(code == 0 and ct.text(out).startswith("ready"), "chordctl health on a live process: exit 0, ready",
           [code, ct.text(out), ct.text(err)])
        code, out, err = ct.ctl(stopped, "health", timeout_ms=1000)
        ok(code == 3 and ct.text(out).startswith("not ready"), "chordctl health on the stopped process: exit 3",
           [code, ct.text(out), ct.text(err)])
    finally:
        os.kill(stopped.proc.pid, signal.SIGCONT)


def stop_resumed(live, stopped, pool):
    """The resumed process leaves on SIGTERM and the others close the ring
    behind it. They are then killed, not asked to leave: with the long RPC
    timeout they run with, a position handing its keys to one that left a
    moment before (still deep in its successor list) would wait that long."""
    code, seconds = ct.stop_gracefully(stopped)
    live.remove(stopped)
    ok(code == 0, "the resumed process leaves on SIGTERM with exit 0 (%s in %.1f s)" % (code, seconds))
    seconds, problem = ct.wait_converged(live, pool)
    ok(seconds is not None, "the other %d processes close the ring behind it" % len(live), [problem])


def check_never_joined():
    """A process whose seed never answers keeps its positions joining."""
    peer = ht.start_joining_peer()
    code, out, err = ct.ctl(peer, "health")
    ok(code == 3 and b"joining" in out, "chordctl health on a process whose seed never answered: exit 3, joining",
       [code, ct.text(out), ct.text(err)])
    ct.stop_gracefully(peer)


def main():
    # The ring must keep a stopped process as a member while the checks
    # run, so a peer is suspected only after 20 s of silence.
    ct.RPC_TIMEOUT_MS = 20000
    pool = concurrent.futures.ThreadPoolExecutor(max_workers=TABS)
    try:
        live = ht.start_ring(PROCESSES, pool, join_first=True)
        seconds, problem = ct.wait_converged(live, pool)
        ok(seconds is not None, "the ring of %d processes converges" % PROCESSES, [problem])
        failures = [f for f in (ct.do_put(ct.rng.choice(live), b"walk-%d" % i, b"value-%d" % i)
                                for i in range(PUTS)) if f]
        ok(not failures, "%d puts" % PUTS, failures[:5])
        check_converged_ring(live, pool)
        check_stopped(live, live[-1])
        seconds, problem = ct.wait_converged(live, pool)
        ok(seconds is not None, "once resumed, the stopped process is in the converged ring again", [problem])
        stop_resumed(live, live[-1], pool)
        check_never_joined()
    finally:
        pool.shutdown(wait=True)


if __name__ == "__main__":
    ct.finish(main, "chord-ringwalk-", secured=True)
