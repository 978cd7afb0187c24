#!/usr/bin/env python3
"""GET /metrics: Prometheus families that move when the ring works.

Three processes (default --vnodes, --replicas 3, --data-dir, secured)
start with --http on free loopback ports. Checked on every process's exposition:
`promtool check metrics` passes (when promtool is on PATH); every
histogram's buckets are cumulative, end in le="+Inf" equal to _count; the
only label names are type, reason, op, status, kind and le, and no label
value looks like an id. Over the ring, after N puts through chordctl:
chord_client_requests_total{op="put",status="ok"} and
chord_client_request_duration_seconds_count{op="put"} each grew by exactly
N; chord_records{kind="owned"} sums to N and owned + replica to N x 3 once
the census has run (bounded wait); after D deletes,
chord_records{kind="tombstone"} sums to D x 3 and owned to N - D;
chord_ring_owned_ratio sums to 1 within 1e-6; lookups and store commits
were timed; messages were received by type.

Helpers are in tests/chordtest.py and tests/httptest.py; environment as
there (CHORD_BIN, CHORD_TEST_SEED, CHORD_TEST_SECURE, CHORD_KEEP_LOGS)."""
import concurrent.futures
import os
import re
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import chordtest as ct  # noqa: E402
import httptest as ht  # noqa: E402
from chordtest import ok  # noqa: E402

PROCESSES = 3
REPLICAS = 3
PUTS = 40
DELETES = 8
CENSUS_WAIT_S = 20.0        # a census is at most about 5 s old; replication and publishing add a little
COUNTER_WAIT_S = 5.0        # the loop publishes at most every 200 ms and wakes at least every second
LABELS = ht.METRIC_LABELS


def total(live, name, **labels):
    """The sum over the processes of name's samples that carry labels."""
    result = 0.0
    for peer in live:
        for sample, sample_labels, value in ht.scrape(peer.http_port)[0]:
            if sample == name and all(sample_labels.get(k) == v for k, v in labels.items()):
                result += value
    return result


def until(fn, bound_s):
    """ht.until, polling every 0.2 s: each try scrapes every process."""
    return ht.until(fn, bound_s, interval_s=0.2)


def histogram_problems(samples):
    """What is wrong with the histograms among samples: buckets not cumulative, no +Inf, +Inf != _count."""
    problems = []
    series = {}
    for name, labels, value in samples:
        if name.endswith("_bucket"):
            key = (name[:-len("_bucket")], tuple(sorted((k, v) for k, v in labels.items() if k != "le")))
            series.setdefault(key, []).append((labels.get("le"), value))
    counts = {(name[:-len("_count")], tuple(sorted(labels.items()))): value
              for name, labels, value in samples if name.endswith("_count")}
    for key, buckets in series.items():
        values = [v for _, v in buckets]
        if values != sorted(values):
            problems.append("%s: buckets not cumulative: %s" % (key, buckets))
        if buckets[-1][0] != "+Inf":
            problems.append("%s: the last bucket is le=%s, not +Inf" % (key, buckets[-1][0]))
        elif counts.get(key) != buckets[-1][1]:
            problems.append("%s: +Inf %s but _count %s" % (key, buckets[-1][1], counts.get(key)))
        bounds = [float(le) for le, _ in buckets[:-1]]
        if bounds != sorted(bounds):
            problems.append("%s: le bounds out of order" % (key,))
    return problems, len(series)


def check_format(live):
    for peer in live:
        samples, body = ht.scrape(peer.http_port)
        checked = ht.promtool_check(body)
        if checked is not None:
            code, output = checked
            ok(code == 0 and not output.strip(), "%s: promtool check metrics passes" % peer, [output[-800:]])
        else:
            ok(True, "promtool check metrics # SKIP promtool is not on PATH (Debian package prometheus)")
        problems, histograms = histogram_problems(samples)
        ok(histograms >= 9 and not problems,
           "%s: %d histogram series, each cumulative and ending in +Inf = _count" % (peer, histograms), problems)
        bad = sorted({"%s{%s=%s}" % (n, k, v) for n, labels, _ in samples for k, v in labels.items()
                      if k not in LABELS or re.search(r"[0-9a-f]{16}", v)})
        ok(samples and not bad, "%s: labels are only %s, none holds an id" % (peer, sorted(LABELS)), bad[:10])


def put_keys(live, pool, keys):
    jobs = [pool.submit(ct.do_put, live[i % len(live)], key, b"value-%d" % i) for i, key in enumerate(keys)]
    return [j.result() for j in jobs if j.result()]


