"""Helpers shared by the live-ring TAP tests (tests/*.t, Python 3, standard
library only): TAP output; every process started is registered and killed by
PID on every exit path (finally, atexit, signal handlers, a watchdog);
chordd processes on free ports, each holding one or more ring positions
(--vnodes); chordctl runs with bounded waits; BLAKE2b-160 ids and ownership
computed independently of the daemons; ring convergence; sample keys and
values; data checks that retry once after a false suspicion; daemon log
tails as TAP diagnostics and sanitizer-report checks.

A test imports it with the test's own directory on sys.path:

    sys.dont_write_bytecode = True     # no tests/__pycache__ in the source tree
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import chordtest as ct

then calls ct.init("prefix-") and ct.finish(main). Constants (STABILIZE_MS,
CONVERGE_S, ...) are read when used, so a test may override them after the
import. Environment: CHORD_BIN (default ./bin), CHORD_TEST_SEED,
CHORD_TEST_WORKERS, CHORD_TEST_WATCHDOG_S, CHORD_KEEP_LOGS (see init),
CHORD_TEST_CONVERGE_S (CONVERGE_S),
CHORD_TEST_SECURE (see below).

Secured rings: with SECRET set to a cluster secret file, every chordd the
helpers start gets --secret SECRET and every chordctl run through ctl() gets
--secret SECRET (both overridable per call). A suite says whether it runs
secured by default (finish(..., secured=True) makes init() create a secret);
CHORD_TEST_SECURE=1 or =0 overrides that either way, so every suite can run
both ways unchanged."""

import atexit
import bisect
import hashlib
import json
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import traceback

BIN = os.environ.get("CHORD_BIN", "./bin")
CHORDD = os.path.join(BIN, "chordd")
CHORDCTL = os.path.join(BIN, "chordctl")

# chordctl processes run at once: 16, or fewer on a small machine
WORKERS = int(os.environ.get("CHORD_TEST_WORKERS") or min(16, 4 * (os.cpu_count() or 1)))
STABILIZE_MS = 100
RPC_TIMEOUT_MS = 300
CTL_TIMEOUT_MS = 4000       # chordctl --timeout for data commands
RUN_TIMEOUT_S = 10          # no chordctl run may take longer
START_TIMEOUT_S = 5         # a chordd must have bound its port by then
# the ring must converge within this; `make sanitize` gives slower builds more
CONVERGE_S = float(os.environ.get("CHORD_TEST_CONVERGE_S") or 30)
LEAVE_S = 5                 # a SIGTERMed chordd must exit within this
SUCCESSORS_MAX = 20         # chordd's cap on the successor list (protocol/node.h)
SANITIZER_MARKERS = (b"ERROR: AddressSanitizer", b"runtime error:", b"ERROR: LeakSanitizer",
                     b"Sanitizer has encountered a fatal error")

ENV = dict(os.environ)
ENV.pop("CHORD_SERVER", None)    # never reach a developer's real ring

# Set by init() (or by a test): the cluster secret file every chordd and
# chordctl the helpers start is given; None: open rings.
SECRET = None
DEFAULT = object()           # "use SECRET" for the secret= parameters below

# Set by init().
SEED = None
rng = random.Random()
TMPDIR = None
WATCHDOG_S = None

# ---------------------------------------------------------------------------
# TAP

_tap_lock = threading.Lock()
_count = 0
_failed = 0


def diag(text):
    with _tap_lock:
        for line in str(text).splitlines() or [""]:
            print("# " + line)
        sys.stdout.flush()


def ok(cond, name, details=(), todo=None):
    """One TAP assertion; details (lines) are printed as diagnostics when it
    fails. With todo (a reason), a failure is a known bug: TAP "# TODO", which
    prove does not count as a failure (and reports when it starts passing)."""
    global _count, _failed
    with _tap_lock:
        _count += 1
        if not cond and not todo:
            _failed += 1
        print("%s %d - %s%s" % ("ok" if cond else "not ok", _count, name.replace("#", "\\#"),
                                " # TODO " + todo if todo else ""))
        if not cond:
            lines = [sub for line in details for sub in str(line).splitlines()]
            for sub in lines:
                print("#   " + sub)
            # prove shows stderr, not the TAP stream: the first lines of why
            # reach a CI log that keeps only prove's summary.
            sys.stdout.flush()
            for sub in lines[:4] if not todo else ():
                sys.stderr.write("# %s: %s\n" % (name[:80], sub[:400]))
            sys.stderr.flush()
        sys.stdout.flush()
    return bool(cond)


