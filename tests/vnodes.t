#!/usr/bin/env python3
"""Virtual nodes on a live ring: chordd --vnodes V holds V ring positions in
one process. The peers share a cluster secret (CHORD_TEST_SECURE=0 runs
them open). Position 0 has id BLAKE2b-160(endpoint), position i >= 1 has id
BLAKE2b-160(endpoint + "#" + str(i)); all share the process's socket. Which
V of the 64 a process holds its placement picks (balanced, the default); the
test reads them from the process's log and checks each id is BLAKE2b of its
endpoint#i. A key belongs to successor(BLAKE2b-160(key)) among all positions
of all processes.

Starts 4 processes with --vnodes 4 (16 positions), each joining through a
random earlier one, and waits for `chordctl ring --json` through every
process to list exactly the 16 ids logged, in ring order from that
process's first position, with consistent predecessors, successors and
endpoints (and the text form of chordctl ring agrees). Stores 300 keys
(random binary values; UTF-8 keys; keys whose bytes are "ENDPOINT#i", so
their id is exactly a position's id) through random processes, reads each
back through another process, checks every owner (lookup --json) against
successor over the 16 ids and the per-position key counts of ring --json. Then: SIGTERM one process (exit 0, its keys
handed to positions of other processes, 12 positions, all keys and owners
right); a new process with --vnodes 2 (14 positions); a process with
--vnodes 1 (a mixed ring of 15 positions); SIGTERM of the --vnodes 2
process in the mixed ring (13 positions). A separate two-process ring
(--vnodes 1 and --vnodes 4) checks a leave where a position's whole
successor list is in its own process (its keys must still reach the
other process). A lone
--vnodes 64 process converges to 64 positions; --vnodes 0, 65 and other bad
values exit 2 with a message. At the end every process leaves on SIGTERM
with exit 0, and no sanitizer report may appear.

Helpers (processes killed by PID on every exit path, bounded waits, log tails
as diagnostics, the retry after a false suspicion) are in tests/chordtest.py.
Runs $CHORD_BIN/chordd and $CHORD_BIN/chordctl (default ./bin); standard
library only. Environment: CHORD_TEST_SEED fixes the random choices (not the
ports); CHORD_TEST_WORKERS sets how many chordctl run at once;
CHORD_TEST_WATCHDOG_S bounds the whole run (default 170 s); CHORD_KEEP_LOGS=1
keeps the daemon logs even when everything passed."""

import concurrent.futures
import json
import os
import re
import sys
import time

sys.dont_write_bytecode = True         # no tests/__pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import chordtest as ct                                  # noqa: E402
from chordtest import Fatal, blake, diag, ok, short     # noqa: E402

PROCESSES = 4               # processes in the first ring
VNODES = 4                  # --vnodes of each of them
KEYS = 300
SUCCESSORS = 3              # --successors (r) where a test sets it

ct.STABILIZE_MS = 100
ct.RPC_TIMEOUT_MS = 300

rng = ct.rng


def make_data(live):
    """KEYS keys with random non-empty binary values (1 byte to 65 KiB). Some
    keys are UTF-8, some have spaces, and one per process is the text whose
    hash is one of its position ids ("ENDPOINT" or "ENDPOINT#i")."""
    data = {}
    for peer in live:
        index = peer.indices[peer.number % peer.vnodes]
        name = peer.endpoint if index == 0 else "%s#%d" % (peer.endpoint, index)
        data[name.encode()] = bytes(rng.getrandbits(8) for _ in range(rng.randrange(1, 100)))
    i = 0
    while len(data) < KEYS:
        key = ct.sample_key(i, "vkey")
        data[key] = ct.sample_value(i, [1, 2, 255, 256, 4096])
        i += 1
    return data


def check_infos(live, what):
    """chordctl info (no target) through each process describes its position 0, active."""
    problems = []
    for p in live:
        code, out, err = ct.ctl(p, "--json", "info")
        try:
            info = json.loads(out) if code == 0 else {}
        except ValueError:
            info = {}
        if (code != 0 or info.get("id") != p.id.hex() or info.get("endpoint") != p.endpoint
                or info.get("state") != "active"):
            problems.append("info via %s: exit %s, id %s endpoint %s state %s %s" % (
                p, code, str(info.get("id"))[:8], info.get("endpoint"), info.get("state"), ct.text(err)))
    ok(not problems, "%s: info through each process describes its position 0, active" % what, problems)


def check_plain_ring(via, live, what):
    """chordctl ring (text) through via: one line per position, in ring order
    from via's position 0, each "ID ENDPOINT pred=ID succ=ID keys=N" with the
    position's own id and the endpoint of the process holding it."""
    code, out, err = ct.ctl(via, "ring")
    ring = ct.positions(live)
    ids = [pid for pid, _ in ring]
    start = ids.index(via.id)
    holder = dict(ring)
    want = [(pid.hex(), holder[pid].endpoint) for pid in ids[start:] + ids[:start]]
    lines = out.decode("utf-8", "replace").splitlines()
    got = [tuple(line.split()[:2]) for line in lines]
    shape = all(re.fullmatch(r"[0-9a-f]{40} \S+ pred=[0-9a-f]{40} succ=[0-9a-f]{40} keys=\d+", line)
                for line in lines)
    ok(code == 0 and got == want and shape, "%s: chordctl ring (text) through %s prints %d lines, each with its "
       "position's id and its process's endpoint" % (what, via, len(want)),
       ["exit %s: %s" % (code, ct.text(err))] + lines[:20])


