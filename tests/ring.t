#!/usr/bin/env python3
"""A live ring of chordd peers on loopback, driven through chordctl.

Starts 8 peers on free ports (each joining through a random earlier one),
waits for the ring to converge, stores 500 keys with random binary values
(and a few with empty values) through random peers, reads every one back
through another peer, and checks each key's owner (chordctl lookup --json)
against successor(BLAKE2b-160(key)) computed here over the live peers' ids.
Then: a graceful leave (SIGTERM) and a new join; a crash (SIGKILL); garbage
on the wire (raw TCP bytes, and hand-framed ZMTP 3.0 messages that are not
valid chord messages); a peer paused with SIGSTOP and resumed; chordd's own
command line; and a graceful stop of every peer, one at a time.

Every process is killed by PID on every exit path (finally, atexit, signal
handlers, a watchdog); every wait is bounded. Daemon logs go to a temp dir
and their tails are printed as TAP diagnostics when anything fails. With a
sanitizer build in $CHORD_BIN, a sanitizer report in a daemon log or on
chordctl's stderr fails the test.

When the machine stalls the daemons for longer than --rpc-timeout-ms, they
suspect live peers and the ring briefly misroutes. Failures of the bulk
put/get/lookup phases are retried once after the ring converges again, but
only when a daemon log shows such a false suspicion during the phase; every
retry is printed as a diagnostic.

The process handling, bounded waits, log tails, retries and data checks
are in tests/chordtest.py, shared with tests/vnodes.t. Runs
$CHORD_BIN/chordd and $CHORD_BIN/chordctl (default ./bin). Standard library
only: ZMTP 3.0 (NULL mechanism) and msgpack are spoken by hand. Environment:
CHORD_TEST_SEED fixes the random choices (not the ports); CHORD_TEST_WORKERS
sets how many chordctl run at once (default 16, at most 4 per CPU);
CHORD_TEST_WATCHDOG_S bounds the whole run (default 170 s); CHORD_KEEP_LOGS=1
keeps the temp dir even when everything passed. It runs open by default,
the demo path; CHORD_TEST_SECURE=1 runs it all on a ring secured with a
cluster secret (CURVE), where the hand-framed ZMTP NULL connection must be
refused instead."""

import concurrent.futures
import json
import os
import signal
import socket
import struct
import sys
import time

sys.dont_write_bytecode = True         # no tests/__pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import chordtest as ct                                  # noqa: E402
from chordtest import Fatal, blake, diag, ok            # noqa: E402
from wire import (MESSAGE_MAX, MSG_CLIENT_DEL, MSG_CLIENT_GET, MSG_CLIENT_INFO,  # noqa: E402
                  MSG_CLIENT_REPLY, MSG_INFO_REPLY, MSG_JOIN, MSG_REPLICATE, PROTOCOL_VERSION,
                  ZMTP_SIGNATURE, Zmtp, mp, request, zmtp_frame, zmtp_greeting, zmtp_ready)

PEERS = 8                   # peers in the ring
KEYS = 500                  # keys stored, with non-empty values
EMPTY_KEYS = 8              # keys stored with empty values
REPAIR_S = 5                # after a SIGKILL, lookups must be right within this

ct.STABILIZE_MS = 100
ct.RPC_TIMEOUT_MS = 300


rng = ct.rng


def owner(key, live):
    """The live peer that owns key: successor(BLAKE2b-160(key)) over their ids."""
    return ct.owner_position(blake(key), live)[1]


def check_empty(pool, empty, live, what):
    """Keys with empty values read back as empty through their owner and through every other peer."""
    owners = {k: owner(k, live) for k in empty}
    problems = [p for p in pool.map(lambda k: ct.do_get(owners[k], k, b""), empty) if p]
    ok(not problems, "%s: %d keys with empty values read back (empty) through their owner" % (what, len(empty)),
       problems[:5])
    via_others = [(p, k) for k in empty for p in live if p is not owners[k]]
    problems = [p for p in pool.map(lambda a: ct.do_get(a[0], a[1], b""), via_others) if p]
    ok(not problems, "%s: keys with empty values read back (empty) through every other peer (%d of %d wrong)" % (
        what, len(problems), len(via_others)), problems[:5])


