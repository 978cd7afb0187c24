#!/usr/bin/env python3
"""The Redis door (--resp) end to end, on a secured ring of 4 processes,
the first serving RESP on a loopback port with the suite's --http-tokens.

Through Debian's python3-redis (the `redis` module) with the write token:
SET/GET/DEL/EXISTS/MGET/MSET round trips, a binary key and value with NULs
and a 1 MiB value; a value SET over RESP is read by chordctl from another
process and one put by chordctl is read over RESP; 100 pipelined commands
answered in order; wrong arity and unknown commands get Redis's errors,
SET EX an error. Over raw sockets: a 1 MiB + 1 value gets an error and the
same connection still answers PING; a bulk string announced past the 8 MiB
request bound and bytes that are not RESP each close that connection only
(after "-ERR Protocol error"), while another connection still answers.
AUTH: without it GET is NOAUTH (PING works), a wrong token is WRONGPASS, a
read token may GET but not SET (NOPERM). redis-cli -p PORT ping answers
PONG, and redis-benchmark -t set,get -n 2000 -q exits 0 (its figures are
printed, never checked). On the command line: a bad --resp exits 2, a
taken port 1, a non-loopback --resp without --secret or --insecure 2.

The door runs in chordd's event loop, so also: 1,000 pipelined SETs then
their GETs in one write are answered in order; a client that closes with
commands in flight leaves the peer serving; a client that sends many GETs
of a 100 KiB value and never reads is paused (the peer's memory grows by
far less than the replies it asked for) while another client is served;
on the 4-process ring, keys SET through the door that other processes own
are read back by chordctl from the last process.

Helpers are in tests/chordtest.py; environment as there."""
import concurrent.futures
import os
import socket
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import chordtest as ct  # noqa: E402
from chordtest import Fatal, diag, ok  # noqa: E402

try:
    import redis
except ImportError:
    # Debian's python3-redis lives in the system's dist-packages, which
    # another python3 on PATH (pyenv, say) does not search.
    sys.path.append("/usr/lib/python3/dist-packages")
    import redis

PROCESSES = 4
SOCKET_TIMEOUT_S = 10
MIB = 1024 * 1024


def start_resp_peer(join=None):
    """A chordd with --resp 127.0.0.1:<free port>; retries when a port was taken meanwhile."""
    for attempt in range(8):
        port, resp_port = ct.free_port(), ct.free_port()
        argv = ct.chordd_argv(port, join, None, ["--resp", "127.0.0.1:%d" % resp_port] + ct.http_token_args())
        peer, outcome = ct.spawn(port, argv, "peer%d-%d.log" % (len(ct.all_peers), port))
        if outcome == "listening":
            peer.resp_port = resp_port
            return peer
        if outcome == "silent" or b"in use" not in peer.log():
            raise Fatal("%s did not start (%s): %r" % (peer, outcome, peer.log()[-300:]))
        diag("a port was taken before chordd bound it; retrying (attempt %d)" % (attempt + 1))
    raise Fatal("could not start a peer: every port tried was taken")


def token(role="write"):
    """The token of role on a secured ring; None on an open one (CHORD_TEST_SECURE=0)."""
    return ct.HTTP_TOKENS.get(role) if ct.SECRET else None


def client(peer, role="write"):
    password = token(role) if role else None
    return redis.Redis(host="127.0.0.1", port=peer.resp_port, password=password,
                       socket_timeout=SOCKET_TIMEOUT_S, socket_connect_timeout=SOCKET_TIMEOUT_S)


def error_of(fn):
    """The text of the Redis error fn raises, or None."""
    try:
        fn()
    except redis.exceptions.RedisError as e:
        return "%s: %s" % (type(e).__name__, e)
    return None


def until(fn, seconds):
    deadline = time.monotonic() + seconds
    while True:
        result = fn()
        if result or time.monotonic() >= deadline:
            return result
        time.sleep(0.2)


