#!/usr/bin/env python3
"""A ring secured with a cluster secret: ZeroMQ CURVE between peers and
clients, our ZAP handler in chordd, and client keys with roles.

Makes a cluster secret and four client keys with chordctl keygen (files
mode 0600; keygen refuses to overwrite; chordd refuses a secret others may
read), lists three of them in a --clients file (read, write, admin) and
starts 5 secured peers. Then:
  - an outsider without the secret gets nothing: chordctl without a key
    (info, get, put, leave) and with another ring's secret exits 5 at once
    (the time it takes is printed), the put does not land and the peer does
    not leave; a chordd without the secret and one with another secret
    trying to --join never appear in the ring;
  - roles: the read client reads but cannot put (exit 4, "forbidden"); the
    write client puts and deletes but cannot make a peer leave; the admin
    client makes a peer leave (it exits 0, the ring closes without it);
  - SIGHUP: a client refused before is admitted after its key is added to
    the file and the peers get SIGHUP; a bad line then keeps the table in
    use; a chordd whose --clients has a bad line does not start (file:line);
    an open chordd (no --clients) survives SIGHUP;
  - a TCP relay that logs every byte, between chordctl and a secured peer,
    never sees a distinctive value in the clear, though the put and get
    through it work; the same relay before an open peer does see it (so the
    check can fail);
  - protected mode: chordd on 0.0.0.0 without --secret exits 2 naming
    --secret and --insecure; with --insecure it starts (and warns), with
    --secret it starts.
At the end every peer leaves on SIGTERM with exit 0.

Helpers are in tests/chordtest.py (processes killed by PID on every exit
path, bounded waits, log tails on failure). Environment as for ring.t."""

import concurrent.futures
import os
import shutil
import signal
import socket
import stat
import sys
import threading
import time

sys.dont_write_bytecode = True         # no tests/__pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import chordtest as ct                                  # noqa: E402
from chordtest import Fatal, diag, ok                   # noqa: E402

PEERS = 5
REFUSED_TIMEOUT_MS = 20000  # the --timeout a refused chordctl is given...
REFUSED_S = 5.0             # ...and the time by which it must have exited (slow machines, sanitizers)
OUTSIDER_S = 3.0            # how long an outsider gets to try to join
SIGHUP_S = 5.0              # a peer must have re-read its clients by then

ct.STABILIZE_MS = 100
ct.RPC_TIMEOUT_MS = 300

rng = ct.rng


class Relay:
    """Listens on a loopback port and forwards each connection to target_port,
    keeping every byte that passes either way in self.captured."""

    def __init__(self, target_port):
        self.target_port = target_port
        self.captured = bytearray()
        self.lock = threading.Lock()
        self.listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(16)
        self.port = self.listener.getsockname()[1]
        self.endpoint = "tcp://127.0.0.1:%d" % self.port
        self.sockets = [self.listener]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                client, _ = self.listener.accept()
                server = socket.create_connection(("127.0.0.1", self.target_port), timeout=5)
                server.settimeout(None)
            except OSError:
                return
            self.sockets += [client, server]
            threading.Thread(target=self._pump, args=(client, server), daemon=True).start()
            threading.Thread(target=self._pump, args=(server, client), daemon=True).start()

    def _pump(self, src, dst):
        while True:
            try:
                data = src.recv(65536)
                if not data:
                    break
                with self.lock:
                    self.captured += data
                dst.sendall(data)
            except OSError:
                break
        for s in (src, dst):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def seen(self, data):
        with self.lock:
            return bytes(data) in self.captured, len(self.captured)

    def close(self):
        for s in self.sockets:
            try:
                s.close()
            except OSError:
                pass


def wait_log(peer, needle, count, bound_s):
    """True once peer's log holds needle at least count times (within bound_s)."""
    deadline = time.monotonic() + bound_s
    while time.monotonic() < deadline:
        if peer.log().count(needle) >= count:
            return True
        time.sleep(0.05)
    return False