def check_requests(live, pool):
    ops_before = total(live, "chord_client_requests_total", op="put", status="ok")
    count_before = total(live, "chord_client_request_duration_seconds_count", op="put")
    keys = ["metrics-%d" % i for i in range(PUTS)]
    failures = put_keys(live, pool, keys)
    ok(not failures, "%d puts through chordctl succeed" % PUTS, failures[:5])
    grown = until(lambda: total(live, "chord_client_requests_total", op="put", status="ok") - ops_before >= PUTS,
                  COUNTER_WAIT_S)
    ops_after = total(live, "chord_client_requests_total", op="put", status="ok")
    count_after = total(live, "chord_client_request_duration_seconds_count", op="put")
    ok(grown and ops_after - ops_before == PUTS,
       "chord_client_requests_total{op=\"put\",status=\"ok\"} summed over the ring grew by %d (%d -> %d)" % (
           PUTS, ops_before, ops_after))
    ok(count_after - count_before == PUTS,
       "chord_client_request_duration_seconds_count{op=\"put\"} grew by %d (%d -> %d)" % (
           PUTS, count_before, count_after))
    return keys


def census_is(live, owned, replica, tombstones):
    got = (total(live, "chord_records", kind="owned"), total(live, "chord_records", kind="replica"),
           total(live, "chord_records", kind="tombstone"))
    return got if got == (owned, replica, tombstones) else None


def check_census(live, pool, keys):
    want = (PUTS, PUTS * (REPLICAS - 1), 0)
    got = until(lambda: census_is(live, *want), CENSUS_WAIT_S)
    ok(got, "chord_records by kind over the ring: owned %d, replica %d (owned + replica = %d x %d), no tombstone" % (
        want[0], want[1], PUTS, REPLICAS), ["got owned %s replica %s tombstone %s" % (
            total(live, "chord_records", kind="owned"), total(live, "chord_records", kind="replica"),
            total(live, "chord_records", kind="tombstone"))])
    stored = total(live, "chord_stored_bytes")
    ok(stored >= PUTS * REPLICAS * (len("metrics-0") + len("value-0") + 18),
       "chord_stored_bytes counts keys and records (%d)" % stored)
    failures = [f for f in pool.map(lambda k: ct.ctl(live[0], "del", "--", k)[0] != 0 and "del %s" % k,
                                    keys[:DELETES]) if f]
    ok(not failures, "%d deletes succeed" % DELETES, failures)
    want = (PUTS - DELETES, (PUTS - DELETES) * (REPLICAS - 1), DELETES * REPLICAS)
    got = until(lambda: census_is(live, *want), CENSUS_WAIT_S)
    ok(got, "after %d deletes: owned %d, replica %d, tombstone %d" % ((DELETES,) + want), [
        "got owned %s replica %s tombstone %s" % (
            total(live, "chord_records", kind="owned"), total(live, "chord_records", kind="replica"),
            total(live, "chord_records", kind="tombstone"))])


def check_ring(live):
    ratio = until(lambda: (lambda r: r if abs(r - 1) < 1e-6 else None)(total(live, "chord_ring_owned_ratio")),
                  COUNTER_WAIT_S)
    ok(ratio, "chord_ring_owned_ratio sums to 1 +- 1e-6 over the processes (%r)" % total(
        live, "chord_ring_owned_ratio"))
    each = [total([p], "chord_ring_owned_ratio") for p in live]
    ok(all(0 < r < 1 for r in each), "each process owns a share in (0, 1): %s" % ["%.3f" % r for r in each])
    ok(all(total([p], "chord_successors") >= 1 and total([p], "chord_fingers_distinct") >= 1 for p in live),
       "every process knows successors and fingers")
    ok(total(live, "chord_lookup_hops_count") > 0 and total(live, "chord_lookup_duration_seconds_count") > 0,
       "lookups were counted by hops and timed")
    ok(all(total([p], "chord_store_commit_duration_seconds_count") > 0 for p in live),
       "every process timed its store commits (LMDB)")
    ok(total(live, "chord_messages_received_total", type="client_put") >= PUTS and
       total(live, "chord_messages_received_total", type="get_state") > 0,
       "messages received by type: client_put and get_state among them")


def main():
    pool = concurrent.futures.ThreadPoolExecutor(max_workers=ct.WORKERS)
    try:
        # Each process keeps its own --data-dir (LMDB, whose commits are timed) and no HTTP tokens.
        live = ht.start_ring(PROCESSES, pool, extra=["--replicas", str(REPLICAS)], tokens=False, data_dir=True)
        seconds, problem = ct.wait_converged(live, pool)
        ok(seconds is not None, "the ring of %d processes converges" % PROCESSES, [problem])
        keys = check_requests(live, pool)
        check_format(live)
        check_census(live, pool, keys)
        check_ring(live)
        ct.stop_all(live)
    finally:
        pool.shutdown(wait=True)


if __name__ == "__main__":
    ct.finish(main, "chord-metrics-", secured=True)