def check_round_trips(r, other):
    ok(r.set("k1", "v1") is True and r.get("k1") == b"v1", "SET then GET", [r.get("k1")])
    ok(r.exists("k1", "nope", "k1") == 2, "EXISTS counts keys that exist (twice named, twice counted)")
    ok(r.delete("k1", "nope") == 1 and r.get("k1") is None and r.exists("k1") == 0,
       "DEL counts the keys that existed; GET is then nil")
    key, value = b"\x00bin\xffkey\r\n", bytes(range(256)) * 4 + b"\x00\r\n"
    ok(r.set(key, value) and r.get(key) == value, "a binary key and value (NULs, CR LF) round trip byte-exact")
    big = os.urandom(MIB)
    ok(r.set("big", big) and r.get("big") == big, "a 1 MiB value round trips")
    ok(r.mset({"m1": "a", "m2": b"\x00b"}) and r.mget("m1", "none", "m2") == [b"a", None, b"\x00b"],
       "MSET then MGET, nil for a missing key", [r.mget("m1", "none", "m2")])
    shared = b"bin\xffkey"      # a command line holds no NUL
    r.set(shared, value)
    code, out, err = ct.ctl(other, "get", shared)
    ok(code == 0 and out == value, "chordctl on another process reads the value SET over RESP",
       [code, len(out), ct.text(err)[:200]])
    code, _, err = ct.ctl(other, "put", "from-chordctl", "-", stdin=b"ctl\x00value")
    got = r.get("from-chordctl")
    ok(code == 0 and got == b"ctl\x00value", "GET over RESP reads a value put by chordctl", [code, got])


def check_pipeline_and_errors(r):
    pipe = r.pipeline(transaction=False)
    for i in range(50):
        pipe.set("p%d" % i, "v%d" % i)
        pipe.get("p%d" % i)
    results = pipe.execute()
    want = [x for i in range(50) for x in (True, b"v%d" % i)]
    ok(results == want, "100 pipelined commands answered in order", [results[:4]])
    e = error_of(lambda: r.execute_command("GET"))
    ok(e and "wrong number of arguments for 'get' command" in e, "GET without a key: Redis's arity error", [e])
    e = error_of(lambda: r.execute_command("SET", "a"))
    ok(e and "wrong number of arguments for 'set' command" in e, "SET with one argument: arity error", [e])
    e = error_of(lambda: r.execute_command("FOO", "bar", "baz"))
    ok(e and "unknown command 'FOO', with args beginning with: 'bar' 'baz'" in e,
       "an unknown command: Redis's error with its first arguments", [e])
    e = error_of(lambda: r.set("a", "b", ex=10))
    ok(e and "not supported" in e, "SET EX is refused, not ignored", [e])
    e = error_of(lambda: r.execute_command("SELECT", "1"))
    ok(e and "out of range" in e and r.execute_command("SELECT", "0"), "SELECT 0 only", [e])
    info = r.info("chord")
    ok(info.get("positions", 0) >= 1 and str(info.get("endpoint", "")).startswith("tcp://"),
       "INFO chord: the endpoint and its positions", [info])


def raw(port, data):
    """Sends AUTH (on a secured ring) then data on a new connection; returns
    (everything read until EOF or SOCKET_TIMEOUT_S, closed by the server),
    the answer to AUTH left out."""
    with socket.create_connection(("127.0.0.1", port), timeout=SOCKET_TIMEOUT_S) as s:
        auth = command("AUTH", token()) if token() else b""
        got, closed = b"", False
        try:
            s.sendall(auth + data)
            s.shutdown(socket.SHUT_WR)
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    closed = True
                    break
                got += chunk
        except ConnectionResetError:
            closed = True
        except socket.timeout:
            pass
        except (BrokenPipeError, OSError):
            closed = True
        if auth and got.startswith(b"+OK\r\n"):
            got = got[5:]
        return got, closed


def command(*args):
    out = b"*%d\r\n" % len(args)
    for a in args:
        a = a if isinstance(a, bytes) else a.encode()
        out += b"$%d\r\n%s\r\n" % (len(a), a)
    return out


def check_hostile(peer, r):
    got, _ = raw(peer.resp_port, command("SET", "over", b"x" * (MIB + 1)) + command("PING"))
    ok(got.startswith(b"-ERR value over 1 MiB") and got.endswith(b"+PONG\r\n"),
       "a 1 MiB + 1 value: an error, and the same connection answers PING after it", [got[:120]])
    huge = b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$20000000\r\n" + b"y" * (8 * MIB + 65536)
    got, closed = raw(peer.resp_port, huge)
    ok(closed and (got == b"" or b"Protocol error" in got),
       "a bulk string past the 8 MiB bound closes the connection", [got[:120], closed])
    for bad in (b"hello world\r\n", b"*1\r\n$abc\r\n", b"*2\r\n*1\r\n$1\r\na\r\n$1\r\nb\r\n", b"*99999999\r\n"):
        got, closed = raw(peer.resp_port, bad)
        ok(closed and b"-ERR Protocol error" in got, "malformed %r: -ERR Protocol error, then closed" % bad[:20],
           [got[:120], closed])
    ok(r.ping() is True and r.get("m1") == b"a", "another connection still answers after all that")