def skip(name, reason):
    """One TAP assertion that did not run, with the reason: "ok N - name # SKIP reason"
    (ok() escapes a '#' in its name, so a SKIP written there is not one)."""
    global _count
    with _tap_lock:
        _count += 1
        print("ok %d - %s # SKIP %s" % (_count, name.replace("#", "\\#"), reason.replace("#", "\\#")))
        sys.stdout.flush()


def failed():
    return _failed


class Fatal(Exception):
    """Nothing sensible can follow: stop the run (after cleanup)."""


# ---------------------------------------------------------------------------
# Processes: every one is registered and killed by PID on every exit path.

_procs_lock = threading.RLock()    # reentrant: the signal handler may interrupt a holder
_procs = set()
_cleaned = False


def register(proc):
    with _procs_lock:
        _procs.add(proc)
        if _cleaned:                # started while cleaning up: do not leave it behind
            proc.kill()


def unregister(proc):
    with _procs_lock:
        _procs.discard(proc)


def cleanup():
    """Kills (SIGKILL, by PID) every process this test started that still runs."""
    global _cleaned
    with _procs_lock:
        procs = list(_procs)
        _cleaned = True
    for proc in procs:
        try:
            if proc.poll() is None:
                proc.kill()
        except OSError:
            pass
    for proc in procs:
        try:
            proc.wait(timeout=5)
        except (subprocess.TimeoutExpired, OSError):
            pass


def _on_signal(signo, _frame):
    print("Bail out! interrupted by signal %d" % signo)
    sys.stdout.flush()
    cleanup()
    os._exit(128 + signo)


def _watchdog():
    print("Bail out! the test ran longer than %.0f s" % WATCHDOG_S)
    sys.stdout.flush()
    cleanup()
    dump_logs()
    os._exit(1)


sanitizer_hits = []          # (what, excerpt) from chordctl stderr


def run(argv, stdin=None, timeout=RUN_TIMEOUT_S):
    """Runs argv; returns (exit code or None when killed/unstartable, stdout, stderr)."""
    try:
        proc = subprocess.Popen(argv, stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=ENV)
    except OSError as e:
        return None, b"", str(e).encode()
    register(proc)
    try:
        out, err = proc.communicate(stdin, timeout=timeout)
        code = proc.returncode
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
        code = None
    finally:
        unregister(proc)
    if any(m in err for m in SANITIZER_MARKERS):
        sanitizer_hits.append((" ".join(str(a) for a in argv[1:])[:100], err[-2000:]))
    return code, out, err


def auth_args(secret=DEFAULT, key=None):
    """chordctl's credentials: --key KEY when key is given, else --secret
    (SECRET by default; none when it or secret is None)."""
    if key:
        return ["--key", key]
    secret = SECRET if secret is DEFAULT else secret
    return ["--secret", secret] if secret else []


def ctl(peer, *args, stdin=None, timeout_ms=None, secret=DEFAULT, key=None):
    """chordctl -s PEER --timeout T [--secret S | --key K] ARGS... (args may
    be bytes); peer may be a Peer or an endpoint string."""
    timeout_ms = timeout_ms or CTL_TIMEOUT_MS
    endpoint = peer if isinstance(peer, str) else peer.endpoint
    return run([CHORDCTL, "-s", endpoint, "--timeout", str(timeout_ms)] + auth_args(secret, key) + list(args),
               stdin=stdin, timeout=max(RUN_TIMEOUT_S, timeout_ms / 1000 + 5))


def keygen(*args):
    """chordctl keygen ARGS...; returns the key it printed (str), or raises Fatal."""
    code, out, err = run([CHORDCTL, "keygen"] + list(args))
    if code != 0:
        raise Fatal("chordctl keygen %s: exit %s: %s" % (" ".join(args), code, text(err)))
    return text(out)


