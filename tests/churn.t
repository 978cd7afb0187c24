#!/usr/bin/env python3
"""Churn under load: a replicated ring keeps every acknowledged write.

Starts 14 chordd peers on loopback, sharing a cluster secret (CURVE;
CHORD_TEST_SECURE=0 runs them open), with --replicas R (default 3,
CHORD_CHURN_REPLICAS overrides it), --data-dir under the test's temp dir,
--stabilize-ms 100 and --sync-ms 400, and waits for the ring to converge.
A workload (4 threads, each with its own 100 keys, so every key's writes
are sequential) then puts and gets continuously through random live peers
with chordctl --timeout 4000. A value is "v1 KEY SEQ PAD", so a read of a
stale value or of another key's value is recognisable. An acknowledged put
(exit 0) makes SEQ the key's last acknowledged value; a put that fails
(timeout, no quorum, any error) may or may not have landed, so its SEQ is a
"maybe": a read is right when it returns the last acknowledged value or a
later maybe (or "not found" when nothing was acknowledged yet). A key whose
read fails is re-read every 0.2 s until one succeeds: the longest such gap is
the longest time any key was unreadable.

Meanwhile a random, seeded sequence of 14 churn events (4 SIGKILLs, 3
graceful stops with SIGTERM, 4 restarts of a stopped or killed peer on its
data directory and its old --listen address, 3 new peers) runs, 1 to 2.5 s
apart. The plan is made up front from the seed and printed. A departure
(SIGKILL or SIGTERM) waits until fewer than R-1 = 2 events of any kind lie
in the last REPAIR_S = 3 sync intervals + 3 s, so no more than 2 replicas
of a key go before anti-entropy had time to repair (the window is fixed by
the design R = 3, not by CHORD_CHURN_REPLICAS). Peers depart only while at
least 13 are alive, so 12 or more are always up. Joins and restarts go
through a random live peer.

At the end the workload stops, the ring must converge, and every key that
was written reads back right through 3 different live peers (failures are
retried for up to DATA_SETTLE_S while anti-entropy catches up). Diagnostics
give writes acknowledged and lost, reads that failed, churn events by kind,
the longest time a key was unreadable and the wall time.

Helpers are in tests/chordtest.py. Environment: CHORD_TEST_SEED replays the
random choices (not the ports or timings); CHORD_CHURN_REPLICAS sets
chordd's --replicas (1 shows the test failing: SIGKILLs then lose writes);
CHORD_CHURN_WRITE_QUORUM passes --write-quorum; CHORD_TEST_WATCHDOG_S bounds
the run (default 230 s here); CHORD_KEEP_LOGS=1 keeps the logs."""

import concurrent.futures
import json
import os
import random
import signal
import subprocess
import sys
import threading
import time

sys.dont_write_bytecode = True         # no tests/__pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import chordtest as ct                                  # noqa: E402
from chordtest import Fatal, diag, ok                   # noqa: E402

DESIGN_REPLICAS = 3         # R the churn is planned for
REPLICAS = int(os.environ.get("CHORD_CHURN_REPLICAS") or DESIGN_REPLICAS)   # what chordd is told
WRITE_QUORUM = os.environ.get("CHORD_CHURN_WRITE_QUORUM")                  # None: chordd's default
START_PEERS = 14
MIN_LIVE = 12               # a departure only when more than this are alive
MAX_LIVE = 17               # a join only when fewer than this are alive
KIND_COUNTS = (("kill", 4), ("stop", 3), ("restart", 4), ("join", 3))
DEPARTURES = ("kill", "stop")
GAP_MIN_S, GAP_MAX_S = 1.0, 2.5     # between churn events
THREADS = 4
KEYS_PER_THREAD = 100
PUT_SHARE = 0.4
OP_TIMEOUT_MS = 4000        # chordctl --timeout for the workload
OP_PAUSE_S = 0.02           # each workload thread rests this long between operations
RETRY_EVERY_S = 0.2         # a key whose read failed is read again this often
WARMUP_S = 5                # workload before the first churn event
TAIL_S = 3                  # workload after the last churn event
ACTIVE_S = 15               # a started peer must say "active" within this
STOP_S = 15                 # a SIGTERMed peer must exit within this
DATA_SETTLE_S = 15          # final reads that fail are retried for this long
READ_VIAS = 3               # each key is read at the end through this many peers

