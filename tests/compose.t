#!/usr/bin/env python3
"""The ring of docker-compose.yml under container churn: no acknowledged key lost.

Runs only when CHORD_COMPOSE_TEST=1 (set by `make compose-test`, which
builds chord:latest first), so `make test` does not start containers; skips
when no Docker engine answers or no compose tool is there. Uses
docker-compose (v1.29), else `docker compose` (v2); CHORD_COMPOSE overrides.

Brings up the repository's docker-compose.yml under a project name of its
own (chordtest<pid>), with CHORD_OPTS="--stabilize-ms 200 --rpc-timeout-ms
1000": seed and peer1..peer5, 6 peers, each on its own named volume and
advertising its service name. Stores 1,000 keys (random binary values, a few
of 64 KiB, UTF-8 keys, keys with spaces) through random peers with the host's
$CHORD_BIN/chordctl, which talks to the containers' addresses on the
project's network; every acknowledgement is logged to
build/compose-test/acks.log. Then, one after another: peer4 disconnected
from the network, then reconnected (a partition that heals; first, so that
peer4 gets its address back, as a host cut off keeps its own); docker kill
peer1 (crash); peer1 recreated, a new container on its volume (restart: it
must restore its records); docker stop peer2 (graceful leave: exit 0);
docker pause peer3, then unpause (a hung peer); docker start peer2 on its
volume (rejoin, before anything takes its address); extra scaled to 2
(joins); docker restart peer5.

After the ring comes up and after each step, the test waits (HEAL_S at most)
until the ring is healed: every live peer is active; a ring walk from the
seed (`docker exec ... chordctl ring --json`, inside the network) lists
exactly the positions of the live peers in id order (each peer holds the 4
positions chordd places by default; the test reads which from its log),
each with its neighbours by id as predecessor and successor; and each
position stores at least as many keys as it keeps copies of (the owner and
the first positions of the next two processes, R = 3). A container
restarted on its volume takes the same positions. The time that takes is the step's heal time. Then every acknowledged
key must read back its exact bytes through 3 different live peers (a
failure is retried for up to SETTLE_S). A key that does not is lost; the
count must be 0. Last: peer4 cut off again while a third extra peer takes
its address, then back at a new address under its old name; the ring must
heal (HEAL_S / 2) and 100 keys must read back through peer4. Everything the project made (containers,
network, volumes) is removed on every exit path: normal end, failure,
exception, SIGINT, SIGTERM, SIGHUP and the watchdog (CHORD_TEST_WATCHDOG_S,
default 1800 s), and a last assertion checks that nothing labelled with the
project is left.
On failure the containers' logs are kept in build/compose-test/.

The ring is secured (docker-compose.yml's keygen service makes a cluster
secret); the test copies it out of the seed to pass chordctl --secret.

HTTP and Prometheus: the seed's HTTP port is published on 127.0.0.1 only
(CHORD_HTTP_PORT, a free port here) and the prometheus service's on
127.0.0.1 (CHORD_PROMETHEUS_PORT). Once the ring is up, and again after
the last step: through the published port, /healthz answers 401 without a
token (a client outside the container is never on its loopback) and 200
with the read token the tokens service made (and, once: a write token
made by `docker-compose run --rm keygen keygen --http-token write --file
/secret/http.tokens` works after `docker-compose kill -s HUP`: a PUT and a
GET of /v1/kv/KEY through the published port, while the read token gets
403 on a PUT and no token 401); Prometheus's query API says
every live peer is a target with up == 1 and, when the peers export
chord_ring_owned_ratio, that it sums to 1 +- 0.01 over the ring (each
within PROMETHEUS_S); and docker reports every peer's container healthy
(the image's HEALTHCHECK: chordctl health, ready positions).

Environment: CHORD_TEST_SEED replays the keys, values and peer choices;
CHORD_COMPOSE_KEYS changes the 1,000; CHORD_TEST_DAEMON_ARGS adds chordd
options (e.g. "--log-level debug"); CHORD_BIN (default ./bin)."""

import concurrent.futures
import hashlib
import json
import os
import random
import shlex
import shutil
import signal
import subprocess
import sys
import threading
import time
import traceback
import urllib.error
import urllib.parse
import urllib.request