HTTP_TOKENS = {}            # role -> the bearer token of that role in TMPDIR/http.tokens (http_token_args)


def http_token_args():
    """On a secured ring (SECRET set): makes TMPDIR/http.tokens once, with a
    token of each role (chordctl keygen --http-token ROLE --file), and
    returns ["--http-tokens", path] for chordd; [] on an open ring."""
    if not SECRET:
        return []
    path = os.path.join(TMPDIR, "http.tokens")
    if not HTTP_TOKENS:
        for role in ("read", "write", "admin"):
            HTTP_TOKENS[role] = keygen("--http-token", role, "--file", path)
    return ["--http-tokens", path]


def http_headers(role="admin"):
    """{"Authorization": "Bearer TOKEN"} with the token of role when
    http_token_args() made tokens (a secured ring), else {}."""
    return {"Authorization": "Bearer " + HTTP_TOKENS[role]} if HTTP_TOKENS else {}


def show(args):
    return " ".join(a.decode("utf-8", "replace") if isinstance(a, bytes) else str(a) for a in args)


def text(data):
    return data.decode("utf-8", "replace").strip()


# ---------------------------------------------------------------------------
# Ids and ownership

def blake(data):
    return hashlib.blake2b(data, digest_size=20).digest()


def position_id(endpoint, index):
    """Position 0: BLAKE2b-160(endpoint); position i >= 1: BLAKE2b-160(endpoint + "#" + str(i))."""
    return blake(endpoint.encode() if index == 0 else ("%s#%d" % (endpoint, index)).encode())


def positions(live):
    """[(id, peer)] for every position of every live peer, in id order."""
    return sorted((pid, p) for p in live for pid in p.ids)


def owner_position(key_id, live):
    """successor(key_id) among every position of the live peers: the first
    position id >= key_id, wrapping. Returns (position id, peer holding it)."""
    ring = positions(live)
    i = bisect.bisect_left([pid for pid, _ in ring], key_id)
    return ring[i % len(ring)]


def holder_positions(key_id, live):
    """The positions that keep copies of a key: its owner, then the first
    position of each of the next replicas-1 distinct processes among the
    owner's successors (its first `successors` positions), as the owner
    replicates. When those are too few, the owner looks further round the
    ring (its fingers, then its predecessor); that is modelled as going on
    round the ring, which is exact when a finger or the predecessor names
    the next process (always so with two processes). Returns position ids."""
    ring = positions(live)
    ids = [pid for pid, _ in ring]
    first = bisect.bisect_left(ids, key_id) % len(ring)
    owner, peer = ring[first]
    holders, processes = [owner], {peer.endpoint}
    window = min(peer.successors, len(ring) - 1)
    for beyond in (False, True):
        for step in range(window + 1, len(ring)) if beyond else range(1, window + 1):
            if len(holders) == peer.replicas:
                return holders
            pid, other = ring[(first + step) % len(ring)]
            if other.endpoint not in processes:
                processes.add(other.endpoint)
                holders.append(pid)
    return holders


def one_position_each(live):
    """True when every live peer holds a single position (no --vnodes above
    1): descriptions then speak of peers rather than positions and processes."""
    return all(p.vnodes == 1 for p in live)


def short(pid):
    return pid.hex()[:8]


# ---------------------------------------------------------------------------
# Peers (chordd processes)

all_peers = []               # every peer ever started, for the log dump