def test_keygen(secret, loose_dir):
    mode = stat.S_IMODE(os.stat(secret).st_mode)
    ok(mode == 0o600, "keygen --secret writes the secret with mode 0600 (got %03o)" % mode)
    before = open(secret, "rb").read()
    code, _, err = ct.run([ct.CHORDCTL, "keygen", "--secret", secret])
    ok(code not in (0, None) and b"exists" in err and open(secret, "rb").read() == before,
       "keygen --secret refuses to overwrite an existing file (exit %s, %r)" % (code, ct.text(err)))
    loose = os.path.join(loose_dir, "loose.secret")
    shutil.copyfile(secret, loose)
    os.chmod(loose, 0o644)
    port = ct.free_port()
    code, _, err = ct.run(ct.chordd_argv(port, secret=loose), timeout=5)
    ok(code == 2 and b"group or others" in err,
       "chordd refuses a secret file others may read, exit 2 (got %s, %r)" % (code, ct.text(err)[:160]))
    code, _, err = ct.ctl("tcp://127.0.0.1:%d" % port, "info", secret=loose, timeout_ms=1000)
    ok(code == 2 and b"group or others" in err,
       "chordctl refuses a secret file others may read, exit 2 (got %s)" % code)


def refused(peer, what, *args, **kwargs):
    """Runs chordctl ARGS (with kwargs' credentials) against peer, which must
    refuse it: exit 5 within REFUSED_S with a message. Returns the seconds taken."""
    start = time.monotonic()
    code, out, err = ct.ctl(peer, *args, timeout_ms=REFUSED_TIMEOUT_MS, **kwargs)
    seconds = time.monotonic() - start
    ok(code == 5 and b"refused" in err and not out and seconds < REFUSED_S,
       "%s: chordctl %s is refused: exit 5 in %.3f s (< %.0f s, with --timeout %d), nothing on stdout "
       "(got %s, %r)" % (what, ct.show(args), seconds, REFUSED_S, REFUSED_TIMEOUT_MS, code, ct.text(err)[:160]))
    return seconds


def test_outsiders(live, pool, key, value):
    """No secret, or another ring's: nothing gets through, and quickly."""
    peer = rng.choice(live)
    times = [refused(peer, "no key", "info", secret=None),
             refused(peer, "no key", "get", key, secret=None),
             refused(peer, "no key", "put", key, b"stolen", secret=None),
             refused(peer, "no key", "leave", secret=None)]
    other = os.path.join(ct.TMPDIR, "other.secret")
    ct.keygen("--secret", other)
    times.append(refused(peer, "another ring's secret", "put", key, b"stolen", secret=other))
    diag("a refused chordctl learns it in %.3f s on average, %.3f s at most (over %d runs)" % (
        sum(times) / len(times), max(times), len(times)))
    problem = ct.do_get(rng.choice(live), key, value)
    ok(problem is None and peer.proc.poll() is None,
       "after the outsiders the value is unchanged and the peer still runs", [problem])

    # Peers without the ring's key try to join; the ring must not change.
    intruders = [ct.start_peer(join=peer, secret=None), ct.start_peer(join=peer, secret=other)]
    time.sleep(OUTSIDER_S)
    seconds, problem = ct.wait_converged(live, pool)
    ok(seconds is not None, "a chordd without the secret and one with another secret, trying to join for "
       "%.0f s, never appear in the ring" % OUTSIDER_S, [problem])
    code, out, err = ct.ctl(intruders[0], "--json", "info", secret=None)
    ok(code == 0 and b'"state":"active"' not in out.replace(b" ", b""),
       "the chordd without the secret is still not an active member (exit %s, %r)" % (code, out[:120]))
    return intruders