sys.dont_write_bytecode = True         # no tests/__pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import chordtest as ct                                  # noqa: E402
from chordtest import Fatal, diag, ok                   # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
COMPOSE_FILE = os.path.join(ROOT, "docker-compose.yml")
OUT_DIR = os.path.join(ROOT, "build", "compose-test")
PROJECT = "chordtest%d" % os.getpid()
IMAGE = "chord:latest"
CHORD_OPTS = "--stabilize-ms 200 --rpc-timeout-ms 1000"
REPLICAS = 3                # chordd's default --replicas
POSITIONS_S = 30            # a container logs its positions' ids within this of its start
KEYS = int(os.environ.get("CHORD_COMPOSE_KEYS") or 1000)
READ_VIAS = 3               # each key is read through this many different peers
CTL_TIMEOUT_MS = 4000
HEAL_S = 60                 # a step must heal within this
SETTLE_S = 15               # a key that fails to read back is retried this long
UP_S = 180                  # bound on docker-compose up / down
DOCKER_S = 45               # bound on any other docker command
WATCHDOG_S = float(os.environ.get("CHORD_TEST_WATCHDOG_S") or 1800)
READDRESS_KEYS = 100        # keys read through the readdressed peer
CHECK_BUDGET_S = 90         # retries of failed reads stop after this
SERVICES = ["seed", "peer1", "peer2", "peer3", "peer4", "peer5"]
PROMETHEUS_S = 45           # Prometheus sees every live peer up within this (2 s scrapes, 5 s DNS refresh)
HEALTHY_S = 60              # docker reports every peer healthy within this (5 s checks)
HTTP_PORT = ct.free_port()          # the seed's HTTP port, published on the host's loopback
PROMETHEUS_PORT = ct.free_port()    # Prometheus's, likewise

CHORD_OPTS = " ".join([CHORD_OPTS] + os.environ.get("CHORD_TEST_DAEMON_ARGS", "").split())
ct.ENV["CHORD_OPTS"] = CHORD_OPTS
ct.ENV["CHORD_HTTP_PORT"] = str(HTTP_PORT)
ct.ENV["CHORD_PROMETHEUS_PORT"] = str(PROMETHEUS_PORT)
for name in ("COMPOSE_FILE", "COMPOSE_PROJECT_NAME", "COMPOSE_PROFILES", "DOCKER_DEFAULT_PLATFORM"):
    ct.ENV.pop(name, None)

compose_cmd = []            # ["docker-compose"] or ["docker", "compose"]
network = None              # the project's network
peers = {}                  # name -> Peer, every container the test tracks
heal_times = []             # (step, seconds)
lost = set()                # indices of keys that did not read back


def docker(*args, timeout=DOCKER_S, check=True):
    code, out, err = ct.run(["docker"] + list(args), timeout=timeout)
    if check and code != 0:
        raise Fatal("docker %s: exit %s: %s" % (" ".join(args), code, ct.text(err)[:300]))
    return ct.text(out)


def compose(*args, timeout=UP_S, check=True):
    argv = compose_cmd + ["-f", COMPOSE_FILE, "-p", PROJECT] + list(args)
    code, out, err = ct.run(argv, timeout=timeout)
    if check and code != 0:
        raise Fatal("%s: exit %s: %s" % (" ".join(argv[len(compose_cmd) + 4:]), code, ct.text(err)[-400:]))
    return ct.text(out)


class Peer:
    """One container running chordd; endpoint is what it advertises. Its
    positions (which of ENDPOINT#i, i < 64, placement picked) are read from
    the container's log."""

    def __init__(self, name, cid, endpoint=None):
        self.name, self.cid = name, cid
        self.endpoint = endpoint or "tcp://%s:7000" % name
        self.address = None
        self.live = True
        self.read_positions()

    def set_endpoint(self, endpoint):
        self.endpoint = endpoint
        self.ids = [ct.position_id(self.endpoint, i) for i in self.indices]
        self.id = self.ids[0]

    def read_positions(self):
        """Waits (POSITIONS_S at most) for the last start's "position I of
        ENDPOINT has id HEX" lines, and takes those positions and that
        endpoint (an --advertise auto container's own address)."""
        deadline = time.monotonic() + POSITIONS_S
        while True:
            code, out, err = ct.run(["docker", "logs", self.cid], timeout=DOCKER_S)
            lines = (out + err).decode("utf-8", "replace").splitlines()
            starts = [i for i, line in enumerate(lines) if "listening on" in line]
            if starts or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        if not starts:
            raise Fatal("%s logged no positions within %d s" % (self.name, POSITIONS_S))
        before = starts[-1]
        first = max([i for i in starts[:-1]] + [-1])
        found = [line.split(" position ")[1].split() for line in lines[first + 1:before]
                 if " has id " in line and " position " in line]
        found = [f for f in found if len(f) >= 5 and f[1] == "of" and f[0].isdigit()]
        if not found:
            raise Fatal("%s logged no positions" % self.name)
        self.indices = sorted(int(f[0]) for f in found)
        self.set_endpoint(found[0][2])
        self.vnodes, self.replicas = len(self.ids), REPLICAS
        self.successors = max(3, min(ct.SUCCESSORS_MAX, REPLICAS * self.vnodes))

    def refresh(self):
        """Reads the container's address on the project network (None when it has none)."""
        nets = json.loads(docker("inspect", "-f", "{{json .NetworkSettings.Networks}}", self.cid) or "{}")
        self.address = (nets.get(network) or {}).get("IPAddress") or None
        return self.address

    @property
    def contact(self):
        return "tcp://%s:7000" % self.address

    def __repr__(self):
        return "%s(%s)" % (self.name, self.address)


