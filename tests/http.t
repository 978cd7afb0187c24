#!/usr/bin/env python3
"""chordd --http HOST:PORT: health, readiness, the positions and Prometheus
metrics over HTTP, served from a snapshot the ring's loop publishes.

Three processes (4 positions each, secured) start with --http on free
loopback ports. Checked: /healthz answers 200 {"status":"ok"} as soon as a
process listens; /readyz answers 200 {"ready":true} once the ring has
converged; /v1/info lists exactly the positions each process logged (index,
id, state, predecessor, successor, keys); /metrics is Prometheus text format
0.0.4 with HELP and TYPE for every family, passes `promtool check metrics`
when promtool is on PATH (Debian package prometheus; skipped otherwise), and
chord_messages_received_total grows across 50 puts while chord_records
(all kinds) counts them; unknown paths give 404, HEAD answers as GET
without a body, and other methods 405 with Allow: GET, HEAD, all with JSON
bodies; 300 TCP connections that open and send
nothing to one process's HTTP port do not stop gets through that process
from answering within 2 s, and /healthz answers once they close.

Deterministically not ready: a process whose --join seed never answers
(--placement first, so it does not walk the ring) keeps its positions
joining, and its /readyz answers 503 naming the first such position. And
the command line: a bad --http value and a non-loopback --http without
--secret or --insecure exit 2; an --http port already taken exits 1.

Helpers are in tests/chordtest.py and tests/httptest.py; environment as
there (CHORD_BIN, CHORD_TEST_SEED, CHORD_TEST_SECURE, CHORD_KEEP_LOGS)."""
import concurrent.futures
import os
import re
import socket
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import chordtest as ct  # noqa: E402
import httptest as ht  # noqa: E402
from chordtest import ok  # noqa: E402
from httptest import JSON_TYPE, json_of, until  # noqa: E402

PROCESSES = 3
PUTS = 50
IDLE_CONNECTIONS = 300
GET_WITHIN_S = 2.0
SNAPSHOT_WAIT_S = 5.0       # the loop publishes at most every 200 ms and wakes at least every second
CENSUS_WAIT_S = 15.0        # chord_records comes from a census at most about 5 s old
LABELS = ht.METRIC_LABELS
HTTP_TIMEOUT_S = 5
PROMETHEUS_TYPE = "text/plain; version=0.0.4; charset=utf-8"
REQUIRED = ["chord_messages_received_total", "chord_messages_dropped_total", "chord_lookups_total",
            "chord_lookup_failures_total", "chord_rpc_timeouts_total", "chord_keys_handed_off_total",
            "chord_keys_taken_over_total", "chord_positions", "chord_positions_active", "chord_records",
            "process_resident_memory_bytes", "process_open_fds", "process_cpu_seconds_total",
            "process_start_time_seconds"]


def request(port, path, method="GET"):
    """ht.request; on a secured ring with the admin token (tests/http_auth.t checks the roles)."""
    return ht.request(port, path, method, role="admin", timeout_s=HTTP_TIMEOUT_S)


def metrics(port):
    """{sample name: value summed over its labelled series} of /metrics, and the body."""
    samples, body = ht.scrape(port, role="admin", timeout_s=HTTP_TIMEOUT_S)
    return ht.sum_by_name(samples), body


def check_info(live):
    problems = []
    for peer in live:
        status, headers, body = request(peer.http_port, "/v1/info")
        info = json_of(body) or {}
        positions = info.get("positions") or []
        if status != 200 or headers.get("content-type") != JSON_TYPE:
            problems.append("%s: /v1/info %s %s" % (peer, status, headers.get("content-type")))
        elif info.get("endpoint") != peer.endpoint or not isinstance(info.get("uptime_seconds"), (int, float)):
            problems.append("%s: /v1/info endpoint %r uptime %r" % (peer, info.get("endpoint"),
                                                                   info.get("uptime_seconds")))
        elif [(p.get("index"), p.get("id")) for p in positions] != list(zip(peer.indices,
                                                                           [i.hex() for i in peer.ids])):
            problems.append("%s: /v1/info positions %s, logged %s" % (peer, positions, peer.indices))
        elif any(p.get("state") != "active" or not p.get("successor") or "predecessor" not in p or
                 not isinstance(p.get("keys"), int) for p in positions):
            problems.append("%s: /v1/info positions %s" % (peer, positions))
    ok(not problems, "/v1/info lists as many positions as each process logged (%s), with ids, states, "
       "neighbours and key counts" % [p.vnodes for p in live], problems)


