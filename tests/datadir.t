#!/usr/bin/env python3
"""chordd --data-dir: each ring position's keys kept on disk (LMDB) in
DIR/pos-<i>, restored when the peer restarts, and a directory never served
under another name. The peers share a cluster secret (CHORD_TEST_SECURE=0
runs them open).

A lone peer with --data-dir stores 200 keys (random binary values, some of
64 KiB; UTF-8 keys; keys with spaces) and deletes 10 of them; a second chordd
on the same directory, started meanwhile, is refused ("in use"). The peer is
SIGKILLed and restarted with the same directory and endpoint: it logs that
it takes the same positions again and restores 190 records (200 where
deletes leave tombstones), every key reads back with its exact value, and
the deleted ones stay deleted. After a graceful stop, the same directory under
another endpoint is refused, naming the directory; so are a directory whose
pos-0/data.mdb is random bytes, an unrelated non-empty directory and a
regular file. Every refused start exits non-zero, within a bounded wait,
before it listens. A store capped by --store-max-mb 1 takes 64 KiB values
until a put fails: chordctl then exits non-zero with a message (not on its
timeout), the daemon lives on, and every acknowledged key reads back. A
peer with --vnodes 3 --no-fsync makes a pos-<i> store for each position it
picked, each storing exactly the keys it owns, and a SIGKILL and restart
restores them all; restarting such a directory with --vnodes 2 keeps its 3
positions and says so, and with --placement first warns that pos-2 is not
served. A lone peer
with --replicas 8 --write-quorum 8 accepts writes (a ring of one process
caps the quorum). The new options' usage errors exit 2.

Helpers (processes killed by PID on every exit path, bounded waits, log tails
as diagnostics) are in tests/chordtest.py. Runs $CHORD_BIN/chordd and
$CHORD_BIN/chordctl (default ./bin); standard library only. Environment:
CHORD_TEST_SEED fixes the random choices (not the ports); CHORD_TEST_WORKERS
sets how many chordctl run at once; CHORD_TEST_WATCHDOG_S bounds the whole
run (default 170 s); CHORD_KEEP_LOGS=1 keeps the logs and data directories
even when everything passed."""

import concurrent.futures
import os
import re
import sys
import time

sys.dont_write_bytecode = True         # no tests/__pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import chordtest as ct                                  # noqa: E402
from chordtest import Fatal, diag, ok                   # noqa: E402

KEYS = 200
DELETED = 10                # of the KEYS, deleted before the crash
FULL_VALUE = 65536          # bytes in each value put into the full store
FULL_PUTS_MAX = 64          # a 1 MiB store must refuse one of these
VNODE_KEYS = 100
REFUSED_S = 10              # a refused chordd must have exited by then

ct.STABILIZE_MS = 100
ct.RPC_TIMEOUT_MS = 300

rng = ct.rng


def start_at(port, extra, vnodes=None):
    """Starts chordd on this very port (a restart must keep its endpoint) and
    returns its Peer once it listens; Fatal when it does not."""
    peer, outcome = ct.spawn(port, ct.chordd_argv(port, vnodes=vnodes, extra=extra),
                             "peer%d-%d.log" % (len(ct.all_peers), port), vnodes)
    if outcome == "exited":
        raise Fatal("%s exited %s at start: %r" % (peer, peer.proc.returncode, peer.log()[-400:]))
    if outcome == "silent":
        raise Fatal("%s did not report listening within %d s" % (peer, ct.START_TIMEOUT_S))
    return peer


def crash(peer):
    """SIGKILL, by PID; waits (bounded) for it to be gone."""
    peer.proc.kill()
    peer.proc.wait(timeout=5)
    ct.unregister(peer.proc)


def restored(peer):
    """{position: records} from the "restored from" lines of peer's log."""
    return {int(m.group(1)): int(m.group(2))
            for m in re.finditer(rb"position (\d+): (\d+) records \(keys and tombstones\) restored from", peer.log())}


def refused(extra, what, must_name, vnodes=None):
    """Runs a chordd that must not start: one assertion that it exits
    non-zero within REFUSED_S with a chordd: line naming must_name, and
    never listened. Returns its stderr."""
    port = ct.free_port()
    start = time.monotonic()
    code, out, err = ct.run(ct.chordd_argv(port, vnodes=vnodes, extra=extra), timeout=REFUSED_S)
    seconds = time.monotonic() - start
    lines = [line for line in err.splitlines() if line.startswith(b"chordd: ")]
    ok(code not in (0, None) and b"listening on" not in err and any(must_name.encode() in line for line in lines),
       "%s: chordd exits non-zero (%s after %.2f s) before listening, saying why and naming %s" % (
           what, code, seconds, must_name), [ct.text(err)[-600:]])
    if lines:
        diag("%s: %s" % (what, lines[-1].decode("utf-8", "replace")))
    return err