def live():
    return [p for p in peers.values() if p.live]


def ctl(peer, *args, stdin=None):
    argv = [ct.CHORDCTL, "-s", peer.contact, "--timeout", str(CTL_TIMEOUT_MS)] + ct.auth_args() + list(args)
    return ct.run(argv, stdin=stdin, timeout=CTL_TIMEOUT_MS / 1000 + 10)


def service_ids(service):
    return compose("ps", "-q", service, timeout=DOCKER_S).split()


# ---------------------------------------------------------------------------
# Healing and data checks

def heal_problem(ring):
    """None when the ring of the live peers is healed (see the docstring), else why not."""
    for peer in ring:
        code, out, err = ctl(peer, "--json", "info")
        if code != 0:
            return "info via %s: exit %s %s" % (peer, code, ct.text(err)[:100])
        if json.loads(out).get("state") != "active":
            return "%s: %s" % (peer.name, json.loads(out).get("state"))
    code, out, err = ct.run(["docker", "exec", peers["seed"].cid, "chordctl", "--json", "ring"],
                            timeout=DOCKER_S)
    if code != 0 or b"warning" in err:
        return "ring walk from the seed: exit %s %s" % (code, ct.text(err)[:200])
    walked = json.loads(out)
    order = ct.positions(ring)
    ids = [pid for pid, _ in order]
    start = ids.index(peers["seed"].id)
    want = order[start:] + order[:start]
    got = [(pos.get("id"), pos.get("endpoint")) for pos in walked]
    if got != [(pid.hex(), p.endpoint) for pid, p in want]:
        return "ring walk from the seed: %s, want %s" % (
            ["%s %s" % (i[:8], e) for i, e in got], ["%s %s" % (pid.hex()[:8], p.name) for pid, p in want])
    n = len(want)
    for i, pos in enumerate(walked):
        pred, succ = want[i - 1][0].hex(), want[(i + 1) % n][0].hex()
        if pos.get("predecessor") != pred or pos.get("successor") != succ:
            return "%s of %s: pred %s succ %s, want %s %s" % (
                pos["id"][:8], pos["endpoint"], str(pos.get("predecessor"))[:8], str(pos.get("successor"))[:8],
                pred[:8], succ[:8])
    stored = {bytes.fromhex(pos["id"]): pos.get("keys", 0) for pos in walked}
    want_keys = {pid: 0 for pid in ids}
    for key in acked:
        for pid in ct.holder_positions(ct.blake(key), ring):
            want_keys[pid] += 1
    holder = dict(order)
    short = ["%s of %s %s<%d" % (pid.hex()[:8], holder[pid].name, stored[pid], want_keys[pid])
             for pid in ids if stored[pid] < want_keys[pid]]
    return "copies missing: " + ", ".join(short) if short else None


def poll_healed(ring, started, bound_s):
    """Polls heal_problem(ring) until it finds none or bound_s have passed
    since started; returns the last problem, or None."""
    problem = "never checked"
    while time.monotonic() - started < bound_s:
        try:
            problem = heal_problem(ring)
        except (ValueError, KeyError, TypeError, AttributeError) as e:
            problem = "unexpected reply: %r" % e
        if not problem:
            break
        time.sleep(0.5)
    return problem


def wait_healed(step, started):
    """Waits (HEAL_S at most, from started) for the ring to heal; one assertion; returns seconds."""
    ring = live()
    for peer in ring:
        if not peer.refresh():
            raise Fatal("%s has no address on %s" % (peer.name, network))
    problem = poll_healed(ring, started, HEAL_S)
    seconds = time.monotonic() - started
    diag("%s: addresses %s" % (step, " ".join("%s=%s" % (p.name, (p.address or "").split(".")[-1]) for p in ring)))
    ok(not problem, "%s: the ring of %d healed in %.1f s (bound %d s)" % (step, len(ring), seconds, HEAL_S),
       [problem or ""])
    heal_times.append((step, seconds if not problem else None))
    return seconds


def read_problem(peer, i):
    key, value = keys[i], acked[keys[i]]
    code, out, err = ctl(peer, "get", "--", key)
    if code != 0:
        return "get %s via %s: exit %s %s" % (ct.show([key]), peer.name, code, ct.text(err)[:100])
    if out != value:
        return "get %s via %s: %d bytes, stored %d" % (ct.show([key]), peer.name, len(out), len(value))
    return None