ct.STABILIZE_MS = 100
ct.RPC_TIMEOUT_MS = 500
ct.LEAVE_S = 10
SYNC_MS = 4 * ct.STABILIZE_MS
REPAIR_S = 3 * SYNC_MS / 1000 + 3.0     # 3 anti-entropy rounds + failure detection
os.environ.setdefault("CHORD_TEST_WATCHDOG_S", "230")
# Writes and reads the workload must complete; a sanitizer build, whose
# every chordctl run costs several times more, lowers it (make sanitize).
MIN_OPS = int(os.environ.get("CHORD_CHURN_MIN_OPS") or 200)

OPTIONS = set()             # chordd options this build has, from --help


def chordd_help():
    """chordd --help output (bytes), or None when chordd cannot be run."""
    try:
        return subprocess.run([ct.CHORDD, "--help"], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, timeout=10, env=ct.ENV).stdout
    except (OSError, subprocess.TimeoutExpired):
        return None


# ---------------------------------------------------------------------------
# Nodes: a node is one --listen address and data directory, run by one chordd
# process at a time (restarts are new processes on the same address).

class Node:
    def __init__(self, name, port):
        self.name = name
        self.port = port
        self.data_dir = os.path.join(ct.TMPDIR, "data-" + name)
        self.peer = None            # the running chordd (a ct.Peer), None when down
        self.state = "new"          # up, killed, stopped
        self.runs = 0

    def __repr__(self):
        return "%s(:%d)" % (self.name, self.port)


nodes = []
state_lock = threading.Lock()       # guards nodes' state and peer
live_peers = []                     # ct.Peer of every node that is up; replaced, never mutated


def refresh_live():
    global live_peers
    with state_lock:
        live_peers = [n.peer for n in nodes if n.state == "up"]


def daemon_extra(node):
    extra = []
    if "--replicas" in OPTIONS:
        extra += ["--replicas", str(REPLICAS)]
    if "--data-dir" in OPTIONS:
        extra += ["--data-dir", node.data_dir]
    if "--sync-ms" in OPTIONS:
        extra += ["--sync-ms", str(SYNC_MS)]
    if WRITE_QUORUM and "--write-quorum" in OPTIONS:
        extra += ["--write-quorum", WRITE_QUORUM]
    return extra


def launch(node, join):
    """Starts chordd for node on its port; returns (peer, None) once it
    listens, or (None, why). Retries for a while when the port is taken."""
    why = "not tried"
    for attempt in range(4):
        node.runs += 1
        peer, outcome = ct.spawn(node.port, ct.chordd_argv(node.port, join, None, daemon_extra(node)),
                                 "%s-run%d-%d.log" % (node.name, node.runs, node.port),
                                 timeout_s=2 * ct.START_TIMEOUT_S)
        if outcome == "listening":
            return peer, None
        if outcome == "silent":
            return None, "%s did not report listening within %d s" % (node, 2 * ct.START_TIMEOUT_S)
        why = "%s exited %s at start: %s" % (node, peer.proc.returncode, ct.text(peer.log()[-300:]))
        if b"in use" not in peer.log():
            return None, why
        diag("port %d of %s is taken; retrying in 1 s (attempt %d)" % (node.port, node, attempt + 1))
        time.sleep(1)
    return None, why


def new_node(join):
    """A node on a fresh free port (never a port of another node, up or down), started."""
    taken = {n.port for n in nodes}
    port = ct.free_port()
    for _ in range(20):
        if port not in taken:
            break
        port = ct.free_port()
    node = Node("node%d" % len(nodes), port)
    with state_lock:
        nodes.append(node)
    peer, why = launch(node, join)
    return node, peer, why


