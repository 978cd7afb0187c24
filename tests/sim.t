#!/usr/bin/env python3
"""chord-sim in CI: the protocol core at a few hundred peers under churn,
message loss, duplication and a partition that heals, deterministically.

Each run is `chord-sim ... --json`: it builds a ring of 200 peers by joins,
stores keys, runs a minute of virtual time with faults while checking
Zave's ring invariants at every stabilize interval, then a quiet period,
after which the ring must be exact and every lookup must name
successor(key). Exit 0 means all of that held.

  - a fixed seed with churn (crashes and graceful leaves), 0.2% loss,
    1% duplication and a 2 s partition: exit 0, no lookup failures;
  - the same seed again: the same trace hash (the run is deterministic);
  - two fresh seeds (printed, so a failure replays) with churn,
    duplication and the partition;
  - durability (--scenario durability, small): 100 peers, R = 3 copies,
    200 churn events (crashes, leaves, joins, restarts on the old store)
    with puts throughout; no acknowledged write may be lost, every key
    must have its 3 copies at the end, and the same seed gives the same
    trace. This needs replication in protocol/: without it crashed peers
    take their keys with them and the check fails;
  - the Chord paper's Tables II and III (--scenario table2, table3), at
    small sizes: both print the paper's figures beside ours, the JSON
    has the expected rows and fields, and the numbers are plausible;
  - balance (--scenario balance --quick): 100 random rings of 3, 6, 12
    and 48 processes; with 4 positions placed at join at least 90% of the
    rings of every size are balanced (every process within 0.75-1.33x the
    mean share), where one position per process balances almost none;
  - known protocol bugs, as TODO tests (reported, not failing the suite):
    each names the seed and command that shows it; fixed bugs, on the
    same seeds, as ordinary tests.

Runs $CHORD_BIN/chord-sim (default ./bin). Standard library only. The
whole file takes about 10-15 s; each run has a timeout. CHORD_SIM_SEEDS
overrides the fresh seeds (comma-separated) to replay a failure."""

import json
import os
import random
import subprocess
import sys
import time

BIN = os.environ.get("CHORD_BIN", "./bin")
SIM = os.path.join(BIN, "chord-sim")
RUN_TIMEOUT_S = 60          # no single run may take longer

# The CI ring: 200 peers joined in waves, r = 6, churn of one event per
# stabilize period (30% graceful leaves), a partition for the middle 2 s of
# the minute-long run phase, 300 keys, 1000 lookups after 30 s of quiet.
BASE = ["--nodes", "200", "--build", "join", "--successors", "6",
        "--churn-rate", "1", "--leave-fraction", "0.3", "--dup", "0.01",
        "--partition", "--partition-s", "2", "--duration-s", "60",
        "--keys", "300", "--lookups", "1000", "--quiet-s", "30"]
FIXED_SEED = 1
FIXED = BASE + ["--loss", "0.002"]

# Durability, the fast variant of `--scenario durability` (500 peers, 1,000
# events): 100 peers, R = 3, 200 churn events over 200 s, 20 puts/s.
DURABILITY = ["--scenario", "durability", "--nodes", "100", "--replicas", "3",
              "--churn-events", "200"]
DURABILITY_SEED = 1

# Known protocol bugs. Each runs on three seeds with settings that show it
# on nearly every seed (a single seed would stop showing it whenever a
# change to the protocol moves the trajectory); the TODO test passes only
# when all three runs pass.
TODO = [
    ("5% message loss with churn: one unanswered GET_STATE counts as a dead "
     "successor (right for ZeroMQ over TCP, which loses nothing but with a "
     "broken connection), so a lossy network evicts live successors and a "
     "member can be left with no live successor for a while",
     ["--nodes", "200", "--build", "join", "--churn-rate", "1",
      "--leave-fraction", "0.3", "--loss", "0.05", "--dup", "0.01",
      "--duration-s", "60", "--keys", "300", "--lookups", "1000"],
     lambda out: out["ok"] and out["lookup_failures"] == 0),
]
TODO_SEEDS = [1, 2, 3]