def converge(live, pool, what, fatal=True):
    seconds, problem = ct.wait_converged(live, pool)
    n = len(ct.positions(live))
    good = ok(seconds is not None, "%s: the ring converges to %d positions (vnodes %s) within %d s, as seen "
              "through each of the %d processes" % (what, n, "+".join(str(p.vnodes) for p in live),
                                                    ct.CONVERGE_S, len(live)), [problem])
    if good:
        diag("%s: converged in %.2f s" % (what, seconds))
    elif fatal:
        raise Fatal("no ring to go on with")
    return good


def leave(victim, live, pool, data, what):
    """SIGTERMs victim; checks its exit, its hand-offs, then the ring and the data without it."""
    code, seconds = ct.stop_gracefully(victim)
    ok(code == 0, "%s: SIGTERM: %s leaves and exits 0 within %d s (exit %s after %.2f s)" % (
        what, victim, ct.LEAVE_S, code, seconds))
    log = victim.log()
    errors = [line for line in log.splitlines() if b"no successor took" in line]
    targets = re.findall(rb"handing \d+ keys to \S+ \((\S+)\) before leaving", log)
    # Positions leave one at a time and may hand their keys to a position of
    # their own that leaves after them; the last hand-off must leave the process.
    last_foreign = bool(targets) and targets[-1] != victim.endpoint.encode()
    ok(not errors and len(targets) == victim.vnodes and last_foreign,
       "%s: the %d positions of %s handed off one by one, the last to another process (%d hand-offs logged)" % (
           what, victim.vnodes, victim, len(targets)),
       [e.decode("utf-8", "replace") for e in errors] + ["the last hand-off stayed in the process"] * (not last_foreign))
    live.remove(victim)
    converge(live, pool, what)
    ct.check_all(pool, data, live, what)
    ct.check_counts(list(data), live, what, churned=True)


def test_boundary_keys(data, live, pool):
    """A key whose id equals a position id is owned by that very position."""
    names = {}
    for p in live:
        for i, pid in zip(p.indices, p.ids):
            names[(p.endpoint if i == 0 else "%s#%d" % (p.endpoint, i)).encode()] = (pid, p)
    keys = [k for k in data if k in names]
    asks = [(via, k) for k in keys for via in live]
    problems = [q for q in pool.map(lambda a: ct.do_lookup(a[0], a[1], live), asks) if q]
    ok(keys and not problems and all(ct.owner_position(blake(k), live)[0] == names[k][0] for k in keys),
       "the %d keys named ENDPOINT[#i], whose id is exactly a position's id, are owned by that position, as "
       "lookups through every process say" % len(keys), problems[:5])


def test_stranded_leave(pool):
    """A ring of Q (--vnodes 1) and P (--vnodes 4): P's positions are
    consecutive, so the first after Q has 3 successors all in P. P leaves on
    SIGTERM; every key must still read back through Q."""
    # 3 successors, below the default for 4 positions: the case under test.
    q = ct.start_peer(vnodes=1, extra=("--successors", str(SUCCESSORS)))
    p = ct.start_peer(join=q, vnodes=4, extra=("--successors", str(SUCCESSORS)))
    pair = [q, p]
    if not converge(pair, pool, "two-process ring (vnodes 1+4)", fatal=False):
        return
    ring = ct.positions(pair)
    first = ring[([pid for pid, _ in ring].index(q.id) + 1) % len(ring)][0]
    mine, others, i = [], [], 0          # 5 keys that position owns, 35 others
    while len(mine) < 5 or len(others) < 35:
        key = ("pair-key-%d-%08x" % (i, rng.getrandbits(32))).encode()
        (mine if ct.owner_position(blake(key), pair)[0] == first else others).append(key)
        i += 1
    data = {k: bytes(rng.getrandbits(8) for _ in range(rng.randrange(1, 64))) for k in mine[:5] + others[:35]}
    problems = [x for x in pool.map(lambda k: ct.do_put(rng.choice(pair), k, data[k]), data) if x]
    ok(not problems, "two-process ring: %d puts exit 0" % len(data), problems[:5])
    ct.check_counts(list(data), pair, "two-process ring")
    code, seconds = ct.stop_gracefully(p)
    ok(code == 0, "two-process ring: SIGTERM: %s exits 0 within %d s (exit %s after %.2f s)" % (
        p, ct.LEAVE_S, code, seconds))
    converge([q], pool, "two-process ring after the leave", fatal=False)
    problems = [x for x in pool.map(lambda k: ct.do_get(q, k, data[k]), data) if x]
    errors = [line.decode("utf-8", "replace") for line in p.log().splitlines() if b"no successor took" in line]
    owned = sum(1 for k in data if ct.owner_position(blake(k), pair)[0] == first)
    ok(not problems and not errors,
       "two-process ring: after %s left, all %d keys read back through %s, including the %d of its position "
       "%s, whose %d successors were all its own (%d wrong)" % (
           p, len(data), q, owned, short(first), SUCCESSORS, len(problems)),
       errors + problems[:5])
    ct.stop_gracefully(q)