def make_data():
    data = {}
    i = 0
    while len(data) < KEYS:
        data[ct.sample_key(i, "dkey")] = ct.sample_value(i, [1, 255, 4096])
        i += 1
    return data


def read_all(pool, peer, data, absent=()):
    """Problems with reading every key of data (exact bytes) and not finding those of absent."""
    problems = [p for p in pool.map(lambda k: ct.do_get(peer, k, data[k]), data) if p]
    for key in absent:
        code, out, err = ct.ctl(peer, "get", "--", key)
        if code != 1:
            problems.append("get %s (deleted) via %s: exit %s, %d bytes: %s" % (
                ct.show([key]), peer, code, len(out), ct.text(err)))
    return problems


def test_restart(pool):
    """200 keys, 10 deleted, SIGKILL, restart on the same dir and endpoint."""
    top = os.path.join(ct.TMPDIR, "restart")
    peer = start_at(ct.free_port(), ["--data-dir", top])
    placed = list(peer.indices)
    first = os.path.join(top, "pos-%d" % placed[0])
    ok(restored(peer) == {i: 0 for i in placed}, "a new data directory: the peer logs 0 records restored for "
       "each of its positions %s (%s)" % (placed, restored(peer)))
    data = make_data()
    t0 = time.monotonic()
    problems = [p for p in pool.map(lambda k: ct.do_put(peer, k, data[k]), data) if p]
    ok(not problems, "%d puts into %s with --data-dir exit 0 (%d failed)" % (len(data), peer, len(problems)),
       problems[:10])
    deleted = rng.sample(sorted(data), DELETED)
    problems = []
    for key in deleted:
        code, _, err = ct.ctl(peer, "del", "--", key)
        if code != 0:
            problems.append("del %s: exit %s: %s" % (ct.show([key]), code, ct.text(err)))
        del data[key]
    ok(not problems, "%d deletes exit 0" % DELETED, problems)
    diag("%d puts and %d deletes in %.2f s" % (KEYS, DELETED, time.monotonic() - t0))

    # The directory is locked while a peer holds it.
    refused(["--data-dir", top], "the same --data-dir while its peer runs", first)

    crash(peer)
    peer = start_at(peer.port, ["--data-dir", top])
    # The directory keeps the positions picked; a delete may be kept as a
    # tombstone, which counts as a record.
    counts = restored(peer)
    ok(peer.indices == placed and sorted(counts) == placed and
       sum(counts.values()) in (len(data), len(data) + DELETED), "after SIGKILL and a restart on the same "
       "endpoint, the peer takes the same positions %s and logs %d records (or %d, with tombstones) restored "
       "(%s)" % (placed, len(data), len(data) + DELETED, counts))
    problems = read_all(pool, peer, data, deleted)
    ok(not problems, "after the restart all %d keys read back exact bytes and the %d deleted stay deleted "
       "(%d wrong)" % (len(data), DELETED, len(problems)), problems[:10])
    code, seconds = ct.stop_gracefully(peer)
    ok(code == 0, "the restarted peer exits 0 on SIGTERM (exit %s after %.2f s)" % (code, seconds))

    # Under another endpoint the same directory is someone else's.
    err = refused(["--data-dir", top], "the same --data-dir under another endpoint", first)
    owner = "%s#%d" % (peer.endpoint, placed[0])
    ok(b"belongs to " + owner.encode() in err,
       "the refusal names the endpoint and position the directory belongs to (%s)" % owner,
       [ct.text(err)[-300:]])


def test_garbage():
    bad = os.path.join(ct.TMPDIR, "garbage")
    os.makedirs(os.path.join(bad, "pos-0"))
    with open(os.path.join(bad, "pos-0", "data.mdb"), "wb") as f:
        f.write(bytes(rng.getrandbits(8) for _ in range(32768)))
    refused(["--data-dir", bad], "pos-0/data.mdb of random bytes", os.path.join(bad, "pos-0"))
    with open(os.path.join(bad, "pos-0", "data.mdb"), "rb") as f:
        ok(len(f.read()) == 32768, "the random data.mdb is left as it was")

    other = os.path.join(ct.TMPDIR, "unrelated")
    os.makedirs(os.path.join(other, "photos"))
    with open(os.path.join(other, "notes.txt"), "w") as f:
        f.write("not a chord store\n")
    refused(["--data-dir", other], "an unrelated non-empty directory", other)
    ok(sorted(os.listdir(other)) == ["notes.txt", "photos"], "nothing was written into the unrelated directory (%s)" %
       sorted(os.listdir(other)))

    plain = os.path.join(ct.TMPDIR, "plain-file")
    with open(plain, "w") as f:
        f.write("x")
    refused(["--data-dir", plain], "--data-dir naming a regular file", plain)


