#!/usr/bin/env bash
# Starts a 3-peer chord ring on this machine (ports 7000-7002), stores and
# fetches a few keys through it with chordctl, and prints the ring. The
# first peer also serves HTTP on 127.0.0.1:8080 (health, readiness, info,
# metrics, the dashboard at http://127.0.0.1:8080/) unless that port is
# taken; the ring is open, on loopback, so HTTP asks for no token.
# The peers keep running; `make demo-stop` (or tools/demo.sh stop) ends them.
set -euo pipefail
cd "$(dirname "$0")/.."
state=.demo
ports=(7000 7001 7002)

stop () {
    [ -f "$state/pids" ] || { echo "demo: no ring running"; return 0; }
    while read -r pid; do
        # Only our own chordd: the pid must still run bin/chordd.
        if [ -r "/proc/$pid/cmdline" ] && tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q 'bin/chordd'; then
            kill -TERM "$pid" 2>/dev/null || true
        fi
    done <"$state/pids"
    for _ in $(seq 50); do
        alive=0
        while read -r pid; do kill -0 "$pid" 2>/dev/null && alive=1; done <"$state/pids"
        [ $alive = 0 ] && break
        sleep 0.1
    done
    rm -f "$state/pids"
    echo "demo: ring stopped (logs in $state/)"
}

if [ "${1:-}" = stop ]; then stop; exit 0; fi
[ -f "$state/pids" ] && stop
mkdir -p "$state"
: >"$state/pids"
http_port=8080
http=(--http "127.0.0.1:$http_port")
if (exec 3<>"/dev/tcp/127.0.0.1/$http_port") 2>/dev/null; then
    echo "demo: 127.0.0.1:$http_port is taken: the ring runs without HTTP"
    http=()
fi
for i in "${!ports[@]}"; do
    port=${ports[$i]}
    join=()
    [ "$i" -gt 0 ] && join=(--join "tcp://127.0.0.1:${ports[0]}")
    extra=()
    [ "$i" = 0 ] && extra=("${http[@]}")
    bin/chordd --listen "tcp://127.0.0.1:$port" "${join[@]}" "${extra[@]}" --stabilize-ms 200 \
        >"$state/peer-$port.log" 2>&1 </dev/null &
    echo $! >>"$state/pids"
done
export CHORD_SERVER=tcp://127.0.0.1:7001
echo "demo: started 3 peers on ports ${ports[*]}; waiting for the ring to form"
for _ in $(seq 100); do
    # Each peer holds 4 positions (chordd's default --vnodes).
    if [ "$(bin/chordctl --timeout 500 ring 2>/dev/null | grep -cv ' down$')" = 12 ]; then break; fi
    sleep 0.1
done
echo
echo "\$ chordctl put greeting 'hello, ring'"
bin/chordctl put greeting 'hello, ring'
echo "\$ chordctl -s tcp://127.0.0.1:7002 get greeting"
bin/chordctl -s tcp://127.0.0.1:7002 get greeting; echo
for k in alpha beta gamma delta; do bin/chordctl put "$k" "value of $k"; done
echo "\$ chordctl lookup alpha"
bin/chordctl lookup alpha
echo "\$ chordctl ring"
bin/chordctl ring
if [ ${#http[@]} -gt 0 ] && command -v curl >/dev/null; then
    echo "\$ curl -s 127.0.0.1:$http_port/readyz"
    curl -s --max-time 5 "127.0.0.1:$http_port/readyz" || true
    echo "\$ curl -s -X PUT --data-binary blue 127.0.0.1:$http_port/v1/kv/colour"
    curl -s --max-time 5 -X PUT --data-binary blue "127.0.0.1:$http_port/v1/kv/colour" || true
    echo "\$ curl -s 127.0.0.1:$http_port/v1/kv/colour"
    curl -s --max-time 5 "127.0.0.1:$http_port/v1/kv/colour" || true; echo
    echo "\$ curl -s 127.0.0.1:$http_port/metrics | grep '^chord_client_requests_total{op=\"put\"'"
    curl -s --max-time 5 "127.0.0.1:$http_port/metrics" | grep '^chord_client_requests_total{op="put"' || true
    echo "demo: HTTP on 127.0.0.1:$http_port; the dashboard: http://127.0.0.1:$http_port/"
fi
echo
echo "demo: the ring is still running (logs in $state/). Try: bin/chordctl -s tcp://127.0.0.1:7000 get alpha"
echo "demo: stop it with: make demo-stop"