class Peer:
    def __init__(self, number, port, proc, log_path, vnodes=1, argv=()):
        self.number = number
        self.port = port
        self.endpoint = "tcp://127.0.0.1:%d" % port
        self.argv = list(argv)
        self.set_positions(list(range(vnodes)))
        self.proc = proc
        self.log_path = log_path

    def set_positions(self, indices):
        """The numbers i of the positions this process holds, ascending
        (chordd logs them before it listens), each with the id of
        ENDPOINT#i; self.id is the first, the one a request without a target
        reaches."""
        self.indices = list(indices)
        self.ids = [position_id(self.endpoint, i) for i in self.indices]
        self.id = self.ids[0]
        self.vnodes = len(self.ids)
        # Copies per key and successor list length, as chordd derives them.
        self.replicas = int(option_value(self.argv, "--replicas", 3))
        self.successors = int(option_value(self.argv, "--successors",
                                           max(3, min(SUCCESSORS_MAX, self.replicas * self.vnodes))))

    def read_positions(self):
        """Takes the positions from the log's "position I of ENDPOINT has id
        HEX" lines; returns False when there are none."""
        found = re.findall(rb"position (\d+) of \S+ has id ([0-9a-f]{40})", self.log())
        if not found:
            return False
        self.set_positions([int(i) for i, _ in found])
        if [pid.hex() for pid in self.ids] != [h.decode() for _, h in found]:
            raise Fatal("%s logged position ids that are not BLAKE2b of its endpoint#i" % self)
        return True

    def __repr__(self):
        return "peer%d(%s %s%s)" % (self.number, self.endpoint, short(self.id),
                                    " x%d" % self.vnodes if self.vnodes != 1 else "")

    def log(self):
        try:
            with open(self.log_path, "rb") as f:
                return f.read()
        except OSError:
            return b""


def option_value(argv, name, default):
    """The value given to option name in argv, or default."""
    argv = list(argv)
    for i, arg in enumerate(argv[:-1]):
        if arg == name:
            return argv[i + 1]
    return default


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def chordd_argv(port, join=None, vnodes=None, extra=(), secret=DEFAULT):
    """chordd's command line; with --secret SECRET (or secret, when given and not None)."""
    argv = [CHORDD, "--listen", "tcp://127.0.0.1:%d" % port, "--stabilize-ms", str(STABILIZE_MS),
            "--rpc-timeout-ms", str(RPC_TIMEOUT_MS)]
    secret = SECRET if secret is DEFAULT else secret
    if secret:
        argv += ["--secret", secret]
    if vnodes is not None:
        argv += ["--vnodes", str(vnodes)]
    if join:
        argv += ["--join", join.endpoint]
    # CHORD_TEST_DAEMON_ARGS adds options to every chordd, e.g. "--log-level debug".
    return argv + list(extra) + os.environ.get("CHORD_TEST_DAEMON_ARGS", "").split()


def spawn(port, argv, log_name, vnodes=None, timeout_s=None):
    """Runs chordd argv (listening on port), logging to TMPDIR/log_name, and
    waits until it listens. Returns (peer, outcome): "listening"; "exited"
    (the process ended; unregistered); or "silent" (no listening line within
    timeout_s, default START_TIMEOUT_S; killed and unregistered). The peer
    goes into all_peers either way, so its log is shown on failure."""
    log_path = os.path.join(TMPDIR, log_name)
    with open(log_path, "wb") as log:
        try:
            proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log, stderr=log, env=ENV)
        except OSError as e:
            raise Fatal("cannot run %s: %s" % (CHORDD, e))
    register(proc)
    peer = Peer(len(all_peers), port, proc, log_path, 1 if vnodes is None else vnodes, argv)
    all_peers.append(peer)
    deadline = time.monotonic() + (timeout_s or START_TIMEOUT_S)
    while time.monotonic() < deadline:
        if b"listening on" in peer.log():
            if not peer.read_positions():
                raise Fatal("%s listens but logged no position ids" % peer)
            return peer, "listening"
        if proc.poll() is not None:
            unregister(proc)
            return peer, "exited"
        time.sleep(0.02)
    proc.kill()
    proc.wait(timeout=5)
    unregister(proc)
    return peer, "silent"


def start_peer(join=None, vnodes=None, extra=(), secret=DEFAULT):
    """Starts a chordd on a free port (retrying on a bind clash), with --vnodes
    when vnodes is not None, secured with secret (default SECRET); returns
    once it listens."""
    for attempt in range(8):
        port = free_port()
        peer, outcome = spawn(port, chordd_argv(port, join, vnodes, extra, secret),
                              "peer%d-%d.log" % (len(all_peers), port), vnodes)
        if outcome == "listening":
            return peer
        if outcome == "silent":
            raise Fatal("%s did not report listening within %d s" % (peer, START_TIMEOUT_S))
        if b"in use" not in peer.log():
            raise Fatal("%s exited %s at start: %r" % (peer, peer.proc.returncode, peer.log()[-300:]))
        diag("port %d was taken before chordd bound it; retrying (attempt %d)" % (port, attempt + 1))
    raise Fatal("could not start a peer: every port tried was taken")