def test_full(pool):
    """--store-max-mb 1 and 64 KiB values: puts fail cleanly once it is full."""
    top = os.path.join(ct.TMPDIR, "full")
    peer = start_at(ct.free_port(), ["--data-dir", top, "--store-max-mb", "1"])
    acked = {}
    failure = None
    for i in range(FULL_PUTS_MAX):
        key = ("full-%02d" % i).encode()
        value = bytes(rng.getrandbits(8) for _ in range(FULL_VALUE))
        start = time.monotonic()
        code, _, err = ct.ctl(peer, "put", "--", key, "-", stdin=value)
        if code != 0:
            failure = (i, code, err, time.monotonic() - start)
            break
        acked[key] = value
    ok(failure is not None, "a 1 MiB store refuses a put within %d values of 64 KiB (%d acknowledged)" % (
        FULL_PUTS_MAX, len(acked)))
    if failure:
        i, code, err, seconds = failure
        ok(code not in (0, None) and err.startswith(b"chordctl: ") and seconds < ct.CTL_TIMEOUT_MS / 1000,
           "the refused put exits non-zero (%s) with a message, after %.2f s, not on its timeout" % (code, seconds),
           [ct.text(err)])
        diag("put %d refused: %s" % (i, ct.text(err)))
    ok(peer.proc.poll() is None, "the daemon is still running after the refused put")
    problems = read_all(pool, peer, acked)
    ok(acked and not problems, "all %d acknowledged keys still read back exact bytes" % len(acked), problems[:5])
    small = ct.do_put(peer, b"full-small-after", b"x")
    diag("a 1-byte put into the full store: %s" % (small or "accepted"))
    code, seconds = ct.stop_gracefully(peer)
    ok(code == 0, "the full store's peer exits 0 on SIGTERM (exit %s after %.2f s)" % (code, seconds))


def test_vnodes(pool):
    """--vnodes 3 --no-fsync: a store for each position picked, and a SIGKILL
    loses nothing."""
    top = os.path.join(ct.TMPDIR, "vnodes")
    extra = ["--data-dir", top, "--no-fsync"]
    peer = start_at(ct.free_port(), extra, vnodes=3)
    seconds, problem = ct.wait_converged([peer], pool)
    if not ok(seconds is not None, "--vnodes 3: the lone process's 3 positions form a ring", [problem]):
        return
    placed = list(peer.indices)
    stores = sorted("pos-%d" % i for i in placed)
    ok(len(placed) == 3 and sorted(os.listdir(top)) == stores, "--vnodes 3 --data-dir makes a store for each of "
       "the 3 positions picked, %s (%s)" % (", ".join(stores), sorted(os.listdir(top))))
    data = {}
    while len(data) < VNODE_KEYS:
        data[ct.sample_key(len(data), "vkey")] = ct.sample_value(len(data), [1, 300])
    problems = [p for p in pool.map(lambda k: ct.do_put(peer, k, data[k]), data) if p]
    ok(not problems, "--vnodes 3: %d puts exit 0" % len(data), problems[:5])
    ct.check_counts(list(data), [peer], "--vnodes 3, before the crash")

    crash(peer)
    peer = start_at(peer.port, extra, vnodes=3)
    counts = restored(peer)
    ok(sorted(counts) == placed and sum(counts.values()) == len(data),
       "--vnodes 3: after SIGKILL and a restart the positions log %s records restored, %d in all" % (
           counts, len(data)))
    seconds, problem = ct.wait_converged([peer], pool)
    ok(seconds is not None, "--vnodes 3: the restarted process's positions form a ring again", [problem])
    problems = read_all(pool, peer, data)
    ok(not problems, "--vnodes 3: after the restart all %d keys read back exact bytes (%d wrong)" % (
        len(data), len(problems)), problems[:10])
    ct.check_counts(list(data), [peer], "--vnodes 3, after the restart")
    code, seconds = ct.stop_gracefully(peer)
    ok(code == 0, "--vnodes 3: exits 0 on SIGTERM (exit %s after %.2f s)" % (code, seconds))


