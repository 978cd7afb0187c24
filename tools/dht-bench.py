#!/usr/bin/python3
"""OpenDHT's put and get throughput and latency, measured the way
chord-bench measures chord: NODES DhtRunner nodes in this one process on
loopback (each on its own free UDP port, bootstrapped to the first), rate
limiting off (every node shares the address 127.0.0.1, so OpenDHT's per-IP
limit would throttle the benchmark rather than the DHT), a put phase then a
get phase of the keys put, INFLIGHT operations in flight, spread round-robin
over the nodes.

    tools/dht-bench.py [--nodes 16] [--inflight 64] [--value-size 100]
                       [--seconds 5] [--keys 10000] [--json]

Runs the system's python3 (/usr/bin/python3: python3-opendht is a Debian
package). The callbacks run on OpenDHT's threads and take the GIL, so the
figures include the Python binding's cost: a floor for OpenDHT, not its C++
ceiling. Every wait is bounded; the process ends itself after WATCHDOG_S.

Exit status: 0 figures printed; 1 the network did not form or no operation
succeeded; 2 bad options or no opendht module."""

import argparse
import importlib.metadata
import json
import os
import signal
import socket
import sys
import threading
import time

try:
    import opendht
except ImportError as e:
    print("dht-bench: %s (apt-get install python3-opendht; run with /usr/bin/python3)" % e,
          file=sys.stderr)
    raise SystemExit(2)

CONVERGE_MAX_S = 20     # longest wait for the routing tables to fill
CONVERGE_STEP_S = 0.05
KNOWN_ENOUGH = 8        # Kademlia's bucket size: a node that knows this many (or all) is in
DRAIN_MAX_S = 10        # longest wait for the operations still in flight at a phase's end
WATCHDOG_S = 300        # the whole run, whatever happens


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--nodes", type=int, default=16)
    parser.add_argument("--inflight", type=int, default=64)
    parser.add_argument("--value-size", type=int, default=100)
    parser.add_argument("--seconds", type=float, default=5)
    parser.add_argument("--keys", type=int, default=10000)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    if not (1 <= args.nodes <= 256 and 1 <= args.inflight <= 4096 and
            1 <= args.value_size <= 60000 and 0 < args.seconds <= 600 and args.keys >= 1):
        parser.error("out of range: 1..256 nodes, 1..4096 in flight, 1..60000 bytes, 0..600 s")
    return args


def start_nodes(count):
    """count nodes bound to 127.0.0.1 on ports the kernel picks, the others
    bootstrapped to the first."""
    nodes = []
    for _ in range(count):
        config = opendht.DhtConfig()
        config.setRateLimit(-1, -1)  # -1: no global and no per-IP limit
        node = opendht.DhtRunner()
        node.run(ipv4="127.0.0.1", port=0, config=config)
        nodes.append(node)
    first_port = str(nodes[0].getBound().getPort())
    for node in nodes[1:]:
        node.bootstrap("127.0.0.1", first_port)
    return nodes


def known_nodes(node):
    return node.getRoutingTablesLog(socket.AF_INET).count("Node ")


def wait_until(predicate, deadline):
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(CONVERGE_STEP_S)
    return False


def warm_up(nodes, deadline):
    """Each node puts one value, and so searches the network: Kademlia fills
    its routing tables through lookups. True when every put finished."""
    cond = threading.Condition()
    left = [len(nodes)]

    def done(_ok, _nodes):
        with cond:
            left[0] -= 1
            cond.notify()
    for number, node in enumerate(nodes):
        node.put(opendht.InfoHash.get("warm-up-%d" % number), opendht.Value(b"warm"), done_cb=done)
    with cond:
        return cond.wait_for(lambda: left[0] == 0, max(0.0, deadline - time.monotonic()))


def wait_converged(nodes):
    """Seconds until every node has bootstrapped, warmed up and knows
    min(nodes - 1, KNOWN_ENOUGH) others; None when that took over CONVERGE_MAX_S."""
    start = time.monotonic()
    deadline = start + CONVERGE_MAX_S
    enough = min(len(nodes) - 1, KNOWN_ENOUGH)
    if not (wait_until(lambda: all(known_nodes(n) >= 1 for n in nodes), deadline) and
            warm_up(nodes, deadline) and
            wait_until(lambda: all(known_nodes(n) >= enough for n in nodes), deadline)):
        return None
    return time.monotonic() - start