def raw_info_problem(peer, conn, request_id):
    """None when an INFO request over conn is answered by peer, else why not."""
    try:
        reply = conn.call(request_id, request(MSG_CLIENT_INFO, request_id, {}))
    except (OSError, ValueError, TimeoutError, IndexError) as e:
        return "raw info: %s: %s" % (type(e).__name__, e)
    body = reply[5] if isinstance(reply[5], dict) else {}
    if reply[0] != PROTOCOL_VERSION or reply[1] != MSG_INFO_REPLY or body.get("peer") != [peer.id, peer.endpoint]:
        return "raw info: unexpected reply %r" % (reply[:2] + [body.get("peer")],)
    return None


def raw_get_problem(conn, request_id, key, value):
    try:
        reply = conn.call(request_id, request(MSG_CLIENT_GET, request_id, {"key": key, "tmo": 2000}))
    except (OSError, ValueError, TimeoutError, IndexError) as e:
        return "raw get: %s: %s" % (type(e).__name__, e)
    body = reply[5] if isinstance(reply[5], dict) else {}
    if reply[1] != MSG_CLIENT_REPLY or body.get("st") != 0 or body.get("val") != value:
        return "raw get: unexpected reply type %r st %r, %r" % (reply[1], body.get("st"), body.get("val", b"")[:20])
    return None


# ---------------------------------------------------------------------------
# Phases

def test_command_line(live):
    """chordd's usage errors; a second chordd on a port in use."""
    code, out, err = ct.run([ct.CHORDD, "--help"])
    ok(code == 0 and b"usage:" in out and b"--listen" in out, "chordd --help exits 0 with the usage (got %s)" % code)
    code, out, err = ct.run([ct.CHORDD, "--bogus"])
    ok(code == 2 and err.startswith(b"chordd: ") and b"--bogus" in err,
       "chordd --bogus exits 2 with a message (got %s, %r)" % (code, err[:100]))
    port = ct.free_port()
    code, out, err = ct.run([ct.CHORDD, "--listen", "tcp://0.0.0.0:%d" % port])
    ok(code == 2 and b"--advertise" in err,
       "chordd --listen tcp://0.0.0.0:PORT without --advertise exits 2 (got %s, %r)" % (code, err[:120]))
    busy = live[0]
    code, out, err = ct.run([ct.CHORDD, "--listen", busy.endpoint, "--stabilize-ms", str(ct.STABILIZE_MS)],
                            timeout=10)
    ok(code not in (0, None) and b"in use" in err and busy.endpoint.encode() in err,
       "a second chordd on a port in use exits non-zero naming the port (got %s, %r)" % (code, err[-160:]))
    code, _, _ = ct.ctl(busy, "info")
    ok(code == 0 and busy.proc.poll() is None, "the peer on that port still answers (got %s)" % code)


def peer_still_serves(peer, key, value):
    """Problems with peer after garbage: alive, info, get."""
    problems = []
    if peer.proc.poll() is not None:
        return ["%s exited %s" % (peer, peer.proc.returncode)]
    code, out, err = ct.ctl(peer, "--json", "info", timeout_ms=2000)
    try:
        info = json.loads(out) if code == 0 else {}
    except ValueError:
        info = {}
    if code != 0 or info.get("id") != peer.id.hex() or info.get("state") != "active":
        problems.append("info: exit %s %r %r" % (code, out[:120], err[:120]))
    problem = ct.do_get(peer, key, value)
    if problem:
        problems.append(problem)
    return problems