def stop_gracefully(peer, bound_s=None):
    """SIGTERM; returns (exit code or None if it had to be killed, seconds)."""
    bound_s = bound_s or LEAVE_S
    start = time.monotonic()
    peer.proc.send_signal(signal.SIGTERM)
    try:
        code = peer.proc.wait(timeout=bound_s)
    except subprocess.TimeoutExpired:
        peer.proc.kill()
        peer.proc.wait(timeout=5)
        code = None
    unregister(peer.proc)
    return code, time.monotonic() - start


def stop_all(live):
    """Every live peer leaves on SIGTERM, one at a time in random order, so
    sanitizers get to report at exit; one assertion that each exited 0 within
    LEAVE_S. Empties live."""
    noun = "peer" if one_position_each(live) else "process"
    codes = []
    while live:
        peer = live.pop(rng.randrange(len(live)))
        code, seconds = stop_gracefully(peer)
        codes.append((peer.number, code, seconds))
        # As an operator drains a ring: a moment for the others to drop the
        # departed positions from their successor lists. A leaving position
        # hands its keys to the first successor that acknowledges them, and
        # one that left just before costs it 4 RPC timeouts.
        if live:
            time.sleep(3 * STABILIZE_MS / 1000.0)
    ok(all(code == 0 for _, code, _ in codes), "at the end every %s leaves on SIGTERM with exit 0 (%s)" % (
        noun, " ".join("peer%d:%s/%.1fs" % c for c in codes)))


def dump_logs(lines=25):
    for peer in all_peers:
        log_lines = peer.log().decode("utf-8", "replace").splitlines()
        state = "running" if peer.proc.poll() is None else "exit %s" % peer.proc.returncode
        diag("--- last %d lines of %s [%s], %s ---" % (min(lines, len(log_lines)), peer, state, peer.log_path))
        for line in log_lines[-lines:]:
            diag("  " + line)


# ---------------------------------------------------------------------------
# Ring convergence

def ring_problem(via, live, timeout_ms=1500):
    """None when `chordctl ring --json` through via lists exactly every
    position of the live peers, in id order starting at via's position 0, each
    with the endpoint of the peer holding it and consistent predecessor and
    successor (a position alone may have no predecessor), and chordctl warned
    of nothing; else why not."""
    code, out, err = ctl(via, "--json", "ring", timeout_ms=timeout_ms)
    if code != 0:
        return "ring from %s: exit %s: %s" % (via, code, text(err)[:200])
    if b"warning" in err:
        return "ring from %s: %s" % (via, text(err)[:300])
    try:
        walked = json.loads(out)
        got = [bytes.fromhex(pos["id"]) for pos in walked]
    except (ValueError, TypeError, KeyError):
        return "ring from %s: unexpected JSON %r" % (via, out[:200])
    ring = positions(live)
    ids = [pid for pid, _ in ring]
    start = ids.index(via.id)
    expected = ids[start:] + ids[:start]
    if got != expected:
        return "ring from %s: %d positions %s, want %d %s" % (
            via, len(got), [short(g) for g in got], len(expected), [short(e) for e in expected])
    holder = dict(ring)
    n = len(expected)
    for i, pos in enumerate(walked):
        want_pred = expected[(i - 1) % n].hex()
        want_succ = expected[(i + 1) % n].hex()
        got_pred = pos.get("predecessor")
        if n == 1 and got_pred is None:
            got_pred = want_pred            # a position alone in the ring has no predecessor
        if got_pred != want_pred or pos.get("successor") != want_succ:
            return "ring from %s: %s has pred %s succ %s, want %s %s" % (
                via, pos["id"][:8], str(pos.get("predecessor"))[:8], str(pos.get("successor"))[:8],
                want_pred[:8], want_succ[:8])
        if pos.get("endpoint") != holder[expected[i]].endpoint:
            return "ring from %s: %s has endpoint %r, held by %s" % (
                via, pos["id"][:8], pos.get("endpoint"), holder[expected[i]])
    return None


