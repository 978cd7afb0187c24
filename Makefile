# chord: chordd, chordctl, chord-bench and the TAP tests.
#
#   make            build bin/chordd, bin/chordctl, bin/chord-bench
#   make deps       install the Debian packages the build and tests need
#   make test       build, then run every TAP test with prove
#   make test-unit  only the C unit tests
#   make sanitize   the whole test suite under ASan and UBSan (build-san/)
#   make valgrind   the unit tests under valgrind
#   make fuzz       build the libFuzzer targets of every entry point the network reaches
#                   (tests/fuzz/: decode, node, record, route, http_path, resp) with clang, ASan and UBSan
#                   into build/fuzz/, seed their corpora, run each FUZZ_SECONDS (60);
#                   fails on any crash, leak or timeout and prints how to replay it
#   make bench      put/get throughput and latency on local rings, in memory and on
#                   disk, straight to owners beside through an entry peer, and the
#                   time to regain R copies after churn
#   make sim-bench  the simulator's tables beside the Chord paper's figures
#   make bench-compare  chord beside OpenDHT (16 nodes) and beside redis-server (chordd --resp),
#                   alternating, one table of medians and ratios (ROUNDS, N, SECONDS, SYSTEMS)
#   make check-pure fail if protocol/ reaches for sockets, clocks or randomness
#   make demo       start a 3-peer ring on ports 7000-7002 and use it; make demo-stop
#   make image      the container image chord:latest, FROM scratch (needs a Docker engine)

PKGS     := libsodium libzmq msgpack jansson lmdb libmicrohttpd hiredis
BENCH_COMPARE_DEBS := redis-server redis-tools python3-opendht
DEB_PKGS := build-essential pkg-config libsodium-dev libzmq3-dev libmsgpack-dev \
            libjansson-dev liblmdb-dev libmicrohttpd-dev perl python3 valgrind util-linux clang \
            libclang-rt-14-dev prometheus chromium python3-websocket \
            libhiredis-dev python3-redis libjemalloc-dev $(BENCH_COMPARE_DEBS)

BUILD    ?= build
BIN      ?= bin
CC       ?= cc
OPT      ?= -O2 -g
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)
CFLAGS   += -std=c11 -D_DEFAULT_SOURCE $(OPT) -Wall -Wextra -Werror -Wshadow \
            -Wstrict-prototypes -MMD -MP -Iprotocol -Itools -Itools/sim $(PKG_CFLAGS)
LDLIBS   += $(PKG_LIBS)
# chordd allocates with jemalloc: its size classes keep the store's
# long-lived records apart from the short-lived buffers of each request,
# where glibc's heap left about 50 bytes a key of holes (tools/mem-bench).
# The sanitizers bring their own allocator: `make sanitize` sets it empty.
CHORDD_MALLOC ?= $(shell pkg-config --libs jemalloc 2>/dev/null)