class Phase:
    """One phase's operations in flight and their outcomes; the callbacks
    come from OpenDHT's threads."""

    def __init__(self, inflight):
        self.cond = threading.Condition()
        self.limit = inflight
        self.pending = 0
        self.latencies_ms = []
        self.errors = 0
        self.ok_keys = []

    def take_slot(self, deadline):
        """True once fewer than limit operations are in flight (the slot is
        then taken), False at deadline."""
        with self.cond:
            while True:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                if self.pending < self.limit:
                    self.pending += 1
                    return True
                self.cond.wait(left)

    def finish(self, started, ok, key_index):
        elapsed_ms = (time.monotonic() - started) * 1000.0
        with self.cond:
            self.pending -= 1
            if ok:
                self.latencies_ms.append(elapsed_ms)
                self.ok_keys.append(key_index)
            else:
                self.errors += 1
            self.cond.notify()

    def drain(self):
        """Waits at most DRAIN_MAX_S for the operations in flight; those still
        out are counted as errors."""
        deadline = time.monotonic() + DRAIN_MAX_S
        with self.cond:
            while self.pending > 0 and time.monotonic() < deadline:
                self.cond.wait(deadline - time.monotonic())
            self.errors += self.pending


def put_one(phase, node, key_index, value):
    started = time.monotonic()
    node.put(opendht.InfoHash.get("bench-%d" % key_index), opendht.Value(value),
             done_cb=lambda ok, _nodes: phase.finish(started, ok, key_index))


def get_one(phase, node, key_index, _value):
    started = time.monotonic()
    found = []

    def on_value(_value):
        found.append(True)
        return False  # one value is the answer: stop searching

    node.get(opendht.InfoHash.get("bench-%d" % key_index), get_cb=on_value,
             done_cb=lambda _ok, _nodes: phase.finish(started, bool(found), key_index))


def run_phase(nodes, args, start_op, key_indices, value):
    """Keeps args.inflight operations going for args.seconds, key after key
    of key_indices (round after round), node after node."""
    phase = Phase(args.inflight)
    start = time.monotonic()
    deadline = start + args.seconds
    issued = 0
    while phase.take_slot(deadline):
        start_op(phase, nodes[issued % len(nodes)], key_indices[issued % len(key_indices)], value)
        issued += 1
    phase.drain()
    seconds = time.monotonic() - start
    return phase, seconds


def percentile(sorted_values, fraction):
    if not sorted_values:
        return 0.0
    return sorted_values[min(len(sorted_values) - 1, int(fraction * len(sorted_values)))]


def summary(phase, seconds):
    lat = sorted(phase.latencies_ms)
    return {"ops": len(lat), "seconds": round(seconds, 3),
            "ops_per_s": round(len(lat) / seconds, 1) if seconds > 0 else 0.0,
            "p50_ms": round(percentile(lat, 0.50), 3), "p99_ms": round(percentile(lat, 0.99), 3),
            "max_ms": round(lat[-1], 3) if lat else 0.0, "errors": phase.errors}


def print_text(result):
    print("opendht %s: %d nodes, converged in %.2f s" %
          (result["version"], result["nodes"], result["converge_s"]))
    for name in ("put", "get"):
        s = result[name]
        print("%s: %d nodes, %d in flight, %d-byte values: %d ops in %.2f s = %.0f ops/s, "
              "p50 %.3f ms, p99 %.3f ms, max %.3f ms, %d errors" %
              (name, result["nodes"], result["inflight"], result["value_size"], s["ops"],
               s["seconds"], s["ops_per_s"], s["p50_ms"], s["p99_ms"], s["max_ms"], s["errors"]))


def main():
    args = parse_args()
    signal.signal(signal.SIGALRM, lambda *_: os._exit(1))
    signal.alarm(WATCHDOG_S)
    nodes = start_nodes(args.nodes)
    try:
        converge_s = wait_converged(nodes)
        if converge_s is None:
            print("dht-bench: the nodes did not find each other within %d s" % CONVERGE_MAX_S,
                  file=sys.stderr)
            return 1
        value = os.urandom(args.value_size)
        put_phase, put_s = run_phase(nodes, args, put_one, list(range(args.keys)), value)
        stored = sorted(set(put_phase.ok_keys)) or [0]
        get_phase, get_s = run_phase(nodes, args, get_one, stored, value)
    finally:
        for node in nodes:
            node.join()
    result = {"system": "opendht", "version": importlib.metadata.version("opendht"), "nodes": args.nodes,
              "inflight": args.inflight, "value_size": args.value_size, "seconds": args.seconds,
              "converge_s": round(converge_s, 3),
              "put": summary(put_phase, put_s), "get": summary(get_phase, get_s)}
    if args.json:
        print(json.dumps(result))
    else:
        print_text(result)
    return 0 if result["put"]["ops"] > 0 and result["get"]["ops"] > 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