def wait_converged(live, pool, vias=None):
    """Waits (at most CONVERGE_S) until the ring seen through each of vias
    (default: every live peer) is right. Returns (seconds or None, last problem)."""
    vias = live if vias is None else vias
    start = time.monotonic()
    problem = "never checked"
    while time.monotonic() - start < CONVERGE_S:
        problems = [p for p in pool.map(lambda v: ring_problem(v, live), vias) if p]
        if not problems:
            return time.monotonic() - start, None
        problem = "%d of %d views wrong; %s" % (len(problems), len(vias), "; ".join(problems[:2]))
        time.sleep(0.1)
    return None, problem


def key_counts(via):
    """{position id: keys it stores} from a ring walk through via, or None."""
    code, out, _ = ctl(via, "--json", "ring")
    if code != 0:
        return None
    try:
        return {bytes.fromhex(p["id"]): p["keys"] for p in json.loads(out)}
    except (ValueError, KeyError, TypeError):
        return None


# ---------------------------------------------------------------------------
# Test data

def sample_key(i, prefix):
    """The i-th key of a test's data (bytes): every tenth UTF-8 (i % 10 == 7),
    every tenth with spaces (i % 10 == 8), the rest PREFIX-NNNN-RANDOM."""
    kind = i % 10
    if kind == 7:
        key = "ключ %d — ✓" % i
    elif kind == 8:
        key = "key with spaces #%d" % i
    else:
        key = "%s-%04d-%08x" % (prefix, i, rng.getrandbits(32))
    return key.encode()


def sample_value(i, sizes):
    """Random non-empty bytes for the i-th key: of a size drawn from sizes for
    every fifth, 64 KiB and more when i % 100 == 3, else 1 to 199 bytes."""
    size = rng.choice(sizes) if i % 5 == 0 else rng.randrange(1, 200)
    if i % 100 == 3:
        size = 65536 + rng.randrange(1000)
    return bytes(rng.getrandbits(8) for _ in range(size))


# ---------------------------------------------------------------------------
# Data checks (each returns a failure description, or None)

def do_put(peer, key, value):
    code, _, err = ctl(peer, "put", "--", key, "-", stdin=value)
    if code != 0:
        return "put %s via %s: exit %s: %s" % (show([key]), peer, code, text(err))
    return None


def do_get(peer, key, value):
    code, out, err = ctl(peer, "get", "--", key)
    if code != 0:
        return "get %s via %s: exit %s: %s" % (show([key]), peer, code, text(err))
    if out != value:
        return "get %s via %s: %d bytes back, stored %d%s" % (
            show([key]), peer, len(out), len(value), " (different bytes)" if len(out) == len(value) else "")
    return None


def do_lookup(peer, key, live, hops=None):
    """None when lookup --json through peer names, for key, the id
    BLAKE2b-160(key) and the owner successor(id) over every live position,
    with the endpoint of the peer holding that position; else the problem.
    Appends the hop count to hops when it is right."""
    code, out, err = ctl(peer, "--json", "lookup", "--", key)
    if code != 0:
        return "lookup %s via %s: exit %s: %s" % (show([key]), peer, code, text(err))
    try:
        reply = json.loads(out)
        key_id, owner, hop_count = reply["id"], reply["owner"], reply["hops"]
    except (ValueError, KeyError, TypeError):
        return "lookup %s via %s: bad JSON %r" % (show([key]), peer, out[:200])
    want_id = blake(key)
    want_pos, want_peer = owner_position(want_id, live)
    if key_id != want_id.hex():
        return "lookup %s via %s: id %s, BLAKE2b-160 says %s" % (show([key]), peer, key_id, want_id.hex())
    if (not isinstance(owner, dict) or owner.get("id") != want_pos.hex()
            or owner.get("endpoint") != want_peer.endpoint):
        return "lookup %s (id %s) via %s: owner %s, want position %s of %s" % (
            show([key]), key_id[:8], peer, owner, short(want_pos), want_peer)
    if not isinstance(hop_count, int) or hop_count < 0:
        return "lookup %s via %s: hops %r" % (show([key]), peer, hop_count)
    if hops is not None:
        hops.append(hop_count)
    return None