def check_auth(peer):
    if not ct.SECRET:
        e = error_of(lambda: client(peer, None).execute_command("AUTH", "x" * 40))
        ok(e and "without any password configured" in e, "an open ring: AUTH is Redis's error, no AUTH needed", [e])
        return
    anonymous = client(peer, None)
    ok(anonymous.ping() is True, "PING works before AUTH")
    e = error_of(lambda: anonymous.get("m1"))
    ok(e and "Authentication required" in e, "GET before AUTH: NOAUTH", [e])
    wrong = redis.Redis(host="127.0.0.1", port=peer.resp_port, password="x" * 40, socket_timeout=SOCKET_TIMEOUT_S)
    e = error_of(wrong.ping)
    ok(e and "invalid username-password pair" in e, "a wrong token: WRONGPASS", [e])
    reader = client(peer, "read")
    e = error_of(lambda: reader.set("m1", "no"))
    ok(reader.get("m1") == b"a" and e and "no permissions to run the 'set' command" in e,
       "a read token may GET but not SET (NOPERM)", [e])
    e = error_of(lambda: reader.delete("m1"))
    ok(e and "no permissions to run the 'del' command" in e, "nor DEL", [e])


def read_replies(s, count, seconds):
    """Reads count RESP replies (no arrays) from socket s; returns them as
    bytes (bulk strings), None (nil), or b"+..."/b"-..."/b":..." lines."""
    buf, replies = b"", []
    deadline = time.monotonic() + seconds
    while len(replies) < count and time.monotonic() < deadline:
        while len(replies) < count:
            end = buf.find(b"\r\n")
            if end < 0:
                break
            head = buf[:end]
            if head[:1] != b"$":
                replies.append(head)
                buf = buf[end + 2:]
                continue
            size = int(head[1:])
            if size < 0:
                replies.append(None)
                buf = buf[end + 2:]
                continue
            if len(buf) < end + 2 + size + 2:
                break
            replies.append(buf[end + 2:end + 2 + size])
            buf = buf[end + 2 + size + 2:]
        if len(replies) < count:
            chunk = s.recv(1 << 20)
            if not chunk:
                break
            buf += chunk
    return replies


def authed_socket(peer):
    s = socket.create_connection(("127.0.0.1", peer.resp_port), timeout=SOCKET_TIMEOUT_S)
    if token():
        s.sendall(command("AUTH", token()))
        read_replies(s, 1, SOCKET_TIMEOUT_S)
    return s


def check_event_loop(live, r):
    peer = live[0]
    n = 1000
    data = b"".join(command("SET", "p%d" % i, "v%d" % i) for i in range(n))
    data += b"".join(command("GET", "p%d" % i) for i in range(n))
    with authed_socket(peer) as s:
        s.sendall(data)
        got = read_replies(s, 2 * n, 60)
    want = [b"+OK"] * n + [b"v%d" % i for i in range(n)]
    ok(got == want, "1,000 pipelined SETs then their GETs in one write: answered in order",
       [len(got), [x for x, y in zip(got, want) if x != y][:3]])
    with authed_socket(peer) as s:
        s.sendall(b"".join(command("SET", "gone%d" % i, b"x" * 10000) for i in range(500)))
    #  The 500 writes still replicate meanwhile: a busy ring may say TRYAGAIN for a while.
    serving = lambda: peer.proc.poll() is None and error_of(lambda: r.set("after", "1")) is None and \
        r.get("after") == b"1"
    ok(until(serving, 15), "a client that closes with 500 SETs in flight: the peer goes on serving")
    big = b"s" * (100 * 1024)
    #  A key this process owns: the test is of the door's bounds, not of the ring's links.
    slow_key = next(k for k in ("slow%d" % i for i in range(1000))
                    if ct.owner_position(ct.blake(k.encode()), live)[1] is peer)
    r.set(slow_key, big)
    rss_before = rss_kib(peer)
    slow = authed_socket(peer)
    slow.setblocking(False)
    request, sent, asked = command("GET", slow_key) * 256, 0, 0
    deadline = time.monotonic() + 10
    while asked < 20000 and time.monotonic() < deadline:
        try:
            sent = slow.send(request)
        except BlockingIOError:
            break
        asked += sent // len(command("GET", slow_key))
    served = r.set("while-slow", "1") and r.get("while-slow") == b"1" and r.get(slow_key) == big
    growth_mib = (rss_kib(peer) - rss_before) / 1024
    slow.close()
    figures = "asked %d GETs (%d MiB of replies), RSS grew %.1f MiB" % (asked, asked * len(big) >> 20, growth_mib)
    #  Unbounded, the peer would hold every reply asked for; ASan's quarantine alone holds some 100 MiB.
    ok(served and growth_mib < min(200, (asked * len(big) >> 20) / 4),
       "a client that never reads its GETs is paused: others are served, memory bounded", [figures])
    diag("slow reader: " + figures)