def check_reads(pool, step):
    """Every acknowledged key reads back through READ_VIAS different live peers."""
    started = time.monotonic()
    ring = live()
    index = {k: i for i, k in enumerate(keys)}
    jobs = [(via, index[k]) for k in acked for via in ct.rng.sample(ring, min(READ_VIAS, len(ring)))]
    failing = [(job, p) for job, p in zip(jobs, pool.map(lambda j: read_problem(*j), jobs)) if p]
    first = [p for _, p in failing[:5]]
    deadline = time.monotonic() + SETTLE_S
    while failing and time.monotonic() < deadline and time.monotonic() - started < CHECK_BUDGET_S:
        time.sleep(1)
        failing = [(job, p) for job, p in zip([j for j, _ in failing],
                                               pool.map(lambda j: read_problem(*j[0]), failing)) if p]
    lost.update(i for (_, i), _ in failing)
    ok(not failing, "%s: all %d acknowledged keys read back exact bytes through %d peers each "
       "(%d reads, %.1f s, %d lost)" % (step, len(acked), min(READ_VIAS, len(ring)), len(jobs),
                                        time.monotonic() - started, len({i for (_, i), _ in failing})),
       [p for _, p in failing[:10]] + ["first try: " + p for p in first])


# ---------------------------------------------------------------------------
# HTTP, Prometheus and health

read_token = None           # the read token the tokens service made (Prometheus scrapes with it)


def http_get(port, path, token=None):
    """(status, body) of GET 127.0.0.1:port/path; status None when it failed."""
    request = urllib.request.Request("http://127.0.0.1:%d%s" % (port, path))
    if token:
        request.add_header("Authorization", "Bearer " + token)
    try:
        with urllib.request.urlopen(request, timeout=5) as reply:
            return reply.status, reply.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()
    except (OSError, ValueError) as e:
        return None, str(e).encode()


def prometheus(query):
    """The result list of an instant query, or None when Prometheus did not answer."""
    status, body = http_get(PROMETHEUS_PORT, "/api/v1/query?" + urllib.parse.urlencode({"query": query}))
    try:
        return json.loads(body)["data"]["result"] if status == 200 else None
    except (ValueError, KeyError, TypeError):
        return None


def check_http(step):
    bindings = docker("port", peers["seed"].cid, "8080/tcp").split()
    status, body = http_get(HTTP_PORT, "/healthz")
    status2, body2 = http_get(HTTP_PORT, "/healthz", read_token)
    ok(bindings == ["127.0.0.1:%d" % HTTP_PORT] and status == 401 and status2 == 200,
       "%s: the seed's HTTP port is published on 127.0.0.1:%d only; /healthz there: 401 without a token, 200 "
       "with the read token" % (step, HTTP_PORT), ["published %s; %s %r; %s %r" % (bindings, status, body[:100],
                                                                                  status2, body2[:100])])


def http_put(port, path, body, token):
    request = urllib.request.Request("http://127.0.0.1:%d%s" % (port, path), data=body, method="PUT")
    if token:
        request.add_header("Authorization", "Bearer " + token)
    try:
        with urllib.request.urlopen(request, timeout=10) as reply:
            return reply.status
    except urllib.error.HTTPError as e:
        return e.code
    except OSError:
        return None


def check_http_write():
    """The README's steps: a write token from the keygen service, SIGHUP to every peer, a put and a get
    over HTTP through the seed's published port; the read token may not put."""
    code, out, err = ct.run(compose_cmd + ["-f", COMPOSE_FILE, "-p", PROJECT, "run", "--rm", "-T", "keygen",
                                           "keygen", "--http-token", "write", "--file", "/secret/http.tokens"],
                            timeout=UP_S)
    lines = ct.text(out).splitlines()
    token = lines[-1].strip() if code == 0 and lines else ""
    ok(len(token) == 43, "docker-compose run --rm keygen keygen --http-token write --file /secret/http.tokens "
       "prints a token (exit %s)" % code, [ct.text(err)[-300:]])
    compose("kill", "-s", "HUP", timeout=DOCKER_S)
    path = "/v1/kv/compose-http"
    deadline = time.monotonic() + 10
    while http_put(HTTP_PORT, path, b"over http", token) != 204 and time.monotonic() < deadline:
        time.sleep(0.5)
    put = http_put(HTTP_PORT, path, b"over http", token)
    get = http_get(HTTP_PORT, path, token)
    refused = http_put(HTTP_PORT, path, b"no", read_token)
    anonymous = http_put(HTTP_PORT, path, b"no", None)
    ok(put == 204 and get == (200, b"over http") and refused == 403 and anonymous == 401,
       "after docker-compose kill -s HUP the write token puts (%s) and gets (%s) through 127.0.0.1:%d; the "
       "read token may not put (%s), no token is 401 (%s)" % (put, get[0], HTTP_PORT, refused, anonymous),
       [str(get)])