def false_suspicions(live):
    """Log lines in which a live peer calls another live peer "not answering"."""
    names = [b"(" + p.endpoint.encode() + b")" for p in live]
    return [line for p in live for line in p.log().splitlines()
            if b"is not answering" in line and any(n in line for n in names)]


suspicion_phases = []       # phases during which daemons suspected live peers


def checked(what, fn, items, live, pool):
    """Runs fn(item) -> problem or None over items concurrently; returns the problems.

    A failure is retried, once the ring has converged again, only when a daemon
    log shows a live peer suspecting another live peer during the run: that
    happens when the machine stalls a daemon longer than --rpc-timeout-ms, and
    the ring then briefly misroutes. Such retries are printed as diagnostics."""
    before = len(false_suspicions(live))
    results = list(pool.map(fn, items))
    failed_items = [item for item, problem in zip(items, results) if problem]
    problems = [problem for problem in results if problem]
    new = false_suspicions(live)[before:]
    if failed_items and new:
        suspicion_phases.append(what)
        diag("%s: %d failed while daemons suspected live peers (%d log lines, e.g. %s); retrying those "
             "once the ring converges" % (what, len(failed_items), len(new), new[0].decode("utf-8", "replace")))
        for problem in problems[:5]:
            diag("  first try: " + problem)
        wait_converged(live, pool)
        problems = [p for p in pool.map(fn, failed_items) if p]
        diag("%s: %d of %d still fail on the retry" % (what, len(problems), len(failed_items)))
    return problems


def check_all(pool, data, live, what, keys=None):
    """Every key (of keys, default all) reads back through a random peer, and
    lookups through random peers name the right owner. Returns hop counts."""
    keys = list(data) if keys is None else keys
    start = time.monotonic()
    readers = [(rng.choice(live), k) for k in keys]
    problems = checked(what + " gets", lambda a: do_get(a[0], a[1], data[a[1]]), readers, live, pool)
    single = one_position_each(live)
    ok(not problems, "%s: all %d keys read back exact bytes through random %s (%d wrong)" % (
        what, len(keys), "peers" if single else "processes", len(problems)), problems[:10])
    hops = []
    askers = [(rng.choice(live), k) for k in keys]
    problems = checked(what + " lookups", lambda a: do_lookup(a[0], a[1], live, hops), askers, live, pool)
    ok(not problems, "%s: lookup --json names successor(BLAKE2b-160(key))%s for all %d keys (%d wrong)" % (
        what, "" if single else " over all %d positions" % len(positions(live)), len(keys), len(problems)),
       problems[:10])
    diag("%s: %d gets and %d lookups in %.2f s%s" % (
        what, len(keys), len(keys), time.monotonic() - start,
        ", hops mean %.2f max %d" % (sum(hops) / len(hops), max(hops)) if hops else ""))
    return hops


def check_counts(keys, live, what, via=None, churned=False, wait_s=5.0):
    """The keys each position reports storing (ring --json through via,
    default the first live peer) are exactly those it keeps copies of
    (holder_positions). After a false suspicion (see checked) a put may have
    landed on the wrong position as well as the right one, and after churn
    (churned) a peer that was once a replica keeps its copies, so then a
    surplus is only a diagnostic. Copies follow the ring within a few
    anti-entropy rounds, so the check is retried for up to wait_s."""
    ring = positions(live)
    want = {pid: 0 for pid, _ in ring}
    for key in keys:
        for pid in holder_positions(blake(key), live):
            want[pid] += 1
    deadline = time.monotonic() + wait_s
    while True:
        counts = key_counts(via or live[0])
        details, surplus = [], []
        if counts is None:
            details.append("ring --json failed")
        else:
            for pid, peer in ring:
                got = counts.get(pid)
                if got is not None and got > want[pid] and (suspicion_phases or churned):
                    surplus.append("position %s of %s stores %d keys, keeps copies of %d" % (
                        short(pid), peer, got, want[pid]))
                elif got != want[pid]:
                    details.append("position %s of %s stores %s keys, keeps copies of %d" % (
                        short(pid), peer, got, want[pid]))
        if not details or time.monotonic() >= deadline:
            break
        time.sleep(0.2)
    holders = "peer" if one_position_each(live) else "of the %d positions" % len(ring)
    ok(not details, "%s: each %s stores %s the keys it keeps copies of, %d keys in all" % (
        what, holders, "at least" if churned else "exactly", len(keys)), details)
    for line in surplus:
        diag("after %s: %s" % (", ".join(suspicion_phases + (["churn"] if churned else [])), line))