def check_metrics_format(peer):
    status, headers, body = request(peer.http_port, "/metrics")
    text = ct.text(body) + "\n"
    families = set(re.findall(r"^# TYPE (\S+) ", text, re.M))
    helped = set(re.findall(r"^# HELP (\S+) ", text, re.M))
    histograms = set(re.findall(r"^# TYPE (\S+) histogram$", text, re.M))
    samples = {re.sub(r"_(bucket|sum|count)$", "", name) if re.sub(r"_(bucket|sum|count)$", "", name) in histograms
               else name for name in re.findall(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)[ {]", text, re.M)}
    missing = [name for name in REQUIRED if name not in families]
    ok(status == 200 and headers.get("content-type") == PROMETHEUS_TYPE and not missing and
       samples <= families and families == helped,
       "/metrics: Prometheus text format 0.0.4, HELP and TYPE for every family, the required families present",
       ["status %s, content type %r, missing %s, samples without TYPE %s, TYPE without HELP %s" % (
           status, headers.get("content-type"), missing, sorted(samples - families), sorted(families - helped))])
    counters = re.findall(r"^# TYPE (\S+) counter$", text, re.M)
    names = set(re.findall(r'[{,]([a-zA-Z_][a-zA-Z0-9_]*)="', text))
    values = set(re.findall(r'="([^"]*)"', text))
    ok(all(name.endswith("_total") for name in counters) and names <= LABELS and
       not any(re.search(r"[0-9a-f]{16}", v) for v in values),
       "every counter ends in _total; labels are only %s, none holds an id or a key" % sorted(LABELS),
       [str(counters), str(sorted(names - LABELS))])
    checked = ht.promtool_check(body)
    if checked is None:
        ok(True, "promtool check metrics # SKIP promtool is not on PATH (Debian package prometheus)")
        return
    code, output = checked
    ok(code == 0 and not output.strip(), "promtool check metrics: exit 0, no problems",
       [output, "exit %s" % code])


def check_counters(live):
    before, _ = metrics(live[0].http_port)
    records_before = sum(metrics(p.http_port)[0].get("chord_records", 0) for p in live)
    failures = [f for f in (ct.do_put(ct.rng.choice(live), b"http-%d" % i, b"value-%d" % i)
                            for i in range(PUTS)) if f]
    ok(not failures, "%d puts through random processes" % PUTS, failures[:5])
    after = until(lambda: (lambda m: m if m.get("chord_messages_received_total", 0) >
                           before.get("chord_messages_received_total", 0) else None)(metrics(live[0].http_port)[0]),
                  SNAPSHOT_WAIT_S) or {}
    ok(after.get("chord_messages_received_total", 0) > before.get("chord_messages_received_total", 0),
       "chord_messages_received_total grows after %d puts (%s -> %s)" % (
           PUTS, before.get("chord_messages_received_total"), after.get("chord_messages_received_total")))
    records = until(lambda: (lambda n: n if n >= records_before + PUTS else None)(
        sum(metrics(p.http_port)[0].get("chord_records", 0) for p in live)), CENSUS_WAIT_S)
    ok(records, "chord_records summed over the processes counts the %d keys (%s before, %s after)" % (
        PUTS, records_before, records))
    ok(all(metrics(p.http_port)[0].get("chord_positions") == p.vnodes and
           metrics(p.http_port)[0].get("chord_positions_active") == p.vnodes for p in live),
       "chord_positions and chord_positions_active are each process's position count")


def check_errors(peer):
    cases = [("GET", "/nope", 404, "not found"), ("GET", "/dashboard/nope", 404, "not found"),
             ("POST", "/healthz", 405, "method not allowed"), ("DELETE", "/metrics", 405, "method not allowed"),
             ("PUT", "/v1/info", 405, "method not allowed")]
    problems = []
    for method, path, want, error in cases:
        status, headers, body = request(peer.http_port, path, method)
        if (status != want or headers.get("content-type") != JSON_TYPE or json_of(body) != {"error": error} or
                (want == 405 and headers.get("allow") != "GET, HEAD")):
            problems.append("%s %s: %s %s %r" % (method, path, status, headers, body))
    ok(not problems, "unknown paths give 404 and methods other than GET and HEAD 405 with Allow: GET, HEAD, "
       "JSON bodies", problems)
    problems = []
    for path in ("/healthz", "/v1/info", "/metrics", "/nope"):
        got = request(peer.http_port, path)
        status, headers, rest = ht.head(peer.http_port, path, role="admin", timeout_s=HTTP_TIMEOUT_S)
        if (status != got[0] or rest != b"" or headers.get("content-type") != got[1].get("content-type") or
                (path == "/healthz" and headers.get("content-length") != str(len(got[2])))):
            problems.append("HEAD %s: %s %s, %d bytes of body; GET: %s" % (path, status, headers, len(rest), got[0]))
    ok(not problems, "HEAD answers as GET would (status, type, length) with no body", problems)


def check_idle_connections(peer, live, pool):
    """Many connections that never send a byte must not stall the ring's loop."""
    idle = []
    try:
        for _ in range(IDLE_CONNECTIONS):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.settimeout(2)
            try:
                s.connect(("127.0.0.1", peer.http_port))
            except OSError:
                s.close()
                continue
            idle.append(s)
        slow = []
        for i in range(5):
            start = time.monotonic()
            failure = ct.do_get(peer, b"http-%d" % i, b"value-%d" % i)
            seconds = time.monotonic() - start
            if failure or seconds > GET_WITHIN_S:
                slow.append(failure or "get http-%d took %.2f s" % (i, seconds))
        ok(not slow, "with %d idle HTTP connections open (%d connected), gets through that process answer "
           "within %.0f s" % (IDLE_CONNECTIONS, len(idle), GET_WITHIN_S), slow)
    finally:
        for s in idle:
            s.close()
    status = until(lambda: request(peer.http_port, "/healthz")[0] == 200, 15)
    ok(status, "/healthz answers once the idle connections are closed")
    seconds, problem = ct.wait_converged(live, pool)
    ok(seconds is not None, "the ring is still converged", [problem])


def check_not_ready():
    """A process whose seed never answers keeps its positions joining."""
    peer = ht.start_joining_peer()
    status, headers, body = request(peer.http_port, "/healthz")
    ok(status == 200 and json_of(body) == {"status": "ok"} and headers.get("content-type") == JSON_TYPE,
       "/healthz: 200 {\"status\":\"ok\"} from a process that is still joining", [status, body])
    status, headers, body = until(lambda: (lambda r: r if r[0] == 503 and b"joining" in r[2] else None)(
        request(peer.http_port, "/readyz")), SNAPSHOT_WAIT_S) or request(peer.http_port, "/readyz")
    ok(status == 503 and json_of(body) == {"ready": False, "reason": "position 0 is joining"} and
       headers.get("content-type") == JSON_TYPE,
       "/readyz: 503 naming the first position that is not active while the seed never answers", [status, body])
    values, _ = metrics(peer.http_port)
    ok(values.get("chord_positions") == 2 and values.get("chord_positions_active") == 0,
       "its chord_positions is 2 and chord_positions_active 0", [str(values)])
    ct.stop_gracefully(peer)


def check_healthz(n, peer):
    status, _, body = request(peer.http_port, "/healthz")
    ok(status == 200 and json_of(body) == {"status": "ok"},
       "process %d: /healthz 200 as soon as it listens" % n, [status, body])


def check_command_line():
    port = ct.free_port()
    base = [ct.CHORDD, "--listen", "tcp://127.0.0.1:%d" % port]
    bad = [["--http", "127.0.0.1"], ["--http", "127.0.0.1:0"], ["--http", "127.0.0.1:http"],
           ["--http", "::1:8080"], ["--http", "0.0.0.0:%d" % ct.free_port()]]
    problems = []
    for args in bad:
        code, _, err = ct.run(base + args)
        if code != 2 or b"--http" not in err and b"HTTP" not in err:
            problems.append("%s: exit %s: %s" % (" ".join(args), code, ct.text(err)))
    ok(not problems, "bad --http values, and a non-loopback one without --secret or --insecure, exit 2 "
       "with an error", problems)
    holder = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        holder.bind(("127.0.0.1", 0))
        holder.listen(1)
        taken = holder.getsockname()[1]
        peer, outcome = ct.spawn(port, ct.chordd_argv(port, extra=["--http", "127.0.0.1:%d" % taken]),
                                 "taken-%d.log" % port)
        if outcome == "listening":
            ct.stop_gracefully(peer)
        else:
            peer.proc.wait(timeout=5)
        ok(outcome == "exited" and peer.proc.returncode == 1 and b"cannot listen on 127.0.0.1:%d" % taken
           in peer.log(), "an --http port already taken: exit 1, saying so (%s)" % outcome,
           [ct.text(peer.log())[-300:]])
    finally:
        holder.close()


def main():
    pool = concurrent.futures.ThreadPoolExecutor(max_workers=ct.WORKERS)
    try:
        check_command_line()
        check_not_ready()
        live = ht.start_ring(PROCESSES, pool, each=check_healthz)
        seconds, problem = ct.wait_converged(live, pool)
        ok(seconds is not None, "the ring of %d processes converges" % PROCESSES, [problem])
        ready = until(lambda: all(request(p.http_port, "/readyz")[:3:2] == (200, b'{"ready":true}\n')
                                  for p in live), SNAPSHOT_WAIT_S)
        ok(ready, "/readyz: 200 {\"ready\":true} from every process once the ring has converged",
           [str(request(p.http_port, "/readyz")) for p in live])
        log_line = all(b"http: serving on 127.0.0.1:%d" % p.http_port in p.log() for p in live)
        ok(log_line, "each process logs 'http: serving on HOST:PORT'")
        check_info(live)
        check_metrics_format(live[0])
        check_counters(live)
        check_errors(live[0])
        check_idle_connections(live[0], live, pool)
        ct.stop_all(live)
    finally:
        pool.shutdown(wait=True)


if __name__ == "__main__":
    ct.finish(main, "chord-http-", secured=True)