def test_fewer_vnodes():
    """Restarting a --vnodes 3 directory with --vnodes 2: balanced placement
    keeps the 3 positions the directory holds, and says so; with
    --placement first the peer warns that pos-2 is not served, and leaves
    it be."""
    top = os.path.join(ct.TMPDIR, "fewer-balanced")
    extra = ["--data-dir", top]
    peer = start_at(ct.free_port(), extra, vnodes=3)
    placed = list(peer.indices)
    crash(peer)
    peer = start_at(peer.port, extra, vnodes=2)
    warned = [line for line in peer.log().splitlines() if b"WARN" in line and b"keeping them" in line]
    ok(warned and peer.indices == placed,
       "restarted with --vnodes 2, the peer keeps the 3 positions its directory holds %s, and warns" % placed,
       [ct.text(peer.log())[-600:]])
    code, seconds = ct.stop_gracefully(peer)
    ok(code == 0, "--vnodes 2, kept 3: exits 0 on SIGTERM (exit %s after %.2f s)" % (code, seconds))

    top = os.path.join(ct.TMPDIR, "fewer")
    extra = ["--data-dir", top, "--placement", "first"]
    peer = start_at(ct.free_port(), extra, vnodes=3)
    crash(peer)
    peer = start_at(peer.port, extra, vnodes=2)
    warned = [line for line in peer.log().splitlines() if b"WARN" in line and b"pos-2" in line]
    ok(warned and os.path.isdir(os.path.join(top, "pos-2")),
       "restarted with --vnodes 2, the peer warns that pos-2's keys are not served, and leaves it be",
       [ct.text(peer.log())[-600:]])
    code, seconds = ct.stop_gracefully(peer)
    ok(code == 0, "--vnodes 2: exits 0 on SIGTERM (exit %s after %.2f s)" % (code, seconds))


def test_quorum():
    """A lone peer accepts writes whatever --replicas and --write-quorum say."""
    peer = start_at(ct.free_port(), ["--replicas", "8", "--write-quorum", "8"])
    problem = ct.do_put(peer, b"quorum-key", b"quorum-value") or ct.do_get(peer, b"quorum-key", b"quorum-value")
    ok(not problem, "a lone peer with --replicas 8 --write-quorum 8 takes a put and reads it back", [problem])
    code, seconds = ct.stop_gracefully(peer)
    ok(code == 0, "it exits 0 on SIGTERM (exit %s after %.2f s)" % (code, seconds))


def test_command_line():
    cases = [
        (["--replicas", "3", "--write-quorum", "4"], b"--write-quorum"),
        (["--write-quorum", "3", "--replicas", "2"], b"--write-quorum"),
        (["--write-quorum", "4"], b"--write-quorum"),         # more than the default --replicas 3
        (["--replicas", "0"], b"--replicas"),
        (["--replicas", "9"], b"--replicas"),
        (["--write-quorum", "0"], b"--write-quorum"),
        (["--store-max-mb", "0"], b"--store-max-mb"),
        (["--store-max-mb", "1x"], b"--store-max-mb"),
        (["--tombstone-grace-ms", "-5"], b"--tombstone-grace-ms"),
        (["--sync-ms", "5"], b"--sync-ms"),
        (["--data-dir", ""], b"--data-dir"),
        (["--data-dir"], b"--data-dir"),
    ]
    for extra, name in cases:
        code, out, err = ct.run([ct.CHORDD, "--listen", "tcp://127.0.0.1:%d" % ct.free_port()] + extra,
                                timeout=REFUSED_S)
        ok(code == 2 and name in err, "chordd %s exits 2 with a message (got %s, %r)" % (
            " ".join(extra), code, (err or out)[-200:]))
    code, out, _ = ct.run([ct.CHORDD, "--help"], timeout=REFUSED_S)
    missing = [o for o in ("--replicas", "--write-quorum", "--data-dir", "--store-max-mb", "--no-fsync",
                           "--tombstone-grace-ms", "--sync-ms", "power loss") if o.encode() not in out]
    ok(code == 0 and not missing, "chordd --help describes the new options (missing: %s)" % missing)


def main():
    pool = concurrent.futures.ThreadPoolExecutor(max_workers=ct.WORKERS)
    try:
        test_command_line()
        test_restart(pool)
        test_garbage()
        test_full(pool)
        test_vnodes(pool)
        test_fewer_vnodes()
        test_quorum()
    finally:
        pool.shutdown(wait=True)


if __name__ == "__main__":
    ct.finish(main, "chord-datadir-", secured=True)