def test_command_line(pool):
    lone = ct.start_peer(vnodes=64)
    converge([lone], pool, "a lone process with --vnodes 64 (the maximum)", fatal=False)
    code, seconds = ct.stop_gracefully(lone)
    ok(code == 0, "the --vnodes 64 process exits 0 on SIGTERM (exit %s after %.2f s)" % (code, seconds))
    for value in ("0", "65", "-1", "abc", "4x", ""):
        port = ct.free_port()
        code, out, err = ct.run([ct.CHORDD, "--listen", "tcp://127.0.0.1:%d" % port, "--vnodes", value],
                                timeout=5)
        ok(code == 2 and b"--vnodes" in err, "chordd --vnodes %r exits 2 with a message (got %s, %r)" % (
            value, code, (err or out)[-200:]))


def main():
    pool = concurrent.futures.ThreadPoolExecutor(max_workers=ct.WORKERS)
    try:
        # 1. Four processes of four positions each.
        live = []
        for _ in range(PROCESSES):
            live.append(ct.start_peer(join=rng.choice(live) if live else None, vnodes=VNODES))
        converge(live, pool, "%d processes x --vnodes %d" % (PROCESSES, VNODES))
        check_infos(live, "16 positions")
        check_plain_ring(rng.choice(live), live, "16 positions")
        diag("positions in ring order: " + " ".join(
            "%s:p%d" % (short(pid), p.number) for pid, p in ct.positions(live)))

        # 2. 300 keys through random processes, read back through others, owners checked.
        data = make_data(live)
        writers = {key: rng.choice(live) for key in data}
        t0 = time.monotonic()
        problems = ct.checked("puts", lambda k: ct.do_put(writers[k], k, data[k]), list(data), live, pool)
        ok(not problems, "all %d puts through random processes exit 0 (%d failed)" % (len(data), len(problems)),
           problems[:10])
        diag("%d puts in %.2f s" % (len(data), time.monotonic() - t0))
        readers = [(rng.choice([p for p in live if p is not writers[k]]), k) for k in data]
        problems = ct.checked("gets", lambda a: ct.do_get(a[0], a[1], data[a[1]]), readers, live, pool)
        ok(not problems, "every key reads back exact bytes through a process other than its writer (%d wrong)" %
           len(problems), problems[:10])
        hops = []
        askers = [(rng.choice(live), k) for k in data]
        problems = ct.checked("lookups", lambda a: ct.do_lookup(a[0], a[1], live, hops), askers, live, pool)
        ok(not problems, "lookup --json names successor(BLAKE2b-160(key)) over the 16 positions, and the endpoint "
           "of the process holding it, for all %d keys (%d wrong)" % (len(data), len(problems)), problems[:10])
        if hops:
            diag("lookup hops: mean %.2f, max %d" % (sum(hops) / len(hops), max(hops)))
        test_boundary_keys(data, live, pool)
        ct.check_counts(list(data), live, "16 positions")
        per_process = {p.number: 0 for p in live}
        for k in data:
            per_process[ct.owner_position(blake(k), live)[1].number] += 1
        diag("keys per process: %s" % per_process)

        # 3. One process leaves on SIGTERM.
        victim = rng.choice(live)
        leave(victim, live, pool, data, "after %s left" % victim)

        # 4. A new process with --vnodes 2.
        newcomer = ct.start_peer(join=rng.choice(live), vnodes=2)
        live.append(newcomer)
        converge(live, pool, "after %s joined" % newcomer)
        ct.check_all(pool, data, live, "after %s joined" % newcomer)
        ct.check_counts(list(data), live, "after %s joined" % newcomer, churned=True)

        # 5. A mixed ring: a process with --vnodes 1 among the others.
        single = ct.start_peer(join=rng.choice(live), vnodes=1)
        live.append(single)
        converge(live, pool, "mixed ring, after %s joined" % single)
        check_infos(live, "mixed ring")
        check_plain_ring(single, live, "mixed ring")
        ct.check_all(pool, data, live, "mixed ring")
        ct.check_counts(list(data), live, "mixed ring", churned=True)

        # 6. The --vnodes 2 process leaves the mixed ring.
        leave(newcomer, live, pool, data, "mixed ring, after %s left" % newcomer)

        # 7. A leave where a position's whole successor list is its own.
        test_stranded_leave(pool)

        # 8. The command line.
        test_command_line(pool)

        # 9. Every process leaves on SIGTERM, one at a time, so sanitizers get to report at exit.
        ct.stop_all(live)
    finally:
        pool.shutdown(wait=True)


if __name__ == "__main__":
    ct.finish(main, "chord-vnodes-", secured=True)