def test_garbage(peer, key, value, live):
    port = peer.port
    cases = []

    def raw_tcp(payload, hold=0.0):
        def go():
            with socket.create_connection(("127.0.0.1", port), timeout=2) as s:
                try:
                    s.sendall(payload)
                    time.sleep(hold)
                except OSError:
                    pass   # the peer may hang up first: that is fine
        return go

    cases.append(("raw TCP: 4 KiB of random bytes", raw_tcp(os.urandom(4096))))
    cases.append(("raw TCP: 64 KiB of random bytes after the ZMTP signature",
                  raw_tcp(ZMTP_SIGNATURE + os.urandom(65536))))
    cases.append(("raw TCP: a greeting with an unknown mechanism",
                  raw_tcp(zmtp_greeting(b"BOGUS") + zmtp_ready(), hold=0.2)))
    cases.append(("raw TCP: a greeting for ZMTP 9.9", raw_tcp(zmtp_greeting(major=9, minor=9) + zmtp_ready(), 0.2)))
    cases.append(("raw TCP: READY for an incompatible socket type (PUB)",
                  raw_tcp(zmtp_greeting() + zmtp_ready(b"PUB"), hold=0.2)))
    cases.append(("raw TCP: a frame claiming 2^62 bytes",
                  raw_tcp(zmtp_greeting() + zmtp_ready() + b"\x02" + struct.pack(">Q", 1 << 62) + os.urandom(100),
                          hold=0.2)))
    cases.append(("raw TCP: a frame of 5 MiB, over the message limit",
                  raw_tcp(zmtp_greeting() + zmtp_ready() + zmtp_frame(os.urandom(MESSAGE_MAX + MESSAGE_MAX // 4)),
                          hold=0.2)))
    for name, fn in cases:
        try:
            fn()
        except OSError as e:
            diag("%s: %s" % (name, e))
        problems = peer_still_serves(peer, key, value)
        ok(not problems, "garbage (%s): the peer still answers info and get" % name, problems)

    # A connection that stalls half way through its greeting, held open
    # while others are served.
    stall = socket.create_connection(("127.0.0.1", port), timeout=2)
    try:
        stall.sendall(ZMTP_SIGNATURE + b"\x03")
        problems = peer_still_serves(peer, key, value)
        ok(not problems, "garbage (a stalled half greeting held open): the peer still answers", problems)
    finally:
        stall.close()

    if ct.SECRET:
        # A secured peer speaks only CURVE: a NULL-mechanism DEALER gets no READY.
        try:
            conn = Zmtp(port)
            conn.close()
            refused = None
        except (OSError, ValueError) as e:
            refused = e
        ok(refused is not None, "secured: a hand-made ZMTP 3.0 NULL DEALER is refused (%r)" % (refused,))
        problems = peer_still_serves(peer, key, value)
        ok(not problems, "secured: after that the peer still answers info and get", problems)
        return

    # Well-framed ZMTP messages from a hand-made DEALER.
    try:
        conn = Zmtp(port)
    except (OSError, ValueError) as e:
        ok(False, "a hand-made ZMTP 3.0 DEALER connects to %s" % peer, [repr(e)])
        return
    try:
        problem = raw_info_problem(peer, conn, 1)
        ok(problem is None, "a hand-framed INFO request gets the peer's INFO_REPLY (the framing works)",
           [problem])
        good = request(MSG_CLIENT_INFO, 7, {})
        framed = [
            ("random bytes", [os.urandom(200)]),
            ("an empty frame", [b""]),
            ("truncated msgpack", [good[:len(good) // 2]]),
            ("a truncated GET", [request(MSG_CLIENT_GET, 8, {"key": key, "tmo": 1000})[:-3]]),
            ("a valid-looking array with version 3", [request(MSG_CLIENT_INFO, 9, {}, version=3)]),
            ("version 0", [request(MSG_CLIENT_INFO, 10, {}, version=0)]),
            ("an unknown message type 99", [mp([1, 99, 11, None, None, {}])]),
            ("a 5-element array", [mp([1, MSG_CLIENT_INFO, 12, None, None])]),
            ("a map instead of the array", [mp({"v": 1, "t": MSG_CLIENT_INFO})]),
            ("a body that is an array", [mp([1, MSG_CLIENT_INFO, 13, None, None, []])]),
            ("a GET with an empty key", [request(MSG_CLIENT_GET, 14, {"key": b"", "tmo": 1000})]),
            ("a GET with a 5000-byte key", [request(MSG_CLIENT_GET, 15, {"key": b"k" * 5000, "tmo": 1000})]),
            ("a GET with a string key and a negative timeout",
             [mp([1, MSG_CLIENT_GET, 16, None, None, {"key": "k", "tmo": -1}])]),
            ("a sender that is not a peer", [mp([1, MSG_CLIENT_INFO, 17, [b"x", 5], None, {}])]),
            ("a valid INFO with trailing bytes", [good + b"\xc0"]),
            ("an array claiming 2^32-1 elements", [b"\xdd\xff\xff\xff\xff" + good]),
            ("a map claiming 2^32-1 entries", [b"\x96\x01\x18\x12\xc0\xc0\xdf\xff\xff\xff\xff"]),
            ("a client reply sent to the peer", [mp([1, MSG_CLIENT_REPLY, 18, None, None, {"st": 0}])]),
            ("a multi-frame message", [good, good]),
            ("a three-frame message with an empty delimiter", [b"", good, os.urandom(30)]),
            # Fields a type does not carry: a value on a del or get once crashed any peer.
            ("a DEL of an absent key carrying a val",
             [request(MSG_CLIENT_DEL, 19, {"key": b"absent-" + os.urandom(8), "val": b"x" * 30, "tmo": 1000})]),
            ("a GET carrying a val", [request(MSG_CLIENT_GET, 20, {"key": key, "val": b"y" * 30, "tmo": 1000})]),
        ]
        request_id = 100
        for name, frames in framed:
            request_id += 1
            try:
                conn.send(*frames)
            except OSError as e:
                diag("sending %s: %s" % (name, e))
            problems = peer_still_serves(peer, key, value)
            ok(not problems, "garbage (ZMTP frame: %s): the peer still answers info and get" % name, problems)
        test_forged(peer, conn, key, value, live)
        request_id += 1
        problems = [p for p in (raw_info_problem(peer, conn, request_id),
                                raw_get_problem(conn, request_id + 1, key, value)) if p]
        ok(not problems, "after all that the same ZMTP connection still gets INFO and GET answered", problems)
    finally:
        conn.close()


def test_forged(peer, conn, key, value, live):
    """Forged state from a connection that passes as a peer (the ring is in
    open mode): a JOIN whose id sits just before the peer's but is not its
    endpoint's takes no place and no keys; a REPLICATE of key versioned ten
    years ahead does not replace it."""
    fake_endpoint = "tcp://127.0.0.1:%d" % ct.free_port()
    fake_id = (int.from_bytes(peer.id, "big") - 1) % (1 << 160)
    conn.send(mp([PROTOCOL_VERSION, MSG_JOIN, 31, [fake_id.to_bytes(20, "big"), fake_endpoint], None, {}]))
    time.sleep(0.3)
    code, out, _ = ct.ctl(peer, "--json", "info", timeout_ms=2000)
    info = json.loads(out) if code == 0 else {}
    pred = info.get("predecessor") or info.get("pred") or {}
    ok(code == 0 and fake_endpoint not in json.dumps(pred),
       "a JOIN with an id not its endpoint's (just before %s) does not become its predecessor" % peer,
       [out[:300]])
    problems = peer_still_serves(peer, key, value)
    ok(not problems, "and the peer still answers info and get", problems)

    sender_endpoint = "tcp://127.0.0.1:%d" % ct.free_port()
    hlc = (int(time.time() * 1000) + 10 * 365 * 86400 * 1000) << 16
    record = b"\xc1\x00" + struct.pack(">QQ", hlc, 1) + b"FORGED"
    by_id = dict(ct.positions(live))
    holders = [by_id[pid] for pid in ct.holder_positions(blake(key), live)]
    for holder in holders:
        try:
            forger = Zmtp(holder.port)
        except (OSError, ValueError) as e:
            ok(False, "a hand-made DEALER connects to %s" % holder, [repr(e)])
            continue
        try:
            forger.send(mp([PROTOCOL_VERSION, MSG_REPLICATE, 32, [blake(sender_endpoint.encode()), sender_endpoint],
                            None, {"items": [[key, record]]}]))
        finally:
            time.sleep(0.1)
            forger.close()
    time.sleep(0.3)
    problems = [p for p in (ct.do_get(h, key, value) for h in holders) if p]
    ok(not problems, "REPLICATEs of a key versioned 10 years ahead, sent to its %d holders, do not replace it"
       % len(holders), problems)


def make_data():
    """KEYS keys (ASCII, UTF-8, with spaces) with random non-empty binary values
    (1 byte to 66 KiB), and a few keys whose values are empty."""
    data = {}
    for i in range(KEYS):
        key = ct.sample_key(i, "key")
        data[key] = ct.sample_value(i, [1, 2, 17, 100, 255, 256, 1000, 4096])
    empty = ["empty-value-%d-%08x" % (i, rng.getrandbits(32)) for i in range(EMPTY_KEYS)]
    return data, [k.encode() for k in empty]


def test_pause(live, data, pool):
    """A peer stops (SIGSTOP) for twice --rpc-timeout-ms, long enough to be
    suspected, then resumes (SIGCONT). A get for a key it owns, issued through
    another peer while it is stopped, must find the key on a replica; one
    issued right after it resumes must find it too."""
    owners = {}
    for key in data:
        owners.setdefault(owner(key, live), []).append(key)
    paused = rng.choice([p for p in live if len(owners.get(p, [])) >= 2])
    during_key, after_key = rng.sample(owners[paused], 2)
    via = rng.choice([p for p in live if p is not paused])
    pause_s = 2 * ct.RPC_TIMEOUT_MS / 1000
    paused.proc.send_signal(signal.SIGSTOP)
    try:
        during = pool.submit(ct.ctl, via, "get", "--", during_key, timeout_ms=10000)
        time.sleep(pause_s)
    finally:
        paused.proc.send_signal(signal.SIGCONT)
    resumed = time.monotonic()
    code, out, err = ct.ctl(via, "get", "--", after_key, timeout_ms=10000)
    took = time.monotonic() - resumed
    ok(code == 0 and out == data[after_key],
       "a get through %s issued just after its owner %s resumed from a %.1f s SIGSTOP finds the key "
       "(exit %s after %.2f s of a 10 s budget)" % (via, paused, pause_s, code, took), [ct.text(err)])
    code, out, err = during.result()
    ok(code == 0 and out == data[during_key],
       "a get issued while its owner was stopped reads the key from a replica (exit %s)" % code, [ct.text(err)])
    seconds, problem = ct.wait_converged(live, pool)
    ok(seconds is not None, "after the pause the ring converges again", [problem])


def main():
    pool = concurrent.futures.ThreadPoolExecutor(max_workers=ct.WORKERS)
    try:
        # 1. Eight peers, each joining through a random earlier one.
        live = []
        first_start = time.monotonic()
        for _ in range(PEERS):
            live.append(ct.start_peer(join=rng.choice(live) if live else None))
        last_start = time.monotonic()
        seconds, problem = ct.wait_converged(live, pool)
        if not ok(seconds is not None, "the ring of %d peers converges within %d s" % (PEERS, ct.CONVERGE_S),
                  [problem]):
            raise Fatal("no ring to test")
        diag("converged %d peers in %.2f s (%.2f s after the last one started)" % (
            PEERS, time.monotonic() - first_start, time.monotonic() - last_start))
        states = []
        for p in live:
            code, out, _ = ct.ctl(p, "--json", "info")
            try:
                states.append(json.loads(out).get("state") if code == 0 else "exit %s" % code)
            except ValueError:
                states.append("bad JSON")
        ok(all(s == "active" for s in states), "every peer's info says active (%s)" % ", ".join(map(str, states)))

        # 2. 500 keys with random binary values, stored through random peers,
        #    read back through other peers, owners checked.
        data, empty = make_data()
        writers = {key: rng.choice(live) for key in list(data) + empty}
        t0 = time.monotonic()
        problems = ct.checked("puts", lambda k: ct.do_put(writers[k], k, data[k]), list(data), live, pool)
        put_s = time.monotonic() - t0
        ok(not problems, "all %d puts through random peers exit 0 (%d failed)" % (KEYS, len(problems)),
           problems[:10])
        diag("%d puts in %.2f s with %d concurrent chordctl" % (KEYS, put_s, ct.WORKERS))
        problems = [p for p in pool.map(lambda k: ct.do_put(writers[k], k, b""), empty) if p]
        ok(not problems, "%d puts of empty values exit 0" % len(empty), problems[:5])

        t0 = time.monotonic()
        readers = [(rng.choice([p for p in live if p is not writers[k]]), k) for k in data]
        problems = ct.checked("gets", lambda a: ct.do_get(a[0], a[1], data[a[1]]), readers, live, pool)
        ok(not problems, "every key reads back exact bytes through a peer other than its writer (%d wrong)" %
           len(problems), problems[:10])
        diag("%d gets in %.2f s" % (KEYS, time.monotonic() - t0))

        t0 = time.monotonic()
        hops = []
        askers = [(rng.choice(live), k) for k in data]
        problems = ct.checked("lookups", lambda a: ct.do_lookup(a[0], a[1], live, hops), askers, live, pool)
        ok(not problems, "lookup --json names successor(BLAKE2b-160(key)) among the live peers for all %d keys "
           "(%d wrong)" % (KEYS, len(problems)), problems[:10])
        diag("%d lookups in %.2f s" % (KEYS, time.monotonic() - t0))
        if hops:
            diag("lookup hops over %d lookups: mean %.2f, max %d, histogram %s" % (
                len(hops), sum(hops) / len(hops), max(hops), {h: hops.count(h) for h in sorted(set(hops))}))
        ct.check_counts(list(data) + empty, live, "after the puts")
        check_empty(pool, empty, live, "after the puts")

        # 3. A graceful leave, then a new peer.
        victim = rng.choice(live)
        code, seconds = ct.stop_gracefully(victim)
        ok(code == 0, "SIGTERM: %s leaves and exits 0 within %d s (exit %s after %.2f s)" % (
            victim, ct.LEAVE_S, code, seconds))
        live.remove(victim)
        newcomer = ct.start_peer(join=rng.choice(live))
        live.append(newcomer)
        seconds, problem = ct.wait_converged(live, pool)
        if not ok(seconds is not None, "after the leave and a new join (%s) the ring converges" % newcomer, [problem]):
            raise Fatal("no ring to go on with")
        diag("reconverged after leave + join in %.2f s" % seconds)
        ct.check_all(pool, data, live, "after leave + join")     # its diagnostic gives the hops
        ct.check_counts(list(data) + empty, live, "after leave + join", churned=True)
        check_empty(pool, empty, live, "after leave + join")

        # 4. A crash.
        victim = rng.choice(live)
        victim_keys = [k for k in data if owner(k, live) is victim]
        victim.proc.kill()
        victim.proc.wait(timeout=5)
        ct.unregister(victim.proc)
        killed_at = time.monotonic()
        live.remove(victim)
        diag("SIGKILLed %s, which owned %d keys" % (victim, len(victim_keys)))
        # Small rounds (every peer, 2 keys the dead peer owned and 2 others)
        # until all are right; the round that passes must start within
        # REPAIR_S. Then a larger sample from every peer, once, no retries.
        others = [k for k in data if k not in victim_keys]
        probe = rng.sample(victim_keys, min(2, len(victim_keys))) + rng.sample(others, 2)
        asks = [(p, k) for p in live for k in probe]
        problems = ["not tried"]
        rounds = 0
        while problems and time.monotonic() - killed_at < REPAIR_S:
            round_start = time.monotonic() - killed_at
            problems = [p for p in pool.map(lambda a: ct.do_lookup(a[0], a[1], live), asks) if p]
            rounds += 1
            diag("lookup round %d (%.2f..%.2f s after the SIGKILL): %d of %d wrong%s" % (
                rounds, round_start, time.monotonic() - killed_at, len(problems), len(asks),
                ", e.g. " + problems[0] if problems else ""))
            if problems:
                time.sleep(0.05)
        repair_s = time.monotonic() - killed_at
        ok(not problems, "after SIGKILL, lookups from each of the %d remaining peers name the live successor "
           "within %d s (%d of %d wrong in the last round)" % (len(live), REPAIR_S, len(problems), len(asks)),
           problems[:10])
        diag("lookups right %.2f s after the SIGKILL" % repair_s)
        sample = rng.sample(victim_keys, min(5, len(victim_keys))) + rng.sample(others, 15)
        asks = [(p, k) for p in live for k in sample]
        problems = ct.checked("lookups after SIGKILL", lambda a: ct.do_lookup(a[0], a[1], live), asks, live, pool)
        ok(not problems, "after SIGKILL, then lookups of %d sample keys (%d the dead peer's) from every remaining "
           "peer all name the live successor (%d of %d wrong)" % (
               len(sample), min(5, len(victim_keys)), len(problems), len(asks)), problems[:10])
        seconds, problem = ct.wait_converged(live, pool)
        ok(seconds is not None, "after the SIGKILL the ring of %d converges again" % len(live), [problem])
        if seconds is not None:
            diag("ring converged %.2f s after the SIGKILL" % (time.monotonic() - killed_at))
        readers = [(rng.choice(live), k) for k in others]
        problems = ct.checked("gets after SIGKILL", lambda a: ct.do_get(a[0], a[1], data[a[1]]), readers, live, pool)
        ok(not problems, "after SIGKILL, all %d keys owned by other peers still read back (%d wrong)" % (
            len(others), len(problems)), problems[:10])

        def lost_key_problem(item):
            peer, key = item
            code, out, err = ct.ctl(peer, "get", "--", key)
            if code == 1 or (code == 0 and out == data[key]):
                return None
            if code == 0:
                return "get %s via %s: wrong bytes" % (ct.show([key]), peer)
            return "get %s via %s: exit %s: %s" % (ct.show([key]), peer, code, ct.text(err))
        problems = ct.checked("gets of the dead peer's keys", lost_key_problem,
                           [(rng.choice(live), k) for k in victim_keys], live, pool)
        ok(not problems, "the dead peer's %d keys get a prompt answer (found, or not found)" % len(victim_keys),
           problems[:10])

        # 5. Garbage on the wire, against a peer asked for a key another peer owns.
        target = rng.choice(live)
        key = next(k for k in others if owner(k, live) is not target)
        test_garbage(target, key, data[key], live)
        ok(all(p.proc.poll() is None for p in live), "every live peer is still running after the garbage")

        # 6. A peer pauses and resumes.
        test_pause(live, data, pool)

        # 7. chordd's command line.
        test_command_line(live)

        # 8. Everyone leaves gracefully, one at a time, so sanitizers get to report at exit.
        ct.stop_all(live)
    finally:
        pool.shutdown(wait=True)


if __name__ == "__main__":
    ct.finish(main, "chord-ring-")