def wait_active(peer, bound_s=ACTIVE_S):
    """Seconds until `chordctl info` through peer says active, or None."""
    start = time.monotonic()
    while time.monotonic() - start < bound_s:
        code, out, _ = ct.ctl(peer, "--json", "info", timeout_ms=1500)
        if code == 0:
            try:
                if json.loads(out).get("state") == "active":
                    return time.monotonic() - start
            except ValueError:
                pass
        if peer.proc.poll() is not None:
            return None
        time.sleep(0.1)
    return None


# ---------------------------------------------------------------------------
# Workload

class KeyState:
    def __init__(self, key):
        self.key = key
        self.seq = 0            # last sequence number written (acknowledged or not)
        self.acked = None       # last acknowledged sequence number
        self.maybes = set()     # sequence numbers of puts with an unknown outcome
        self.fail_since = None  # start of the first failed read since the last good one
        self.last_try = 0.0


class Stats:
    def __init__(self):
        self.lock = threading.Lock()
        self.puts_acked = 0
        self.puts_maybe = {}        # exit code -> count
        self.reads_ok = 0
        self.reads_failed = {}      # kind -> count
        self.bogus = []             # reads that returned a value never written for that key
        self.gaps = []              # (seconds unreadable, key, still unreadable at the end)

    def add(self, table, kind):
        with self.lock:
            table[kind] = table.get(kind, 0) + 1


stats = Stats()
keys_by_thread = []


def make_value(state, r):
    return b"v1 %s %d %s" % (state.key, state.seq, b"%x" % r.getrandbits(4 * r.randrange(1, 64)))


def judge(state, code, out):
    """ok, missing (not found after an ack), stale (an older value), bogus
    (never written), or error (no answer): a read of state's key."""
    if code == 1:
        return "ok" if state.acked is None else "missing"
    if code != 0:
        return "error"
    parts = out.split(b" ")
    try:
        seq = int(parts[2])
    except (IndexError, ValueError):
        return "bogus"
    if len(parts) != 4 or parts[0] != b"v1" or parts[1] != state.key or not 1 <= seq <= state.seq:
        return "bogus"
    if seq == state.acked or (seq in state.maybes and (state.acked is None or seq > state.acked)):
        return "ok"
    return "stale"


def workload(index, stop, started):
    r = random.Random("%d-workload-%d" % (ct.SEED, index))
    states = keys_by_thread[index]
    failing = []                # states whose last read failed, oldest retry first
    while not stop.is_set():
        now = time.monotonic()
        if failing and now - failing[0].last_try >= RETRY_EVERY_S:
            state, op = failing.pop(0), "get"
        else:
            state, op = r.choice(states), ("put" if r.random() < PUT_SHARE else "get")
        live = live_peers
        if not live:
            time.sleep(0.1)
            continue
        peer = r.choice(live)
        t0 = time.monotonic()
        if op == "put":
            state.seq += 1
            code, _, _ = ct.ctl(peer, "put", "--", state.key, make_value(state, r), timeout_ms=OP_TIMEOUT_MS)
            if code == 0:
                state.acked = state.seq
                state.maybes = set()
                with stats.lock:
                    stats.puts_acked += 1
            else:
                state.maybes.add(state.seq)
                stats.add(stats.puts_maybe, "exit %s" % code)
        else:
            code, out, err = ct.ctl(peer, "get", "--", state.key, timeout_ms=OP_TIMEOUT_MS)
            verdict = judge(state, code, out)
            state.last_try = time.monotonic()
            if verdict == "ok":
                with stats.lock:
                    stats.reads_ok += 1
                    if state.fail_since is not None:
                        stats.gaps.append((t0 - state.fail_since, state.key, False))
                state.fail_since = None
                if state in failing:
                    failing.remove(state)
            else:
                stats.add(stats.reads_failed, verdict if verdict != "error" else "exit %s" % code)
                if verdict == "bogus":
                    with stats.lock:
                        stats.bogus.append("get %s via %s: %r (last written seq %d)" % (
                            ct.show([state.key]), peer, out[:80], state.seq))
                if state.fail_since is None:
                    state.fail_since = t0
                if state not in failing:
                    failing.append(state)
        started.set()
        time.sleep(OP_PAUSE_S)
    end = time.monotonic()
    with stats.lock:
        for state in states:
            if state.fail_since is not None:
                stats.gaps.append((end - state.fail_since, state.key, True))