# Once bugs, now fixed: they must stay fixed, on the same three seeds.
FIXED_BUGS = [
    ("graceful leaves under heavy churn lose no key (a leaver's late NOTIFY "
     "used to take the keys back; a leaver unaware of a newer successor "
     "used to strand them)",
     ["--nodes", "200", "--churn-rate", "3", "--leave-fraction", "1",
      "--duration-s", "150", "--lookups", "0", "--keys", "2000"],
     lambda out: out["ok"] and out["keys_missing"] == 0),
    ("a 10 s partition heals into one exact ring (peers given up on are "
     "probed until the two rings meet again)",
     ["--nodes", "200", "--partition", "--partition-s", "10",
      "--duration-s", "60", "--lookups", "200"],
     lambda out: out["ok"] and out["lookup_failures"] == 0),
]

# The Chord paper's tables, small and quick: table2 (simultaneous failures,
# no stabilization) on 200 peers, table3 (churn) on 100 peers for 60 s a row.
TABLE2 = ["--scenario", "table2", "--nodes", "200", "--lookups", "300"]
TABLE3 = ["--scenario", "table3", "--nodes", "100", "--duration-s", "60"]

count = 0
failed = 0


def ok(cond, name, todo=None):
    global count, failed
    count += 1
    if not cond and not todo:
        failed += 1
    line = "%sok %d - %s" % ("" if cond else "not ", count, name)
    if todo:
        line += " # TODO " + todo
    print(line, flush=True)
    return cond


def diag(text):
    for line in str(text).splitlines():
        print("# " + line, flush=True)