def test_roles(live, keys, key, value):
    peer = rng.choice(live)
    code, out, err = ct.ctl(peer, "get", key, key=keys["read"])
    ok(code == 0 and out == value, "the read client reads the value (exit %s)" % code, [ct.text(err)])
    code, out, err = ct.ctl(peer, "put", key, b"by-reader", key=keys["read"])
    ok(code == 4 and b"forbidden" in err, "the read client cannot put: exit 4, forbidden (got %s, %r)" % (
        code, ct.text(err)))
    diag("what a read client hears: %s" % ct.text(err))
    problem = ct.do_get(peer, key, value)
    ok(problem is None, "the read client's put did not land", [problem])

    wkey = b"written-by-the-write-client"
    code, _, err = ct.ctl(peer, "put", wkey, b"w", key=keys["write"])
    ok(code == 0, "the write client puts (exit %s)" % code, [ct.text(err)])
    code, out, _ = ct.ctl(rng.choice(live), "get", wkey, key=keys["write"])
    ok(code == 0 and out == b"w", "the write client reads its put back (exit %s)" % code)
    code, _, err = ct.ctl(peer, "del", wkey, key=keys["write"])
    code2, _, _ = ct.ctl(peer, "get", wkey)
    ok(code == 0 and code2 == 1, "the write client deletes (exit %s; get then exits %s)" % (code, code2))
    code, _, err = ct.ctl(peer, "leave", key=keys["write"])
    time.sleep(0.3)
    ok(code == 4 and b"forbidden" in err and peer.proc.poll() is None,
       "the write client cannot make a peer leave: exit 4, forbidden, the peer runs (got %s, %r)" % (
           code, ct.text(err)))

    victim = rng.choice([p for p in live if p is not peer])
    code, _, err = ct.ctl(victim, "leave", key=keys["admin"], timeout_ms=8000)
    try:
        exit_code = victim.proc.wait(timeout=ct.LEAVE_S)
    except Exception:
        exit_code = None
    ok(code == 0 and exit_code == 0, "the admin client makes %s leave: exit %s, the peer exits %s" % (
        victim, code, exit_code), [ct.text(err)])
    ct.unregister(victim.proc)
    live.remove(victim)


def test_sighup(live, keys, pubs, clients, intruder):
    peer = rng.choice(live)
    refused(peer, "a client not listed yet", "info", key=keys["late"])
    with open(clients, "a") as f:
        f.write("%s read   added later\n" % pubs["late"])
    for p in live:
        p.proc.send_signal(signal.SIGHUP)
    reloaded = all(wait_log(p, b"SIGHUP: re-read", 1, SIGHUP_S) for p in live)
    ok(reloaded and b"admitting 2 read, 1 write and 1 admin" in peer.log(),
       "SIGHUP: every peer re-reads the clients file and logs 2 read, 1 write, 1 admin")
    code, out, err = ct.ctl(peer, "info", key=keys["late"])
    ok(code == 0 and b"active" in out, "after SIGHUP the client refused before is admitted (exit %s)" % code,
       [ct.text(err)])

    with open(clients, "a") as f:
        f.write("this-is-not-a-key read\n")
    peer.proc.send_signal(signal.SIGHUP)
    kept = wait_log(peer, b"keeping the clients admitted before", 1, SIGHUP_S)
    code, _, _ = ct.ctl(peer, "info", key=keys["late"])
    ok(kept and b"clients:" in peer.log() and code == 0 and peer.proc.poll() is None,
       "a bad line on SIGHUP is logged with file:line and the clients admitted before stay (exit %s)" % code)
    port = ct.free_port()
    code, _, err = ct.run(ct.chordd_argv(port, extra=["--clients", clients]), timeout=5)
    ok(code == 2 and (os.path.basename(clients) + ":").encode() in err,
       "chordd whose --clients file has a bad line does not start: exit 2 naming file:line (got %s, %r)" % (
           code, ct.text(err)[:160]))
    with open(clients) as f:
        lines = f.readlines()
    with open(clients, "w") as f:
        f.writelines(lines[:-1])

    intruder.proc.send_signal(signal.SIGHUP)
    logged = wait_log(intruder, b"SIGHUP", 1, SIGHUP_S)
    ok(logged and intruder.proc.poll() is None, "a chordd without --clients survives SIGHUP (and says so)")