# ---------------------------------------------------------------------------
# Churn

def plan_churn(r):
    """[(kind, seconds after the churn starts)], following the rules in the docstring."""
    remaining = dict(KIND_COUNTS)
    live, down, t, times, plan = START_PEERS, 0, 0.0, [], []
    for _ in range(sum(remaining.values())):
        t += r.uniform(GAP_MIN_S, GAP_MAX_S)
        choices = []
        for kind, _ in KIND_COUNTS:
            if not remaining[kind]:
                continue
            if kind in DEPARTURES and live <= MIN_LIVE:
                continue
            if (kind == "restart" and not down) or (kind == "join" and live >= MAX_LIVE):
                continue
            choices += [kind] * remaining[kind]
        kind = r.choice(choices) if choices else "join"
        remaining[kind] = max(0, remaining[kind] - 1)
        if kind in DEPARTURES:
            t = window_open(times, t)
            live, down = live - 1, down + 1
        else:
            live, down = live + 1, down - (kind == "restart")
        times.append(t)
        plan.append((kind, t))
    return plan


def window_open(times, t):
    """The earliest time >= t when fewer than DESIGN_REPLICAS-1 of times lie in the last REPAIR_S."""
    for _ in range(len(times) + 1):
        recent = sorted(x for x in times if t - REPAIR_S < x <= t)
        if len(recent) < DESIGN_REPLICAS - 1:
            return t
        t = recent[0] + REPAIR_S + 0.01
    return t


def run_event(kind, r, number, total, at):
    """Carries out one churn event; one TAP assertion. Returns the event's kind as done."""
    live = live_peers
    label = "churn %d/%d at %.1f s" % (number, total, at)
    if kind in DEPARTURES:
        with state_lock:
            node = r.choice([n for n in nodes if n.state == "up"])
            peer = node.peer
            node.state = "killed" if kind == "kill" else "stopped"
            node.peer = None
        refresh_live()
        if kind == "kill":
            peer.proc.kill()
            try:
                code = peer.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                code = None
            ct.unregister(peer.proc)
            ok(code == -signal.SIGKILL, "%s: SIGKILL %s; it died (exit %s); %d alive" % (
                label, node, code, len(live_peers)))
        else:
            code, seconds = ct.stop_gracefully(peer, STOP_S)
            ok(code == 0, "%s: SIGTERM %s; it left with exit 0 within %d s (exit %s after %.2f s); %d alive" % (
                label, node, STOP_S, code, seconds, len(live_peers)))
        return kind
    via = r.choice(live)
    if kind == "restart":
        with state_lock:
            node = r.choice([n for n in nodes if n.state in ("killed", "stopped")])
        was = node.state
        peer, why = launch(node, via)
        what = "restart %s %s on its data directory and address, joining through %s" % (was, node, via.endpoint)
    else:
        node, peer, why = new_node(via)
        what = "new peer %s joins through %s" % (node, via.endpoint)
    active = wait_active(peer) if peer else None
    if peer:
        with state_lock:
            node.peer, node.state = peer, "up"
        refresh_live()
    ok(peer is not None and active is not None, "%s: %s; it listens and says active within %d s (%s); %d alive" % (
        label, what, ACTIVE_S, why or ("%.2f s" % active if active is not None else "not active"), len(live_peers)),
       [why] if why else [])
    if peer is None and kind == "restart":
        diag("%s stays down" % node)
    return kind


# ---------------------------------------------------------------------------
# Final check

