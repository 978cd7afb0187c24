#!/usr/bin/env python3
"""Balanced rings by default: chordd with no placement options holds 4
positions, picked among the 64 candidate ids BLAKE2b(ENDPOINT#i) so that
every process owns about the same share of the ring.

Six processes start one after the other with default options, each once the
ring has taken in the last (so each walks the whole ring before it picks).
Every position's id must be BLAKE2b of ENDPOINT#i with i under 64 (anyone can
check it); each process must log how it placed its positions; the ring
walked by chordctl must hold the 24 positions; and every process must own
between 0.75 and 1.33 times the mean share (chord-sim --scenario balance
finds 99.8% of random 6-process rings so; one position each, 0%). The same
endpoints with one position each are reported beside it. A process started
with --join to a seed that never answers still comes up (positions spread
as for a new ring, with a warning) rather than never listening.

Helpers are in tests/chordtest.py; environment as there (CHORD_BIN,
CHORD_TEST_SEED, CHORD_TEST_SECURE, CHORD_KEEP_LOGS)."""
import concurrent.futures
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import chordtest as ct  # noqa: E402
from chordtest import Fatal, diag, ok  # noqa: E402

PROCESSES = 6
LEAST, MOST = 0.75, 1.33
DEAD_SEED_START_S = 20      # 4 walks of a silent seed, with waits of 0.25-1 s between
rng = ct.rng


def shares(live):
    """{endpoint: share of the ring owned}, from the positions the processes logged."""
    ring = ct.positions(live)
    owned = {p.endpoint: 0 for p in live}
    for i, (pid, peer) in enumerate(ring):
        before = int.from_bytes(ring[i - 1][0], "big")
        owned[peer.endpoint] += ((int.from_bytes(pid, "big") - before) % (1 << 160)) / float(1 << 160)
    return owned


def one_position_shares(live):
    """The same endpoints with position 0 each, as chordd placed them before."""
    ids = sorted((ct.position_id(p.endpoint, 0), p.endpoint) for p in live)
    return {ep: ((int.from_bytes(pid, "big") - int.from_bytes(ids[i - 1][0], "big")) % (1 << 160)) / float(1 << 160)
            for i, (pid, ep) in enumerate(ids)}


def main():
    pool = concurrent.futures.ThreadPoolExecutor(max_workers=ct.WORKERS)
    try:
        live = []
        for n in range(PROCESSES):
            live.append(ct.start_peer(join=rng.choice(live) if live else None))
            seconds, problem = ct.wait_converged(live, pool, vias=[live[-1]])
            if seconds is None:
                raise Fatal("the ring did not take in process %d: %s" % (n, problem))
        ok(all(p.vnodes == 4 and all(0 <= i < 64 for i in p.indices) for p in live),
           "with default options every process holds 4 positions, each numbered under 64 (%s)" %
           [p.indices for p in live])
        placed = [p for p in live if b"placement: " in p.log()]
        ok(len(placed) == PROCESSES, "every process logs how it placed its positions (%d of %d)" % (
            len(placed), PROCESSES))
        walked = [p for p in live[1:] if b"placement: the ring has" in p.log()]
        ok(len(walked) == PROCESSES - 1, "every joiner walked the ring before it picked (%d of %d)" % (
            len(walked), PROCESSES - 1))
        seconds, problem = ct.wait_converged(live, pool)
        ok(seconds is not None, "the ring of %d positions converges, as seen through every process" %
           (4 * PROCESSES), [problem])

        owned = shares(live)
        mean = 1.0 / PROCESSES
        ratios = sorted(v / mean for v in owned.values())
        ok(ratios[0] >= LEAST and ratios[-1] <= MOST,
           "every process owns %.2f-%.2fx the mean share (least %.2f, most %.2f)" % (
               LEAST, MOST, ratios[0], ratios[-1]), ["%s: %.3f" % kv for kv in sorted(owned.items())])
        single = sorted(v / mean for v in one_position_shares(live).values())
        diag("the same %d endpoints with one position each: least %.2f, most %.2f of the mean" % (
            PROCESSES, single[0], single[-1]))

        # A seed that never answers: the process still comes up, and says why.
        nobody = ct.Peer(-1, ct.free_port(), None, os.devnull)
        port = ct.free_port()
        dead, outcome = ct.spawn(port, ct.chordd_argv(port, join=nobody), "dead-seed-%d.log" % port,
                                 timeout_s=DEAD_SEED_START_S)
        ok(outcome == "listening" and b"could not walk the ring" in dead.log() and dead.vnodes == 4,
           "with a seed that never answers, chordd still listens within %d s, with 4 positions spread and a "
           "warning (%s)" % (DEAD_SEED_START_S, outcome), [ct.text(dead.log())[-400:]])
        if outcome == "listening":
            ct.stop_gracefully(dead)
        ct.stop_all(live)
    finally:
        pool.shutdown(wait=True)


if __name__ == "__main__":
    ct.finish(main, "chord-placement-", secured=True)