def test_relay(live, open_peer):
    value = b"DISTINCTIVE-VALUE-%08x-seen-in-the-clear" % rng.getrandbits(32)
    for name, target, secured in (("secured", rng.choice(live), True), ("open", open_peer, False)):
        relay = Relay(target.port)
        try:
            key = b"relayed-%s" % name.encode()
            put = ct.ctl(relay.endpoint, "put", key, value, secret=None if not secured else ct.DEFAULT)
            got = ct.ctl(relay.endpoint, "get", key, secret=None if not secured else ct.DEFAULT)
            seen, size = relay.seen(value)
        finally:
            relay.close()
        worked = put[0] == 0 and got[0] == 0 and got[1] == value and size > len(value)
        if secured:
            ok(worked and not seen, "a relay logging every byte between chordctl and a secured peer: put and "
               "get work (exits %s %s) and the value never passes in the clear (%d bytes relayed)" % (
                   put[0], got[0], size), [ct.text(put[2]), ct.text(got[2])])
        else:
            ok(worked and seen, "the same relay before an open peer does see the value (%d bytes relayed, "
               "seen %s)" % (size, seen), [ct.text(put[2]), ct.text(got[2])])


def test_protected_mode():
    port = ct.free_port()
    wide = ["--listen", "tcp://0.0.0.0:%d" % port, "--advertise", "tcp://127.0.0.1:%d" % port]
    code, _, err = ct.run([ct.CHORDD] + wide, timeout=5)
    ok(code == 2 and b"--secret" in err and b"--insecure" in err,
       "protected mode: chordd on 0.0.0.0 without --secret exits 2 naming --secret and --insecure (got %s, %r)" % (
           code, ct.text(err)[:200]))
    started = []
    for extra, name in ((["--insecure"], "--insecure"), (["--secret", ct.SECRET], "--secret")):
        port = ct.free_port()
        wide = ["--listen", "tcp://0.0.0.0:%d" % port, "--advertise", "tcp://127.0.0.1:%d" % port]
        peer, outcome = ct.spawn(port, [ct.CHORDD] + wide + extra, "wide-%s.log" % name.strip("-"))
        warned = b"--insecure" in peer.log() and b"WARN" in peer.log()
        ok(outcome == "listening" and (warned or name != "--insecure"),
           "chordd on 0.0.0.0 with %s starts%s (%s)" % (name, " and warns" if name == "--insecure" else "",
                                                        outcome))
        if outcome == "listening":
            started.append(peer)
    for peer in started:
        ct.stop_gracefully(peer)


def main():
    pool = concurrent.futures.ThreadPoolExecutor(max_workers=ct.WORKERS)
    try:
        ct.SECRET = os.path.join(ct.TMPDIR, "ring.secret")
        ring_key = ct.keygen("--secret", ct.SECRET)
        diag("the ring's public key: %s" % ring_key)
        keys, pubs = {}, {}
        for role in ("read", "write", "admin", "late"):
            keys[role] = os.path.join(ct.TMPDIR, "%s.key" % role)
            pubs[role] = ct.keygen("--client", keys[role], "--secret", ct.SECRET)
        ok(all(len(p) == 40 for p in pubs.values()), "keygen --client prints 40-character Z85 public keys")
        clients = os.path.join(ct.TMPDIR, "clients")
        with open(clients, "w") as f:
            f.write("# role per client key\n\n")
            for role in ("read", "write", "admin"):
                f.write("%s %s   the %s client\n" % (pubs[role], role, role))
        test_keygen(ct.SECRET, ct.TMPDIR)

        live = []
        for _ in range(PEERS):
            live.append(ct.start_peer(join=rng.choice(live) if live else None, extra=["--clients", clients]))
        seconds, problem = ct.wait_converged(live, pool)
        if not ok(seconds is not None, "a secured ring of %d peers converges" % PEERS, [problem]):
            raise Fatal("no ring to test")
        key, value = b"the-secret-key", b"the secret value"
        problem = ct.do_put(rng.choice(live), key, value)
        ok(problem is None, "a put with the secret works", [problem])

        intruders = test_outsiders(live, pool, key, value)
        test_roles(live, keys, key, value)
        seconds, problem = ct.wait_converged(live, pool)
        ok(seconds is not None, "after the admin's leave the ring of %d converges" % len(live), [problem])
        test_sighup(live, keys, pubs, clients, intruders[0])
        open_peer = ct.start_peer(secret=None)
        test_relay(live, open_peer)
        intruders.append(open_peer)
        test_protected_mode()
        for intruder in intruders:
            ct.stop_gracefully(intruder)
        ct.stop_all(live)
    finally:
        pool.shutdown(wait=True)


if __name__ == "__main__":
    ct.finish(main, "chord-secure-")