def prometheus_problem(ring):
    """None when Prometheus scrapes every live peer (up == 1) and no other; else why not."""
    result = prometheus('up{job="chord"}')
    if result is None:
        return "no answer from Prometheus on 127.0.0.1:%d" % PROMETHEUS_PORT
    up = {r["metric"].get("instance"): float(r["value"][1]) for r in result}
    want = {(p.name if not p.name.startswith("extra") else p.address) + ":8080" for p in ring}
    live_up = {i for i, v in up.items() if v == 1}
    return None if live_up == want else "up == 1 for %s, want %s (all: %s)" % (sorted(live_up), sorted(want), up)


def check_prometheus(step):
    ring = live()
    for peer in ring:
        peer.refresh()
    started = time.monotonic()
    problem = "never checked"
    while time.monotonic() - started < PROMETHEUS_S:
        problem = prometheus_problem(ring)
        if not problem:
            break
        time.sleep(1)
    ok(not problem, "%s: Prometheus scrapes all %d live peers, each up == 1 (%.1f s)" % (
        step, len(ring), time.monotonic() - started), [problem or ""])
    if not prometheus("count(chord_ring_owned_ratio)"):
        ok(True, "%s: sum(chord_ring_owned_ratio) # SKIP the peers do not export chord_ring_owned_ratio" % step)
        return
    total = None
    while time.monotonic() - started < 2 * PROMETHEUS_S:
        result = prometheus('sum(chord_ring_owned_ratio{job="chord"})')
        total = float(result[0]["value"][1]) if result else None
        if total is not None and abs(total - 1) <= 0.01:
            break
        time.sleep(1)
    ok(total is not None and abs(total - 1) <= 0.01, "%s: sum(chord_ring_owned_ratio) over the ring is %s, "
       "1 +- 0.01" % (step, total))


def check_healthy(step):
    started = time.monotonic()
    while True:
        states = {p.name: docker("inspect", "-f", "{{if .State.Health}}{{.State.Health.Status}}{{end}}", p.cid)
                  for p in live()}
        if all(v == "healthy" for v in states.values()) or time.monotonic() - started > HEALTHY_S:
            break
        time.sleep(1)
    table = docker("ps", "--filter", LABEL, "--format", "{{.Names}} {{.Status}}")
    ok(all(v == "healthy" for v in states.values()), "%s: docker reports all %d peers healthy (%.1f s)" % (
        step, len(states), time.monotonic() - started), [str(states)])
    for line in sorted(table.splitlines()):
        diag("docker ps: " + line)


# ---------------------------------------------------------------------------
# The steps

def step(pool, name, action):
    started = time.monotonic()
    action()
    diag("%s: done in %.1f s" % (name, time.monotonic() - started))
    wait_healed(name, started)
    check_reads(pool, name)


def restored_lines(cid):
    """The "N records ... restored from" lines the container logged, in order."""
    code, out, err = ct.run(["docker", "logs", cid], timeout=DOCKER_S)
    return [line for line in (out + err).decode("utf-8", "replace").splitlines() if "restored from" in line]


def restored_records(peer, before=0):
    """Records the container's next start (after `before` such lines: one a
    position) restored over all its positions, or None (10 s at most)."""
    deadline = time.monotonic() + 10
    while True:
        found = restored_lines(peer.cid)
        if len(found) >= before + peer.vnodes or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    try:
        return sum(int(line.split(": ")[1].split()[0]) for line in found[before:before + peer.vnodes])
    except (IndexError, ValueError):
        return None


def kill_peer1():
    docker("kill", peers["peer1"].cid)
    peers["peer1"].live = False


def recreate_peer1():
    old = peers["peer1"]
    compose("rm", "-f", "peer1", timeout=DOCKER_S)
    compose("up", "-d", "--no-deps", "peer1")
    cid = service_ids("peer1")[0]
    peers["peer1"] = Peer("peer1", cid)
    records = restored_records(peers["peer1"])
    ok(cid != old.cid and records and peers["peer1"].indices == old.indices, "restart: peer1 is a new container "
       "(%s) on its volume, took the same positions %s and restored %s records" % (
           cid[:12], old.indices, records))
    diag("restart: peer1's address was %s, is %s" % (old.address, peers["peer1"].refresh()))


def stop_peer2():
    docker("stop", "-t", "15", peers["peer2"].cid, timeout=DOCKER_S)
    peers["peer2"].live = False
    code = docker("inspect", "-f", "{{.State.ExitCode}}", peers["peer2"].cid)
    ok(code == "0", "leave: docker stop made peer2 leave and exit 0 (exit %s)" % code)


def pause_peer3():
    docker("pause", peers["peer3"].cid)
    peers["peer3"].live = False