# ---------------------------------------------------------------------------
# Running a test

def init(prefix, watchdog_s=170, secured=False):
    """Seeds rng (CHORD_TEST_SEED, else random), makes the temp dir for daemon
    logs, installs the atexit/signal cleanup and the watchdog (the whole run
    is bounded by CHORD_TEST_WATCHDOG_S, default watchdog_s)."""
    global SEED, TMPDIR, WATCHDOG_S
    SEED = int(os.environ.get("CHORD_TEST_SEED") or random.SystemRandom().randrange(1 << 32))
    rng.seed(SEED)
    TMPDIR = tempfile.mkdtemp(prefix=prefix)
    WATCHDOG_S = float(os.environ.get("CHORD_TEST_WATCHDOG_S") or watchdog_s)
    atexit.register(cleanup)
    for signo in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(signo, _on_signal)
    watchdog = threading.Timer(WATCHDOG_S, _watchdog)
    watchdog.daemon = True
    watchdog.start()
    diag("seed %d (CHORD_TEST_SEED=%d reproduces the choices, not the ports); %d workers; logs in %s" % (
        SEED, SEED, WORKERS, TMPDIR))
    for path in (CHORDD, CHORDCTL):
        if not os.access(path, os.X_OK):
            raise Fatal("%s is not an executable: build first or set CHORD_BIN" % path)
    global SECRET
    forced = os.environ.get("CHORD_TEST_SECURE")
    if forced in ("0", "1"):
        secured = forced == "1"
    if secured and SECRET is None:
        SECRET = os.path.join(TMPDIR, "ring.secret")
        diag("secured ring: every peer and chordctl uses --secret %s (ring key %s)" % (
            SECRET, keygen("--secret", SECRET)))
    else:
        diag("open ring (no --secret)%s" % (" as CHORD_TEST_SECURE=0 asks" if forced == "0" else ""))
    return watchdog


def check_sanitizers():
    """Call after every daemon has exited (or been killed)."""
    bad = [p for p in all_peers if any(m in p.log() for m in SANITIZER_MARKERS)]
    ok(not bad, "no sanitizer report in any daemon log (%d logs)" % len(all_peers),
       ["%s: %s" % (p, p.log_path) for p in bad])
    ok(not sanitizer_hits, "no sanitizer report on chordctl's stderr",
       ["%s: %s" % (what, err.decode("utf-8", "replace")[-600:]) for what, err in sanitizer_hits[:3]])


def finish(main, prefix, secured=False):
    """Runs the whole test: init, main(), cleanup, the plan, log tails when
    anything failed; exits 1 when anything failed. secured: the suite's
    peers share a cluster secret unless CHORD_TEST_SECURE=0."""
    start = time.monotonic()
    watchdog = None
    try:
        watchdog = init(prefix, secured=secured)
        main()
    except Fatal as e:
        ok(False, "setup: %s" % e)
    except Exception:
        ok(False, "the test itself raised", traceback.format_exc().splitlines())
    finally:
        if watchdog:
            watchdog.cancel()
        cleanup()
    if all_peers:
        check_sanitizers()
    if suspicion_phases:
        diag("daemons suspected live peers during: %s (machine too slow for --rpc-timeout-ms %d?)" % (
            ", ".join(suspicion_phases), RPC_TIMEOUT_MS))
    diag("total %.1f s" % (time.monotonic() - start))
    print("1..%d" % _count)
    if _failed:
        dump_logs()
        diag("%d of %d failed; logs kept in %s (seed %s)" % (_failed, _count, TMPDIR, SEED))
    elif TMPDIR and not os.environ.get("CHORD_KEEP_LOGS"):
        shutil.rmtree(TMPDIR, ignore_errors=True)
    sys.stdout.flush()
    sys.exit(1 if _failed else 0)