def final_reads(pool, states):
    """Reads every written key through READ_VIAS distinct live peers, retrying
    failures for up to DATA_SETTLE_S. Returns {(key state, peer): verdict}."""
    r = random.Random("%d-final" % ct.SEED)
    live = live_peers
    items = [(s, p) for s in states for p in r.sample(live, min(READ_VIAS, len(live)))]

    def read(item):
        state, peer = item
        code, out, err = ct.ctl(peer, "get", "--", state.key, timeout_ms=OP_TIMEOUT_MS)
        return judge(state, code, out), code, out, err

    verdicts = {}
    todo = items
    start = time.monotonic()
    rounds = 0
    while todo:
        rounds += 1
        results = list(pool.map(read, todo))
        for item, result in zip(todo, results):
            verdicts[item] = result
        failed = [item for item, result in zip(todo, results) if result[0] != "ok"]
        if rounds == 1 and failed:
            diag("final reads, first pass: %d of %d wrong; retrying those for up to %d s" % (
                len(failed), len(items), DATA_SETTLE_S))
        todo = failed
        if not todo or time.monotonic() - start > DATA_SETTLE_S:
            break
        time.sleep(1)
    diag("final reads: %d gets of %d keys in %.1f s, %d rounds" % (
        len(items), len(states), time.monotonic() - start, rounds))
    return verdicts