def unpause_peer3():
    docker("unpause", peers["peer3"].cid)
    peers["peer3"].live = True


def disconnect(name):
    peer = peers[name]
    nets = json.loads(docker("inspect", "-f", "{{json .NetworkSettings.Networks}}", peer.cid))
    peer.aliases = [a for a in nets[network].get("Aliases") or [] if not peer.cid.startswith(a)]
    peer.old_address = peer.address
    docker("network", "disconnect", network, peer.cid)
    peer.live = False


def reconnect(name):
    peer = peers[name]
    docker("network", "connect", *[x for a in peer.aliases for x in ("--alias", a)], network, peer.cid)
    peer.live = True
    return peer.old_address, peer.refresh()


def disconnect_peer4():
    disconnect("peer4")


def reconnect_peer4():
    old, new = reconnect("peer4")
    ok(old == new, "partition: peer4 is back at its address %s (%s)" % (
        old, "as a host cut off keeps its address" if old == new else
        "now %s: the address changed, see the readdress step" % new))


def scale_up():
    compose("up", "-d", "--no-deps", "--no-recreate", "--scale", "extra=2", "extra")
    for cid in service_ids("extra"):
        if not any(p.cid == cid for p in peers.values()):
            peer = Peer("extra-" + cid[:6], cid)
            peer.refresh()      # --advertise auto: its endpoint is its address, as it logged
            peers[peer.name] = peer


def start_peer2():
    peer = peers["peer2"]
    before, old = len(restored_lines(peer.cid)), peer.address
    docker("start", peer.cid)
    peer.live = True
    records = restored_records(peer, before)
    ok(records is not None, "start: peer2 came back on its volume and restored %s records" % records)
    new = peer.refresh()
    ok(old == new, "start: peer2 is back at its address %s%s" % (
        old, "" if old == new else ", now %s: a known bug, see the readdress step" % new))


def restart_peer5():
    before = len(restored_lines(peers["peer5"].cid))
    docker("restart", "-t", "15", peers["peer5"].cid, timeout=DOCKER_S)
    records = restored_records(peers["peer5"], before)
    ok(records is not None, "restart: peer5 came back on its volume and restored %s records" % records)


keys = []                   # keys[i]: bytes
acked = {}                  # key -> value, every acknowledged put


def readdress(pool):
    """peer4 is cut off, a new peer takes its address, peer4 comes back at
    another address under the same name: its neighbours' connections to the
    old address must notice (ZMTP heartbeats) and dial the name again.
    Checks the ring (HEAL_S / 2) and reads of READDRESS_KEYS keys through peer4."""
    name = "readdress (peer4 back at another address)"
    started = time.monotonic()
    disconnect("peer4")
    compose("up", "-d", "--no-deps", "--no-recreate", "--scale", "extra=3", "extra")
    for cid in service_ids("extra"):
        if not any(p.cid == cid for p in peers.values()):
            peer = Peer("extra-" + cid[:6], cid)
            peer.refresh()
            peers[peer.name] = peer
    old, new = reconnect("peer4")
    if old == new:
        diag("%s: peer4 got its address %s back: nothing to check on this engine" % (name, old))
        return
    diag("%s: peer4 was %s, is %s; done in %.1f s" % (name, old, new, time.monotonic() - started))
    ring = live()
    problem = poll_healed(ring, started, HEAL_S / 2)
    ok(not problem, "%s: the ring of %d healed in %.1f s (bound %d s)" % (
        name, len(ring), time.monotonic() - started, HEAL_S / 2), [problem or ""])
    sample = ct.rng.sample(list(acked), min(READDRESS_KEYS, len(acked)))
    index = {k: i for i, k in enumerate(keys)}
    problems = [p for p in pool.map(lambda k: read_problem(peers["peer4"], index[k]), sample) if p]
    ok(not problems, "%s: %d keys read back through peer4 (%d wrong)" % (name, len(sample), len(problems)),
       problems[:5])


def put_all(pool):
    global keys
    keys = [ct.sample_key(i, "ck") for i in range(KEYS)]
    values = [ct.sample_value(i, (1000, 4000)) for i in range(KEYS)]
    ring = live()
    vias = [ct.rng.choice(ring) for _ in keys]
    log_lock = threading.Lock()
    os.makedirs(OUT_DIR, exist_ok=True)

    def put(i):
        for attempt in range(3):
            started = time.monotonic()
            code, _, err = ctl(vias[i], "put", "--", keys[i], "-", stdin=values[i])
            if code == 0:
                with log_lock:
                    acked[keys[i]] = values[i]
                    log.write("%s ack %d key=%s bytes=%d blake2b=%s via=%s %.0fms\n" % (
                        time.strftime("%H:%M:%S"), i, keys[i].hex(), len(values[i]),
                        hashlib.blake2b(values[i], digest_size=8).hexdigest(), vias[i].name,
                        1000 * (time.monotonic() - started)))
                return None
            diag("put %d via %s: exit %s %s (attempt %d)" % (i, vias[i].name, code, ct.text(err)[:100],
                                                             attempt + 1))
        return i

    started = time.monotonic()
    with open(os.path.join(OUT_DIR, "acks.log"), "w") as log:
        failed = [i for i in pool.map(put, range(KEYS)) if i is not None]
    seconds = time.monotonic() - started
    ok(len(acked) == KEYS, "%d of %d puts acknowledged in %.1f s (%.1f ms each, %d at once), logged in %s" % (
        len(acked), KEYS, seconds, 1000 * seconds / KEYS, ct.WORKERS, os.path.relpath(log.name, ROOT)),
       ["never acknowledged: %s" % failed[:10]])