def run(args):
    """Runs chord-sim --json; returns (exit code, parsed JSON or None, stderr)."""
    command = [SIM] + args + ["--json"]
    start = time.monotonic()
    try:
        proc = subprocess.run(command, capture_output=True, text=True, timeout=RUN_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        diag("timed out after %d s: %s" % (RUN_TIMEOUT_S, " ".join(command)))
        return None, None, ""
    out = None
    try:
        out = json.loads(proc.stdout)
    except ValueError:
        diag("no JSON from: " + " ".join(command))
        diag(proc.stdout[-2000:])
    diag("%.1f s: %s" % (time.monotonic() - start, " ".join(command[1:])))
    return proc.returncode, out, proc.stderr


def explain(code, out, err):
    if out and out.get("violation"):
        diag("violation: %(what)s (at %(at_ms)s ms, %(phase)s phase)" % out["violation"])
        diag("replay: " + out["violation"]["replay"])
    if err:
        diag(err[-3000:])
    if code not in (0, None) and not out:
        diag("exit %s" % code)


def check_run(args, name):
    code, out, err = run(args)
    good = ok(code == 0 and out is not None and out.get("ok"),
              "%s: exit 0, the invariants held" % name)
    if not good:
        explain(code, out, err)
    ok(out is not None and out.get("lookups") == 1000 and out.get("lookup_failures") == 0,
       "%s: 1000 lookups after the quiet period all name successor(key)%s"
       % (name, "" if out is None else " (%s failures)" % out.get("lookup_failures")))
    ok(out is not None and out.get("checks", 0) > 80 and out.get("joins", 0) > 0
       and out.get("crashes", 0) > 0 and out.get("dropped_partition", 0) > 0,
       "%s: the run had churn, a partition and %s invariant checks"
       % (name, None if out is None else out.get("checks")))
    if out:
        diag("%s: %d joins, %d crashes, %d leaves, %d lost, %d duplicated, trace %s; "
             "keys %d stored, %d read, %d lost with crashed peers, %d missing"
             % (name, out["joins"], out["crashes"], out["leaves"], out["lost"], out["duplicated"],
                out["trace_hash"], out["keys_stored"], out["keys_read"], out["keys_lost_to_crashes"],
                out["keys_missing"]))
    return out


def check_durability(args):
    name = "durability, %s" % " ".join(args)
    code, out, err = run(args)
    good = ok(code == 0 and out is not None and out.get("writes_lost") == 0
              and out.get("writes_acked", 0) > 1000,
              "%s: no acknowledged write lost%s"
              % (name, "" if out is None else " (%s of %s keys lost)"
                 % (out.get("writes_lost"), out.get("keys_acked"))))
    if not good:
        explain(code, out, err)
    ok(out is not None and out.get("keys_under_replicated") == 0,
       "%s: every key has its %s copies after the quiet period%s"
       % (name, None if out is None else out.get("replicas"),
          "" if out is None else " (%s keys short)" % out.get("keys_under_replicated")))
    ok(out is not None and all(out.get(kind, 0) > 0 for kind in ("crashes", "leaves", "joins", "restarts")),
       "%s: the churn had crashes, leaves, joins and restarts" % name)
    if out:
        repair = "none"
        if out.get("crashes_repaired"):
            repair = "mean %.1f s, p50 %.1f s, max %.1f s" % (
                out["repair_mean_s"], out["repair_p50_s"], out["repair_max_s"])
        diag("%s: %d crashes, %d leaves, %d joins, %d restarts; %d puts acknowledged, %d maybe; "
             "%d keys lost (%d not found, %d another value, %d unanswered); %d of %d crashes saw their "
             "keys regain R copies (%s); trace %s, %.1f s wall"
             % (name, out["crashes"], out["leaves"], out["joins"], out["restarts"], out["writes_acked"],
                out["writes_maybe"], out["writes_lost"], out["lost_not_found"], out["lost_other_value"],
                out["lost_unanswered"], out["crashes_repaired"], out["crashes_measured"], repair,
                out["trace_hash"], out["wall_s"]))
    code, again, err = run(args)
    ok(out is not None and again is not None and out["trace_hash"] == again["trace_hash"]
       and out["events"] == again["events"] and out["writes_lost"] == again["writes_lost"],
       "%s again: the same trace hash (%s)" % (name, None if again is None else again["trace_hash"]))


def run_text(args):
    """Runs chord-sim without --json; returns (exit code, stdout)."""
    try:
        proc = subprocess.run([SIM] + args, capture_output=True, text=True, timeout=RUN_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        diag("timed out: " + " ".join(args))
        return None, ""
    return proc.returncode, proc.stdout


def check_paper_tables():
    code, text = run_text(TABLE2)
    ok(code == 0 and "paper" in text and "4.03" in text and "5.10" in text
       and len([l for l in text.splitlines() if l.startswith((" 0.10", " 0.50"))]) == 2,
       "table2 (text): the paper's hops and timeouts beside ours, rows p = 0.1 to 0.5")
    code, out, err = run(TABLE2)
    rows = (out or {}).get("rows") or []
    fields = ("fail_fraction", "paper_hops_mean", "hops_mean", "paper_timeouts_per_lookup",
              "timeouts_per_lookup", "lookups_failed", "lookups")
    ok(code == 0 and out.get("scenario") == "table2" and len(rows) == 5
       and all(all(f in r for f in fields) for r in rows)
       and [r["paper_hops_mean"] for r in rows] == [4.03, 4.22, 4.44, 4.69, 5.09],
       "table2 (JSON): five rows with the paper's and our path length and timeouts")
    ok(rows and all(1.5 <= r["hops_mean"] <= 12 and r["lookups"] == 300 for r in rows)
       and rows[0]["timeouts_per_lookup"] < rows[-1]["timeouts_per_lookup"]
       and rows[0]["timeouts_per_lookup"] > 0,
       "table2: path lengths plausible, timeouts grow with p (%s)"
       % [(r.get("hops_mean"), r.get("timeouts_per_lookup")) for r in rows])
    ok(rows and all(r["lookups_failed"] == 0 for r in rows),
       "table2: every lookup names the key's live successor, at every p (failed: %s)"
       % [r.get("lookups_failed") for r in rows])
    code, text = run_text(TABLE3)
    ok(code == 0 and "paper" in text and "voluntary leaves" in text and "crashes" in text,
       "table3 (text): the paper's failures beside ours, leaves and crashes")
    code, out, err = run(TABLE3)
    rows = (out or {}).get("rows") or []
    ok(code == 0 and out.get("scenario") == "table3" and len(rows) == 8
       and [r.get("paper_failed_per_10000") for r in rows] == [0, 0, 2, 5, 6, 8, 16, 15]
       and all(r[kind]["lookups"] >= 30 and 1 <= r[kind]["hops_mean"] <= 8
               and r[kind]["joins"] > 0 and r[kind]["departures"] > 0
               and 0 <= r[kind]["failed_per_10000"] <= 10000
               for r in rows for kind in ("leaves", "crashes")),
       "table3 (JSON): eight rates, each with lookups, plausible hops, joins and departures")


def check_balance():
    code, out, err = run(["--scenario", "balance", "--quick", "--nodes", "16"])
    rows = (out or {}).get("rows") or []
    placed = [r for r in rows if r.get("placement") == "placed at join"]
    single = [r for r in rows if r.get("placement") == "one position"]
    ok(code == 0 and out.get("scenario") == "balance" and len(placed) == 4 and len(single) == 4
       and [r["processes"] for r in placed] == [3, 6, 12, 48] and all(r["rings"] == 100 for r in placed),
       "balance (JSON): rows for one position and for positions placed at join, 3 to 48 processes")
    ok(placed and all(r["balanced_percent"] >= 90 and r["positions_per_process"] == 4 for r in placed),
       "balance: 4 positions placed at join balance at least 90%% of rings of every size (%s)"
       % [r.get("balanced_percent") for r in placed])
    ok(single and all(r["balanced_percent"] < 50 for r in single),
       "balance: one position per process balances few rings (%s)" % [r.get("balanced_percent") for r in single])
    traffic = [r for r in rows if "placed_over_one" in r]
    ok(len(traffic) == 1 and traffic[0]["one_position_bytes_per_process_s"] > 0
       and traffic[0]["placed_bytes_per_process_s"] > traffic[0]["one_position_bytes_per_process_s"],
       "balance: the maintenance traffic per process is measured for one and for 4 positions (%.2fx)"
       % (traffic[0]["placed_over_one"] if traffic else 0))


def main():
    if not os.access(SIM, os.X_OK):
        print("1..0 # SKIP %s not built" % SIM)
        return 0
    started = time.monotonic()

    # A fixed seed, and the same seed again.
    name = "seed %d, churn, 0.2%% loss, dup, partition" % FIXED_SEED
    first = check_run(["--seed", str(FIXED_SEED)] + FIXED, name)
    code, again, err = run(["--seed", str(FIXED_SEED)] + FIXED)
    ok(first is not None and again is not None and first["trace_hash"] == again["trace_hash"]
       and first["events"] == again["events"],
       "seed %d again: the same trace hash (%s)" % (FIXED_SEED, None if again is None else again["trace_hash"]))

    # Fresh seeds.
    if os.environ.get("CHORD_SIM_SEEDS"):
        seeds = [int(s) for s in os.environ["CHORD_SIM_SEEDS"].split(",")]
    else:
        seeds = [random.SystemRandom().randrange(1, 2**63) for _ in range(2)]
    for seed in seeds:
        diag("fresh seed %d (replay: CHORD_SIM_SEEDS=%d)" % (seed, seed))
        check_run(["--seed", str(seed)] + BASE, "fresh seed %d, churn, dup, partition" % seed)

    check_durability(["--seed", str(DURABILITY_SEED)] + DURABILITY)

    check_paper_tables()
    check_balance()

    # Known bugs (TODO) should pass once the protocol is fixed; fixed ones must.
    for why, args, passes, todo in [b + (True,) for b in TODO] + [b + (False,) for b in FIXED_BUGS]:
        shown = []
        for seed in TODO_SEEDS:
            code, out, err = run(["--seed", str(seed)] + args)
            if out is None or not passes(out):
                shown.append(seed)
                if out and out.get("violation"):
                    diag("seed %d: %s" % (seed, out["violation"]["what"]))
                elif out:
                    diag("seed %d: %d keys missing without a crash" % (seed, out["keys_missing"]))
        if todo:
            ok(not shown, "known protocol bug (seeds %s show it): %s" % (shown, why),
               todo="protocol bug: chord-sim --seed N " + " ".join(args))
        else:
            ok(not shown, "seeds %s: %s%s" % (TODO_SEEDS, why, " (broken again by seeds %s)" % shown if shown else ""))

    diag("%.1f s in all" % (time.monotonic() - started))
    print("1..%d" % count)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