def main():
    wall = time.monotonic()
    OPTIONS.update(o for o in ("--replicas", "--data-dir", "--sync-ms", "--write-quorum")
                   if o.encode() in (chordd_help() or b""))
    missing = [o for o in ("--replicas", "--data-dir", "--sync-ms") if o not in OPTIONS]
    diag("chordd --replicas %s%s, churn planned for R = %d; options this chordd lacks (not passed): %s" % (
        REPLICAS, " --write-quorum " + WRITE_QUORUM if WRITE_QUORUM else "", DESIGN_REPLICAS,
        " ".join(missing) or "none"))
    churn_rng = random.Random("%d-churn" % ct.SEED)
    plan = plan_churn(churn_rng)
    diag("churn plan (kind@s): %s; departures need < %d events in the last %.1f s" % (
        " ".join("%s@%.1f" % e for e in plan), DESIGN_REPLICAS - 1, REPAIR_S))
    pool = concurrent.futures.ThreadPoolExecutor(max_workers=ct.WORKERS)
    stop = threading.Event()
    threads = []
    try:
        # 1. The ring.
        for i in range(START_PEERS):
            node, peer, why = new_node(ct.rng.choice(live_peers) if live_peers else None)
            if peer is None:
                raise Fatal(why)
            node.peer, node.state = peer, "up"
            refresh_live()
        seconds, problem = ct.wait_converged(live_peers, pool)
        if not ok(seconds is not None, "the ring of %d peers converges within %d s" % (START_PEERS, ct.CONVERGE_S),
                  [problem]):
            raise Fatal("no ring to test")
        diag("converged %d peers %.1f s after the test started" % (START_PEERS, time.monotonic() - wall))

        # 2. The workload.
        for t in range(THREADS):
            keys_by_thread.append([KeyState(b"churn-t%d-k%03d-%08x" % (t, i, ct.rng.getrandbits(32)))
                                   for i in range(KEYS_PER_THREAD)])
        started = threading.Event()
        for t in range(THREADS):
            thread = threading.Thread(target=workload, args=(t, stop, started), daemon=True)
            thread.start()
            threads.append(thread)
        started.wait(30)
        time.sleep(WARMUP_S)
        diag("workload warm-up: %d writes acknowledged, %d reads right" % (stats.puts_acked, stats.reads_ok))

        # 3. Churn.
        churn_start = time.monotonic()
        done, event_times = {}, []
        for number, (kind, at) in enumerate(plan, 1):
            delay = churn_start + at - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            if kind in DEPARTURES:      # the window again, on real times
                now = time.monotonic()
                wait = window_open(event_times, now) - now
                if wait > 0:
                    time.sleep(wait)
                if len(live_peers) <= MIN_LIVE:
                    diag("churn %d: only %d alive, a join instead of a %s" % (number, len(live_peers), kind))
                    kind = "join"
            event_times.append(time.monotonic())
            kind = run_event(kind, churn_rng, number, len(plan), time.monotonic() - churn_start)
            done[kind] = done.get(kind, 0) + 1
        churn_s = time.monotonic() - churn_start
        time.sleep(TAIL_S)
        stop.set()
        for thread in threads:
            thread.join(timeout=ct.RUN_TIMEOUT_S + 5)
        ok(not any(t.is_alive() for t in threads), "the workload threads stop")

        # 4. The workload's own findings.
        states = [s for group in keys_by_thread for s in group if s.seq]
        with stats.lock:
            acked, reads_ok = stats.puts_acked, stats.reads_ok
            maybe = sum(stats.puts_maybe.values())
            read_fails = dict(stats.reads_failed)
            bogus = list(stats.bogus)
            gaps = sorted(stats.gaps, reverse=True)
        ok(acked >= MIN_OPS and reads_ok >= MIN_OPS, "the workload made progress: %d writes acknowledged, "
           "%d reads right (at least %d each)" % (acked, reads_ok, MIN_OPS))
        ok(not bogus, "no read during the churn returned a value that was never written for its key (%d did)" %
           len(bogus), bogus[:10])

        # 5. Convergence, then every key through several peers.
        live = live_peers
        seconds, problem = ct.wait_converged(live, pool)
        ok(seconds is not None, "after the churn the ring of %d peers converges within %d s" % (
            len(live), ct.CONVERGE_S), [problem])
        if seconds is None:
            raise Fatal("no ring to read back from")
        diag("converged %.1f s after the workload stopped" % seconds)
        time.sleep(3 * SYNC_MS / 1000)
        verdicts = final_reads(pool, states)
        wrong = [(s, p, v) for (s, p), v in verdicts.items() if v[0] != "ok"]
        lost = sorted({s.key for s, _, v in wrong if s.acked is not None and v[0] in ("missing", "stale")})
        details = ["get %s via %s: %s (exit %s, %r; last acked seq %s, maybes %s) %s" % (
            ct.show([s.key]), p, v[0], v[1], v[2][:40], s.acked, sorted(s.maybes), ct.text(v[3])[:100])
            for s, p, v in wrong]
        by_kind = {}
        for _, _, v in wrong:
            by_kind[v[0]] = by_kind.get(v[0], 0) + 1

        diag("writes acknowledged: %d; writes with an unknown outcome (maybe): %d %s" % (
            acked, maybe, stats.puts_maybe or ""))
        diag("writes lost: %d of %d acknowledged keys" % (len(lost), sum(1 for s in states if s.acked)))
        diag("reads during the churn: %d right, %d failed %s" % (reads_ok, sum(read_fails.values()), read_fails))
        diag("churn events by kind: %s in %.1f s" % (
            ", ".join("%s %d" % (k, done.get(k, 0)) for k, _ in KIND_COUNTS), churn_s))
        if gaps:
            worst = gaps[0]
            diag("longest time a key was unreadable: %.2f s (%s%s); %d keys had a failed read" % (
                worst[0], ct.show([worst[1]]), ", still unreadable when the workload stopped" if worst[2] else "",
                len({g[1] for g in gaps})))
        else:
            diag("longest time a key was unreadable: 0 s (no read failed)")
        ok(not lost, "writes lost == 0 (%d acknowledged keys read back missing or older)" % len(lost),
           [ct.show([k]) for k in lost[:10]])
        ok(not wrong, "every written key reads back its last acknowledged value (or a later maybe) through each "
           "of %d peers asked (%d of %d wrong: %s)" % (READ_VIAS, len(wrong), len(verdicts), by_kind), details[:10])
        diag("test wall time before the final stop: %.1f s" % (time.monotonic() - wall))

        # 6. Everyone leaves gracefully, so sanitizers get to report at exit.
        with state_lock:
            leaving = [n.peer for n in nodes if n.state == "up"]
            for n in nodes:
                n.state, n.peer = "stopped", None
        refresh_live()
        ct.stop_all(leaving)
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=ct.RUN_TIMEOUT_S + 5)
        pool.shutdown(wait=True)


if __name__ == "__main__":
    ct.finish(main, "chord-churn-", secured=True)