def main():
    size = int(docker("image", "inspect", "-f", "{{.Size}}", IMAGE, check=False) or 0)
    if not size:
        raise Fatal("no image %s: run make image (or make compose-test)" % IMAGE)
    diag("image %s: %.1f MiB (%d bytes); project %s; CHORD_OPTS=%s" % (
        IMAGE, size / 1048576, size, PROJECT, CHORD_OPTS))
    shutil.rmtree(OUT_DIR, ignore_errors=True)        # logs of an earlier run
    started = time.monotonic()
    compose("up", "-d")
    global network
    network = docker("network", "ls", "--filter", "label=com.docker.compose.project=" + PROJECT,
                     "--format", "{{.Name}}")
    for name in SERVICES:
        peers[name] = Peer(name, service_ids(name)[0])
    ok(len(peers) == 6 and network, "docker-compose up: %d peers on network %s" % (len(peers), network))
    # The ring is secured with the secret the keygen service made: the
    # host's chordctl needs a copy of it (docker cp works with any engine).
    os.makedirs(OUT_DIR, exist_ok=True)
    secret = os.path.join(OUT_DIR, "cluster.secret")
    docker("cp", "%s:/secret/cluster.secret" % peers["seed"].cid, secret)
    os.chmod(secret, 0o600)
    ct.SECRET = secret
    token = os.path.join(OUT_DIR, "prometheus.token")
    docker("cp", "%s:/secret/prometheus.token" % peers["seed"].cid, token)
    global read_token
    with open(token) as f:
        read_token = f.read().strip()
    with concurrent.futures.ThreadPoolExecutor(ct.WORKERS) as pool:
        wait_healed("up", started)
        check_http("up")
        check_http_write()
        check_prometheus("up")
        check_healthy("up")
        put_all(pool)
        check_reads(pool, "stored")
        code, out, _ = ct.run(compose_cmd + ["-f", COMPOSE_FILE, "-p", PROJECT, "run", "--rm", "-T", "ctl",
                                             "get", keys[0]], timeout=UP_S)
        ok(code == 0 and out == acked[keys[0]], "the ctl service reads a key (docker-compose run --rm ctl "
           "get): exit %s" % code)
        for name, action in (("partition (peer4 off the network)", disconnect_peer4),
                             ("partition healed (peer4 reconnected)", reconnect_peer4),
                             ("crash (docker kill peer1)", kill_peer1),
                             ("restart (peer1 recreated on its volume)", recreate_peer1),
                             ("leave (docker stop peer2)", stop_peer2),
                             ("hang (docker pause peer3)", pause_peer3),
                             ("resume (docker unpause peer3)", unpause_peer3),
                             ("rejoin (docker start peer2)", start_peer2),
                             ("scale up (extra=2)", scale_up),
                             ("restart (docker restart peer5)", restart_peer5)):
            step(pool, name, action)
        readdress(pool)
        check_prometheus("end")
        check_healthy("end")
    ok(not lost, "keys lost: %d of %d acknowledged" % (len(lost), len(acked)),
       [ct.show([keys[i]]) for i in sorted(lost)[:10]])


# ---------------------------------------------------------------------------
# Running, and tearing down on every exit path

_teardown_lock = threading.Lock()
_torn_down = False


def quiet(argv, timeout=DOCKER_S):
    """For teardown: runs argv unregistered (ct.cleanup has run), bounded; returns its stdout as text."""
    try:
        done = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              timeout=timeout, env=ct.ENV)
        return ct.text(done.stdout)
    except (OSError, subprocess.TimeoutExpired) as e:
        diag("teardown: %s: %s" % (" ".join(argv), e))
        return ""


LABEL = "label=com.docker.compose.project=" + PROJECT