PROTO_OBJ  := $(patsubst %.c,$(BUILD)/%.o,$(wildcard protocol/*.c))
DAEMON_OBJ := $(patsubst %.c,$(BUILD)/%.o,$(wildcard daemon/*.c))
CLIENT_OBJ := $(BUILD)/tools/client.o $(BUILD)/tools/util.o $(BUILD)/tools/ring_walk.o $(BUILD)/tools/ring_view.o \
              $(BUILD)/tools/ring_map.o $(BUILD)/tools/ring_client.o $(BUILD)/daemon/keys.o $(BUILD)/daemon/error.o
SIM_OBJ    := $(patsubst %.c,$(BUILD)/%.o,$(wildcard tools/sim/*.c))
SIMLIB     := $(if $(SIM_OBJ),$(BUILD)/libchordsim.a)
UNIT_TESTS := $(patsubst tests/%.c,$(BUILD)/t/%.t,$(wildcard tests/test_*.c))
SCRIPT_TESTS := $(sort $(wildcard tests/*.t))
LIB        := $(BUILD)/libchord.a
FUZZ_TARGETS := decode node record route http_path resp
FUZZ_REPLAYS := $(patsubst %,$(BUILD)/replay/fuzz_%,$(FUZZ_TARGETS))
FUZZ_DIR   := $(BUILD)/fuzz
FUZZ_SEEDS := $(FUZZ_DIR)/seeds
PROGRAMS   := $(BIN)/chordd $(BIN)/chordctl \
              $(patsubst tools/%.c,$(BIN)/%,$(wildcard tools/chord-bench.c tools/chord-sim.c))

.PHONY: all deps test test-unit sanitize valgrind fuzz bench bench-compare sim-bench check-pure clean demo demo-stop image compose-test
.SECONDARY:
all: $(PROGRAMS) $(UNIT_TESTS) $(FUZZ_REPLAYS) $(FUZZ_SEEDS)

deps:
	@if pkg-config --exists $(PKGS) jemalloc && command -v prove >/dev/null && \
	    command -v python3 >/dev/null && command -v valgrind >/dev/null && \
	    command -v prlimit >/dev/null && command -v promtool >/dev/null && \
	    command -v clang >/dev/null && command -v chromium >/dev/null && \
	    command -v redis-server >/dev/null && command -v redis-benchmark >/dev/null && \
	    /usr/bin/python3 -c 'import opendht' 2>/dev/null && \
	    ls "$$(clang --print-runtime-dir)"/libclang_rt.fuzzer-*.a >/dev/null 2>&1; then \
	    echo "deps: all present"; \
	else \
	    SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	    $$SUDO apt-get update -q && \
	    DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -q $(DEB_PKGS); \
	fi

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c -o $@ $<

# chordctl and chord-bench read key files with daemon/keys.c; chordd uses
# the client (tools/client.h), which includes daemon/keys.h.
$(BUILD)/tools/%.o: CFLAGS += -Idaemon
$(BUILD)/daemon/%.o: CFLAGS += -Idaemon

$(LIB): $(PROTO_OBJ)
	@mkdir -p $(dir $@)
	rm -f $@ && $(AR) rcs $@ $^

$(SIMLIB): $(SIM_OBJ)
	@mkdir -p $(dir $@)
	rm -f $@ && $(AR) rcs $@ $^

$(BIN)/chord-sim: $(BUILD)/tools/chord-sim.o $(BUILD)/tools/util.o $(SIMLIB) $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $^ $(LDFLAGS) $(LDLIBS)

$(BIN)/chord-bench: $(BUILD)/tools/chord-bench.o $(BUILD)/tools/bench_ring.o $(CLIENT_OBJ) $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $^ $(LDFLAGS) $(LDLIBS)

$(BIN)/chordctl: $(BUILD)/tools/chordctl.o $(BUILD)/tools/chordctl_ring.o $(BUILD)/tools/chordctl_status.o $(BUILD)/tools/replicas.o $(CLIENT_OBJ) $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $^ $(LDFLAGS) $(LDLIBS)

# chordd walks the ring as a client before it joins (daemon/survey.c) and
# for GET /v1/ring (daemon/http_ring.c, on tools/ring_walk.c).
$(BIN)/chordd: $(DAEMON_OBJ) $(BUILD)/tools/client.o $(BUILD)/tools/util.o $(BUILD)/tools/ring_walk.o \
               $(BUILD)/tools/ring_view.o $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $^ $(LDFLAGS) $(LDLIBS) $(CHORDD_MALLOC)

# The dashboard's files (daemon/dashboard/) are compiled into chordd (one
# more object on its link line, through $^), so changing one rebuilds it.
DASHBOARD_FILES := $(sort $(wildcard daemon/dashboard/*))
$(BUILD)/daemon/dashboard_assets.c: tools/embed.py $(DASHBOARD_FILES)
	@mkdir -p $(dir $@)
	python3 tools/embed.py $@ $(DASHBOARD_FILES)
$(BUILD)/daemon/dashboard_assets.o: $(BUILD)/daemon/dashboard_assets.c
	$(CC) $(CFLAGS) -Idaemon -c -o $@ $<
$(BIN)/chordd: $(BUILD)/daemon/dashboard_assets.o

$(BIN)/%: $(BUILD)/tools/%.o $(CLIENT_OBJ) $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $^ $(LDFLAGS) $(LDLIBS)

# The LMDB store's test exercises daemon code: daemon/ on its include path,
# and the store object before the libraries on its link line.
$(BUILD)/tests/test_store_lmdb.o: CFLAGS += -Idaemon
$(BUILD)/t/test_store_lmdb.t: $(BUILD)/tests/test_store_lmdb.o $(BUILD)/daemon/store_lmdb.o $(BUILD)/daemon/store_lmdb_open.o \
                              $(BUILD)/daemon/error.o $(SIMLIB) $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $^ $(LDFLAGS) $(LDLIBS)

# The connection guard's test runs daemon/conn_guard on a real ROUTER.
$(BUILD)/tests/test_conn_guard.o: CFLAGS += -Idaemon
$(BUILD)/t/test_conn_guard.t: $(BUILD)/tests/test_conn_guard.o $(BUILD)/daemon/conn_guard.o $(BUILD)/daemon/log.o $(SIMLIB) $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $^ $(LDFLAGS) $(LDLIBS)

# The HTTP key path decoder's test, likewise.
$(BUILD)/tests/test_http_path.o: CFLAGS += -Idaemon
$(BUILD)/t/test_http_path.t: $(BUILD)/tests/test_http_path.o $(BUILD)/daemon/http_path.o $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $^ $(LDFLAGS) $(LDLIBS)

# The keys and ZAP handler test, likewise.
$(BUILD)/tests/test_auth.o: CFLAGS += -Idaemon
$(BUILD)/t/test_auth.t: $(BUILD)/tests/test_auth.o $(BUILD)/daemon/auth.o $(BUILD)/daemon/keys.o $(BUILD)/daemon/error.o \
                        $(BUILD)/daemon/log.o $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $^ $(LDFLAGS) $(LDLIBS)

# The HTTP roles test: tokens files, headers, the decision (daemon/http_auth, daemon/keys).
$(BUILD)/tests/test_http_auth.o: CFLAGS += -Idaemon
$(BUILD)/t/test_http_auth.t: $(BUILD)/tests/test_http_auth.o $(BUILD)/daemon/http_auth.o $(BUILD)/daemon/keys.o \
                             $(BUILD)/daemon/error.o $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $^ $(LDFLAGS) $(LDLIBS)

# Readiness's rules, from hand-made snapshots.
$(BUILD)/tests/test_readiness.o: CFLAGS += -Idaemon
$(BUILD)/t/test_readiness.t: $(BUILD)/tests/test_readiness.o $(BUILD)/daemon/readiness.o $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $^ $(LDFLAGS) $(LDLIBS)

# The client's ring map (tools/ring_map.c) against the owners vectors.
$(BUILD)/t/test_ring_map.t: $(BUILD)/tests/test_ring_map.o $(BUILD)/tools/ring_map.o $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $^ $(LDFLAGS) $(LDLIBS)

# The ring client's test runs tools/ring_client against a fake peer on loopback.
$(BUILD)/tests/test_ring_client.o: CFLAGS += -Idaemon
$(BUILD)/t/test_ring_client.t: $(BUILD)/tests/test_ring_client.o $(BUILD)/tools/ring_client.o $(BUILD)/tools/ring_map.o \
                               $(BUILD)/tools/ring_walk.o $(BUILD)/tools/client.o $(BUILD)/tools/util.o \
                               $(BUILD)/daemon/keys.o $(BUILD)/daemon/error.o $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $^ $(LDFLAGS) $(LDLIBS) -lpthread

# The ring walk's test runs tools/ring_walk, and $(BIN)/chordctl, against a fake peer on loopback.
$(BUILD)/tests/test_ring_walk.o: CFLAGS += -Idaemon
$(BUILD)/t/test_ring_walk.t: $(BUILD)/tests/test_ring_walk.o $(BUILD)/tools/ring_walk.o $(BUILD)/tools/client.o \
                             $(BUILD)/tools/util.o $(BUILD)/daemon/keys.o $(BUILD)/daemon/error.o $(LIB) | $(BIN)/chordctl
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $^ $(LDFLAGS) $(LDLIBS) -lpthread

$(BUILD)/t/%.t: $(BUILD)/tests/%.o $(SIMLIB) $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $^ $(LDFLAGS) $(LDLIBS)

test: all check-pure
	CHORD_BIN=$(abspath $(BIN)) prove -f $(UNIT_TESTS) $(SCRIPT_TESTS)

test-unit: $(UNIT_TESTS)
	prove -f $(UNIT_TESTS)

# Sanitized programs run several times slower (every chordctl run pays for
# ASan's start and LeakSanitizer's exit), so the live tests get longer
# watchdogs, rings longer to converge and the churn workload a lower floor
# of operations.
sanitize:
	CHORD_TEST_WATCHDOG_S=900 CHORD_TEST_CONVERGE_S=60 CHORD_CHURN_MIN_OPS=60 $(MAKE) BUILD=build-san/obj BIN=build-san/bin \
	    OPT="-O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=all" \
	    LDFLAGS="-fsanitize=address,undefined" CHORDD_MALLOC= test

valgrind: $(UNIT_TESTS)
	@for t in $(UNIT_TESTS); do \
	    valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite \
	        $$t >/dev/null || { echo "valgrind: $$t failed"; exit 1; }; \
	    echo "valgrind: $$t clean"; \
	done

# Fuzzing. The targets and what they share are built twice: with clang and
# libFuzzer (ASan, UBSan, coverage) into build/fuzz/ for `make fuzz`, and
# with $(CC) as plain replay programs (tests/fuzz/replay.c's main) into
# build/replay/, part of `all` so they build with -Werror, to run a crash
# file under valgrind. The seed generator is a plain program too.
FUZZ_SECONDS ?= 60
FUZZ_CC      ?= clang
FUZZ_SANITIZE := -g -O1 -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=all
FUZZ_CFLAGS  := -std=c11 -D_DEFAULT_SOURCE $(FUZZ_SANITIZE) -fsanitize=fuzzer-no-link \
                -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -MMD -MP \
                -Iprotocol -Idaemon -Itests/fuzz $(PKG_CFLAGS)
FUZZ_SHARED  := $(patsubst %.c,$(FUZZ_DIR)/obj/%.o,$(wildcard protocol/*.c) daemon/route.c daemon/http_path.c \
                daemon/resp_proto.c daemon/resp_cmd.c daemon/resp_queue.c tests/fuzz/fuzz_input.c)
FUZZ_BINS    := $(patsubst %,$(FUZZ_DIR)/fuzz_%,$(FUZZ_TARGETS))

$(FUZZ_DIR)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -c -o $@ $<

$(FUZZ_DIR)/fuzz_%: $(FUZZ_DIR)/obj/tests/fuzz/fuzz_%.o $(FUZZ_SHARED)
	$(FUZZ_CC) $(FUZZ_SANITIZE) -fsanitize=fuzzer -o $@ $^ $(PKG_LIBS)

$(BUILD)/tests/fuzz/%.o: CFLAGS += -Itests/fuzz -Idaemon
FUZZ_REPLAY_OBJ := $(BUILD)/tests/fuzz/replay.o $(BUILD)/tests/fuzz/fuzz_input.o $(BUILD)/daemon/route.o \
                   $(BUILD)/daemon/http_path.o $(BUILD)/daemon/resp_proto.o $(BUILD)/daemon/resp_cmd.o \
                   $(BUILD)/daemon/resp_queue.o

$(BUILD)/replay/fuzz_%: $(BUILD)/tests/fuzz/fuzz_%.o $(FUZZ_REPLAY_OBJ) $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $^ $(LDFLAGS) $(LDLIBS)

$(FUZZ_SEEDS): $(BUILD)/tests/fuzz/seeds.o $(BUILD)/tests/fuzz/fuzz_input.o $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $^ $(LDFLAGS) $(LDLIBS)

# Runs one target at a time (the fuzzers would share the cores otherwise).
fuzz: $(FUZZ_BINS) $(FUZZ_SEEDS) $(FUZZ_REPLAYS)
	tests/fuzz/run.sh $(FUZZ_DIR) $(BUILD)/replay $(FUZZ_SECONDS) $(FUZZ_TARGETS)

BENCH_DATA := $(BUILD)/bench-data

# Throughput in memory (open, then secured with CURVE) and on disk (fsync and not), a 16-peer ring with
# R = 3, then the time to regain R copies after a crash, a leave and a join.
bench: all
	$(BIN)/chord-bench --peers 1 --inflight 50 --seconds 5
	rm -f $(BUILD)/bench.secret && $(BIN)/chordctl keygen --secret $(BUILD)/bench.secret >/dev/null
	$(BIN)/chord-bench --peers 1 --inflight 50 --seconds 5 --secret $(BUILD)/bench.secret
	rm -rf $(BENCH_DATA) && mkdir -p $(BENCH_DATA)
	CHORD_BENCH_DATA=$(BENCH_DATA) $(BIN)/chord-bench --peers 1 --inflight 50 --seconds 5 --chordd tools/chordd-on-disk
	CHORD_BENCH_DATA=$(BENCH_DATA) CHORD_BENCH_CHORDD_ARGS=--no-fsync \
	    $(BIN)/chord-bench --peers 1 --inflight 50 --seconds 5 --chordd tools/chordd-on-disk
	rm -rf $(BENCH_DATA)
	$(BIN)/chord-bench --peers 16 --inflight 64 --seconds 5
	CHORD_BIN=$(BIN) tools/route-bench --peers 16 --inflight 64 --seconds 3 --rounds 3
	CHORD_BIN=$(BIN) tools/repair-bench --peers 8 --keys 2000 --rounds 2

# OpenDHT, chord and Redis side by side (tools/bench-compare; its header says what runs).
# Installs its three Debian packages first when one is missing. Not part of make test.
bench-compare: $(PROGRAMS)
	@missing=$$(for p in $(BENCH_COMPARE_DEBS); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	    SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	    echo "bench-compare: installing" $$missing; \
	    DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -q $$missing; \
	fi
	CHORD_BIN=$(BIN) tools/bench-compare

SIM_SCENARIOS := pathlen loadbalance movement failures churn traffic convergence speed durability table2 table3 balance
sim-bench: $(BIN)/chord-sim
	@for s in $(SIM_SCENARIOS); do echo "== $(BIN)/chord-sim --scenario $$s"; $(BIN)/chord-sim --scenario $$s || echo "(chord-sim exited $$? for $$s: see the violation above)"; done

# protocol/ is a pure state machine: no sockets, clocks, sleeps or randomness.
check-pure:
	@if grep -nE '#include *<(zmq|czmq|sys/socket|netinet/|time|sys/time|unistd|pthread|poll)\.h>|\b(time|clock_gettime|gettimeofday|rand|random|srand|sleep|usleep|nanosleep|randombytes_[a-z_]+|getrandom)[ ]*\(' protocol/*.c protocol/*.h; then \
	    echo "check-pure: protocol/ must not do I/O, read clocks or draw randomness"; exit 1; \
	else echo "check-pure: protocol/ is pure"; fi

demo: all
	tools/demo.sh

demo-stop:
	tools/demo.sh stop

image: $(BIN)/chordd $(BIN)/chordctl
	tools/image.sh

# tests/compose.t skips (TAP) when no Docker engine answers; the image is built only when one does.
compose-test: $(BIN)/chordd $(BIN)/chordctl
	@if timeout 30 docker info >/dev/null 2>&1; then tools/image.sh; fi
	CHORD_COMPOSE_TEST=1 CHORD_BIN=$(abspath $(BIN)) prove -v tests/compose.t

clean:
	rm -rf $(BUILD) $(BIN) build-san .demo

-include $(shell find $(BUILD) -name "*.d" 2>/dev/null)