def rss_kib(peer):
    with open("/proc/%d/status" % peer.proc.pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def check_owned_elsewhere(live, r):
    keys = ["ring-%d" % i for i in range(40)]
    ok(r.mset({k: "val-" + k for k in keys}) and r.mget(keys) == [("val-" + k).encode() for k in keys],
       "MSET and MGET of 40 keys across the 4-process ring")
    elsewhere = [k for k in keys if ct.owner_position(ct.blake(k.encode()), live)[1] is not live[0]]
    read = [k for k in elsewhere if ct.ctl(live[3], "get", k)[1] == ("val-" + k).encode()]
    ok(elsewhere and read == elsewhere, "keys other processes own, SET through the door, read by chordctl",
       ["%d of 40 owned elsewhere, %d read back" % (len(elsewhere), len(read))])
    ok(r.delete(*keys) == len(keys) and r.exists(*keys) == 0, "DEL of the 40 keys counts 40; EXISTS then 0")


def check_tools(peer):
    code, out, err = ct.run(["redis-cli", "-p", str(peer.resp_port), "ping"])
    ok(code == 0 and out.strip() == b"PONG", "redis-cli -p PORT ping: PONG", [code, out, err[:200]])
    auth = ["--no-auth-warning", "-a", token()] if token() else []
    code, out, err = ct.run(["redis-cli", "-p", str(peer.resp_port)] + auth + ["set", "cli", "v"])
    ok(code == 0 and out.strip() == b"OK", "redis-cli [-a TOKEN] set cli v: OK", [code, out, err[:200]])
    auth = ["-a", token()] if token() else []
    code, out, err = ct.run(["redis-benchmark", "-p", str(peer.resp_port)] + auth +
                            ["-t", "set,get", "-n", "2000", "-q"], timeout=120)
    lines = [line.split("\r")[-1] for line in ct.text(out).splitlines() if "requests per second" in line]
    ok(code == 0 and len(lines) == 2, "redis-benchmark -t set,get -n 2000 -q runs and exits 0",
       [code, ct.text(out)[-300:], ct.text(err)[-300:]])
    for line in lines:
        diag("redis-benchmark: %s" % line.strip())


def check_command_line():
    port = ct.free_port()
    code, _, err = ct.run(ct.chordd_argv(port, extra=["--resp", "nonsense"]))
    ok(code == 2 and b"--resp" in err, "--resp without HOST:PORT exits 2", [code, ct.text(err)[:200]])
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        argv = ct.chordd_argv(port, extra=["--resp", "127.0.0.1:%d" % taken.getsockname()[1]])
        code, _, err = ct.run(argv)
    ok(code == 1 and b"--resp" in err, "--resp on a taken port exits 1", [code, ct.text(err)[:200]])
    code, _, err = ct.run(ct.chordd_argv(port, extra=["--resp", "0.0.0.0:%d" % ct.free_port()], secret=None) +
                          ["--log-level", "error"])
    ok(code == 2 and b"RESP" in err, "an open ring's --resp on 0.0.0.0 without --insecure exits 2",
       [code, ct.text(err)[:200]])


def main():
    check_command_line()
    live = [start_resp_peer()]
    pool = concurrent.futures.ThreadPoolExecutor(max_workers=ct.WORKERS)
    try:
        for n in range(1, PROCESSES):
            live.append(ct.start_peer(join=live[0]))
        seconds, problem = ct.wait_converged(live, pool)
        if seconds is None:
            raise Fatal("the ring of %d processes did not converge: %s" % (PROCESSES, problem))
        r = client(live[0])
        if not until(lambda: error_of(lambda: r.set("ready", "1")) is None, 15):
            raise Fatal("SET never succeeded: %s" % error_of(lambda: r.set("ready", "1")))
        check_round_trips(r, live[2])
        check_pipeline_and_errors(r)
        check_hostile(live[0], r)
        check_auth(live[0])
        check_event_loop(live, r)
        check_owned_elsewhere(live, r)
        check_tools(live[0])
        ct.stop_all(live)
    finally:
        pool.shutdown(wait=True)


if __name__ == "__main__":
    ct.finish(main, "chord-resp-", secured=True)