def save_logs():
    os.makedirs(OUT_DIR, exist_ok=True)
    for cid in quiet(["docker", "ps", "-aq", "--filter", LABEL]).split():
        name = quiet(["docker", "inspect", "-f", "{{.Name}}", cid]).strip("/")
        text = quiet(["docker", "logs", cid])
        with open(os.path.join(OUT_DIR, name + ".log"), "w") as f:
            f.write(text + "\n")
        tail = text.splitlines()[-15:]
        diag("--- last %d lines of %s (all in %s) ---" % (len(tail), name, os.path.relpath(OUT_DIR, ROOT)))
        for line in tail:
            diag("  " + line)


def leftovers():
    return [x for kind in (["ps", "-aq"], ["network", "ls", "-q"], ["volume", "ls", "-q"])
            for x in quiet(["docker"] + kind + ["--filter", LABEL]).split()]


def teardown(keep_logs):
    """Removes every container, network and volume of this project (only
    those: found by the project's label), each command bounded; runs once."""
    global _torn_down
    with _teardown_lock:
        if _torn_down or not compose_cmd:
            return
        _torn_down = True
        ct.cleanup()                # kills chordctl and docker commands still running; no new ones start
        if keep_logs:
            save_logs()
        paused = quiet(["docker", "ps", "-q", "--filter", LABEL, "--filter", "status=paused"]).split()
        if paused:
            quiet(["docker", "unpause"] + paused)
        quiet(compose_cmd + ["-f", COMPOSE_FILE, "-p", PROJECT, "down", "-v", "-t", "2", "--remove-orphans"],
              timeout=UP_S)
        for kind, rm in ((["ps", "-aq"], ["rm", "-f", "-v"]), (["network", "ls", "-q"], ["network", "rm"]),
                         (["volume", "ls", "-q"], ["volume", "rm", "-f"])):
            ids = quiet(["docker"] + kind + ["--filter", LABEL]).split()
            if ids:
                quiet(["docker"] + rm + ids)


def _on_signal(signo, _frame):
    print("Bail out! interrupted by signal %d; tearing down %s" % (signo, PROJECT))
    sys.stdout.flush()
    teardown(keep_logs=True)
    os._exit(128 + signo)


def _watchdog():
    print("Bail out! the test ran longer than %.0f s; tearing down %s" % (WATCHDOG_S, PROJECT))
    sys.stdout.flush()
    teardown(keep_logs=True)
    os._exit(1)


def skip(why):
    print("1..0 # SKIP %s" % why)
    sys.exit(0)


def find_compose():
    if os.environ.get("CHORD_COMPOSE"):
        return shlex.split(os.environ["CHORD_COMPOSE"])
    if shutil.which("docker-compose"):
        return ["docker-compose"]
    code, _, _ = ct.run(["docker", "compose", "version"], timeout=20)
    return ["docker", "compose"] if code == 0 else None


def run():
    if os.environ.get("CHORD_COMPOSE_TEST") != "1":
        skip("containers: run by make compose-test (CHORD_COMPOSE_TEST=1)")
    if not shutil.which("docker") or ct.run(["docker", "info"], timeout=30)[0] != 0:
        skip("no Docker engine")
    found = find_compose()
    if not found:
        skip("no Docker engine with docker-compose or docker compose")
    ct.SEED = int(os.environ.get("CHORD_TEST_SEED") or random.SystemRandom().randrange(1 << 32))
    ct.rng.seed(ct.SEED)
    diag("seed %d (CHORD_TEST_SEED reproduces keys, values and peer choices); compose: %s; %d workers" % (
        ct.SEED, " ".join(found), ct.WORKERS))
    for signo in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(signo, _on_signal)
    watchdog = threading.Timer(WATCHDOG_S, _watchdog)
    watchdog.daemon = True
    watchdog.start()
    started = time.monotonic()
    try:
        if not os.access(ct.CHORDCTL, os.X_OK):
            raise Fatal("%s is not an executable: build first or set CHORD_BIN" % ct.CHORDCTL)
        compose_cmd.extend(found)
        main()
    except Fatal as e:
        ok(False, "setup: %s" % e)
    except Exception:
        ok(False, "the test itself raised", traceback.format_exc().splitlines())
    finally:
        teardown(keep_logs=ct.failed() > 0)
        watchdog.cancel()
    left = leftovers()
    ok(not left, "teardown: no container, network or volume of %s left" % PROJECT, left)
    total = time.monotonic() - started
    # Time is bounded by the watchdog, not asserted: a test checks behaviour,
    # and 36,000 chordctl runs take what the machine gives them.
    diag("heal times: " + ", ".join("%s %s" % (name.split(" (")[0], "%.1fs" % s if s is not None else "FAILED")
                                    for name, s in heal_times))
    diag("keys lost: %d of %d acknowledged; total %.1f s" % (len(lost), len(acked), total))
    print("1..%d" % ct._count)
    sys.stdout.flush()
    sys.exit(1 if ct.failed() else 0)


if __name__ == "__main__":
    run()
