/*  chord-sim: the Chord protocol core (protocol/, unchanged) at scale,
    on a deterministic simulated network (tools/sim), checked against the
    ring invariants and measured against the Chord paper.

    A run builds a ring (directly, with correct tables, or by joins), then
    runs a phase with whatever faults were asked for (churn, a simultaneous
    failure, loss, duplication, a partition), then a quiet period with no
    churn and no faults, after which the ring must be exactly right and
    every lookup must name successor(key). The same seed and options give
    the same run, which the trace hash shows. --scenario NAME instead
    prints one of the benchmark tables of issue 3, or runs the durability
    check (tools/sim/simdurable.c): no acknowledged write lost to churn.

    The simulator never reads a clock; only --scenario speed measures wall
    time, here in main's helpers.  */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "id.h"
#include "message.h"
#include "node.h"
#include "simcheck.h"
#include "simdurable.h"
#include "simnet.h"
#include "simrng.h"
#include "store.h"

#define S_NODES_MAX 1000000           /* --nodes cap */
#define S_LOOKUPS_MAX 100000000       /* --lookups cap */
#define S_KEYS_MAX 10000000           /* --keys cap */
#define S_SECONDS_MAX 1000000.0       /* cap on every duration option */
#define S_RETRIES 3                   /* extra tries of a churn-phase lookup that failed */
#define S_RETRY_GAP_MS 1000           /* pause before each */
#define S_WAVE_LIMIT_MS 300000        /* joiners of one build wave must be active by then */
#define S_BUILD_LIMIT_MS 1800000      /* a join-built ring must converge by then */
#define S_SLICE_MS 100                /* run in slices this long while waiting for something */
#define S_SCENARIO_STREAM 0x5ce7a710u /* simrng_fork label of the scenario's own stream */
#define S_TOKEN_SHIFT 56              /* client tokens: kind << S_TOKEN_SHIFT | value */
#define S_EXIT_VIOLATION 1
#define S_EXIT_USAGE 2

/* What a client reply's token means. */
enum {
    S_TOKEN_MEASURE = 1, /* a lookup measured after the quiet period (value: index) */
    S_TOKEN_RUN = 2,     /* a lookup during the run phase (value: record << 2 | attempt) */
    S_TOKEN_PUT = 3,     /* storing key value */
    S_TOKEN_GET = 4,     /* reading key value back */
};

typedef enum {
    S_PHASE_BUILD,
    S_PHASE_KEYS,
    S_PHASE_RUN,
    S_PHASE_QUIET,
    S_PHASE_MEASURE,
} s_phase_t;

static const char *s_phase_names[] = {"build", "keys", "run", "quiet", "measure"};

typedef struct {
    size_t nodes;                  /* --nodes */
    uint64_t seed;                 /* --seed */
    size_t lookups;                /* --lookups, after the quiet period */
    size_t keys;                   /* --keys put before the run, read back at the end */
    bool build_join;               /* --build join */
    double churn_rate;             /* --churn-rate: events per stabilize period */
    double session_median_s;       /* --session-median-s; 0: off */
    double leave_fraction;         /* --leave-fraction: departures that are graceful */
    double fail_fraction;          /* --fail-fraction: crash this share at once */
    double loss;                   /* --loss */
    double dup;                    /* --dup */
    double latency_ms;             /* --latency-ms: mean one-way */
    simnet_latency_t latency_dist; /* --latency-dist */
    bool partition;                /* --partition */
    double partition_s;            /* --partition-s; 0: half the run */
    uint32_t stabilize_ms;         /* --stabilize-ms */
    uint32_t rpc_timeout_ms;       /* --rpc-timeout-ms */
    size_t successors;             /* --successors */
    size_t owner_cache;            /* --owner-cache */
    size_t gateways;               /* --gateways: data ops enter through this many members; 0: any */
    size_t replicas;               /* --replicas: copies per key; 0: the protocol's 1 */
    size_t write_quorum;           /* --write-quorum; 0: a majority */
    uint32_t sync_ms;              /* --sync-ms: anti-entropy interval; 0: the protocol's default */
    size_t churn_events;           /* --churn-events (durability) */
    double write_rate;             /* --write-rate: puts per second (durability) */
    double repair_window_s;        /* --repair-window-s: the durability churn rule's memory; 0: default */
    double quiet_s;                /* --quiet-s */
    double duration_s;             /* --duration-s; < 0: default */
    double lookup_rate;            /* --lookup-rate: per second during the run */
    long check_ms;                 /* --check-ms; < 0: the stabilize interval */
    uint32_t tmo_ms;               /* --tmo-ms: each client request's timeout */
    bool json;                     /* --json */
    const char *scenario;          /* --scenario */
    bool quick;                    /* --quick: smaller scenario tables */
    bool strict;                   /* --strict: OrderedAppendages too, during the run */
    size_t join_seeds;             /* --join-seeds: members a joiner is given to join through */
    bool successors_given;         /* --successors was on the command line */
    bool stabilize_given;          /* --stabilize-ms was on the command line */
    bool quiet_given;              /* --quiet-s was on the command line */
    bool leave_given;              /* --leave-fraction was on the command line */
    bool duration_given;           /* --duration-s was on the command line */
    int log_level;                 /* --log LEVEL; -1: none */
    size_t log_node;               /* --log-node; SIMNET_NONE: all */
    size_t trace_node;             /* --trace-node; SIMNET_NONE: none */
    char replay[1024];             /* the command line, for messages */
} s_options_t;

typedef struct {
    uint64_t issued;
    uint64_t right;              /* named successor(key) of the members at answer time */
    uint64_t wrong;              /* answered OK with another peer */
    uint64_t unanswered;         /* TIMEOUT, or no reply by the tmo */
    uint64_t refused;            /* any other status (NOT_READY) */
    uint64_t failed_owner_alive; /* failures of keys whose owner (before a crash) is alive */
    uint32_t *hops;              /* of right answers */
    size_t hop_count;
    size_t hop_alloc;
} s_lookups_t;

typedef struct {
    uint64_t key; /* key name number */
    bool first_right;
    bool done;
} s_run_lookup_t;

typedef struct {
    /* Outcome. */
    bool violated;
    char what[1024];
    uint64_t violation_ms;
    s_phase_t violation_phase;
    size_t culprit; /* the node the violation names, or SIMNET_NONE */
    /* Build. */
    uint64_t build_ms; /* virtual time until built and exact */
    /* Run phase. */
    double run_s;
    uint64_t joins, crashes, leaves, failed_at_once;
    uint64_t run_lookups, run_first_wrong, run_first_unanswered, run_first_refused, run_failed_retried;
    uint64_t run_bytes, run_messages;
    double run_node_s; /* integral of nodes up over the run */
    uint64_t partition_dropped;
    size_t disordered_checks; /* checks that saw an appendage jump over a ring member */
    /* Quiet period. */
    uint64_t converge_ms; /* into the quiet period until exact; UINT64_MAX: never */
    size_t checks;
    /* Lookups after the quiet period. */
    s_lookups_t after;
    /* Data. */
    size_t keys_stored, keys_read, keys_missing, keys_missing_crash, keys_wrong, keys_unanswered;
    uint64_t data_ops, data_messages; /* puts and gets sent, and the messages they cost, client's included */
    /* End. */
    size_t members;
    simcheck_report_t report;
} s_result_t;

typedef struct {
    const s_options_t *opt;
    simnet_t *net;
    simrng_t rng; /* the scenario's choices */
    s_result_t *result;
    s_phase_t phase;
    size_t outstanding;     /* measured client requests not yet answered */
    s_lookups_t *measure;   /* where S_TOKEN_MEASURE replies go */
    const bool *owner_dead; /* by measured lookup: its key's owner crashed (or NULL) */
    s_run_lookup_t *runs;   /* run-phase lookups */
    size_t run_count;
    size_t run_alloc;
    uint8_t *key_state;        /* per key: bit 0 stored, bit 1 was in a crashed store */
    uint64_t tainted_until_ms; /* ring safety is void until then (a partition), 0: never void */
    double leave_fraction;
} s_sim_t;

#define S_KEY_STORED 1
#define S_KEY_CRASHED 2

/* ------------------------------------------------------------- helpers */

static void s_error (const char *fmt, ...) __attribute__ ((format (printf, 1, 2)));

static void s_error (const char *fmt, ...)
{
    va_list ap;
    fputs ("chord-sim: ", stderr);
    va_start (ap, fmt);
    vfprintf (stderr, fmt, ap);
    va_end (ap);
    fputc ('\n', stderr);
}

static double s_wall_s (void)
{
    struct timespec ts;
    clock_gettime (CLOCK_MONOTONIC, &ts);
    return (double) ts.tv_sec + ts.tv_nsec / 1e9;
}

static int s_cmp_u32 (const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *) a, y = *(const uint32_t *) b;
    return (x > y) - (x < y);
}

static int s_cmp_double (const void *a, const void *b)
{
    double x = *(const double *) a, y = *(const double *) b;
    return (x > y) - (x < y);
}

/* The q-quantile of sorted values (nearest rank). */
static uint32_t s_quantile_u32 (const uint32_t *sorted, size_t count, double q)
{
    if (count == 0)
        return 0;
    size_t rank = (size_t) (q * (double) count + 0.999999);
    if (rank < 1)
        rank = 1;
    if (rank > count)
        rank = count;
    return sorted[rank - 1];
}

static double s_quantile_double (const double *sorted, size_t count, double q)
{
    if (count == 0)
        return 0;
    size_t rank = (size_t) (q * (double) count + 0.999999);
    if (rank < 1)
        rank = 1;
    if (rank > count)
        rank = count;
    return sorted[rank - 1];
}

static void s_key_name (char *out, size_t size, uint64_t n)
{
    snprintf (out, size, "key-%llu", (unsigned long long) n);
}

static void s_value_name (char *out, size_t size, uint64_t n)
{
    snprintf (out, size, "value-%llu", (unsigned long long) n);
}

static int s_hops_push (s_lookups_t *lookups, uint32_t hops)
{
    if (lookups->hop_count == lookups->hop_alloc) {
        size_t alloc = lookups->hop_alloc ? lookups->hop_alloc * 2 : 1024;
        uint32_t *grown = realloc (lookups->hops, alloc * sizeof *grown);
        if (!grown)
            return -1;
        lookups->hops = grown;
        lookups->hop_alloc = alloc;
    }
    lookups->hops[lookups->hop_count++] = hops;
    return 0;
}

typedef struct {
    double mean;
    uint32_t p1, p50, p99, max;
} s_hop_stats_t;

static s_hop_stats_t s_hop_stats (s_lookups_t *lookups)
{
    s_hop_stats_t stats = {0};
    if (!lookups->hop_count)
        return stats;
    qsort (lookups->hops, lookups->hop_count, sizeof lookups->hops[0], s_cmp_u32);
    double sum = 0;
    for (size_t i = 0; i < lookups->hop_count; i++)
        sum += lookups->hops[i];
    stats.mean = sum / (double) lookups->hop_count;
    stats.p1 = s_quantile_u32 (lookups->hops, lookups->hop_count, 0.01);
    stats.p50 = s_quantile_u32 (lookups->hops, lookups->hop_count, 0.50);
    stats.p99 = s_quantile_u32 (lookups->hops, lookups->hop_count, 0.99);
    stats.max = lookups->hops[lookups->hop_count - 1];
    return stats;
}

static uint64_t s_failures (const s_lookups_t *lookups)
{
    return lookups->issued - lookups->right;
}

/* Whether a lookup reply named successor(key) over the members now. */
static bool s_reply_right (simnet_t *net, const simnet_reply_t *reply)
{
    return reply->answered && reply->status == CHORD_STATUS_OK && reply->has_owner &&
           reply->owner_node != SIMNET_NONE && reply->owner_node == simnet_owner (net, &reply->key_id);
}

static void s_lookups_note (s_lookups_t *lookups, simnet_t *net, const simnet_reply_t *reply)
{
    if (!reply->answered || reply->status == CHORD_STATUS_TIMEOUT)
        lookups->unanswered++;
    else if (reply->status != CHORD_STATUS_OK)
        lookups->refused++;
    else if (s_reply_right (net, reply)) {
        lookups->right++;
        s_hops_push (lookups, reply->hops);
    } else
        lookups->wrong++;
}

static uint64_t s_token (unsigned kind, uint64_t value)
{
    return ((uint64_t) kind << S_TOKEN_SHIFT) | value;
}

/* ------------------------------------------------------------- the simulation */

static void s_violation (s_sim_t *sim, const char *fmt, ...) __attribute__ ((format (printf, 2, 3)));

static void s_violation (s_sim_t *sim, const char *fmt, ...)
{
    s_result_t *result = sim->result;
    if (result->violated)
        return;
    result->violated = true;
    result->violation_ms = simnet_now (sim->net);
    result->violation_phase = sim->phase;
    va_list ap;
    va_start (ap, fmt);
    vsnprintf (result->what, sizeof result->what, fmt, ap);
    va_end (ap);
}

static void s_log_line (void *arg, size_t node, uint64_t now_ms, chord_log_level_t level, const char *line)
{
    const s_options_t *opt = arg;
    static const char *names[] = {"error", "warn", "info", "debug"};
    if (opt->log_node != SIMNET_NONE && node != opt->log_node)
        return;
    fprintf (stderr, "%10.3f node %zu %s: %s\n", now_ms / 1000.0, node, names[level & 3], line);
}

/* Prints each message delivered to or from --trace-node. */
static void s_trace_message (void *arg, simnet_t *net, size_t src, size_t dst, const uint8_t *data,
                             size_t size)
{
    const s_options_t *opt = arg;
    if (src != opt->trace_node && dst != opt->trace_node)
        return;
    chord_msg_t *msg = malloc (sizeof *msg);
    if (!msg)
        return;
    char detail[160] = "";
    const char *type = "undecodable";
    if (chord_msg_decode (msg, data, size) == 0) {
        type = chord_msg_type_name (msg->type);
        char hex[CHORD_ID_HEX_LEN + 1];
        int used = snprintf (detail, sizeof detail, " #%llu", (unsigned long long) msg->request_id);
        if (msg->fields & CHORD_F_ITEMS)
            used += snprintf (detail + used, sizeof detail - (size_t) used, " items %zu%s", msg->item_count,
                              msg->final ? " final" : "");
        if ((msg->fields & CHORD_F_PRED) && msg->has_pred) {
            chord_id_to_hex (&msg->pred.id, hex);
            used += snprintf (detail + used, sizeof detail - (size_t) used, " pred %.8s", hex);
        }
        if (msg->fields & CHORD_F_PEER) {
            chord_id_to_hex (&msg->peer.id, hex);
            used += snprintf (detail + used, sizeof detail - (size_t) used, " peer %.8s", hex);
        }
        if (msg->fields & CHORD_F_STATUS)
            snprintf (detail + used, sizeof detail - (size_t) used, " %s", chord_status_name (msg->status));
        chord_msg_clear (msg);
    }
    free (msg);
    char a[CHORD_ID_HEX_LEN + 1], b[CHORD_ID_HEX_LEN + 1];
    chord_id_to_hex (&simnet_node_peer (net, src)->id, a);
    chord_id_to_hex (&simnet_node_peer (net, dst)->id, b);
    fprintf (stderr, "%10.3f msg node %zu (%.8s) -> node %zu (%.8s): %s%s, %zu bytes\n",
             simnet_now (net) / 1000.0, src, a, dst, b, type, detail, size);
}

/* The network configuration the options ask for. */
static void s_net_config (const s_options_t *opt, uint32_t stabilize_ms, size_t successors,
                          simnet_config_t *config)
{
    simnet_config_defaults (config);
    config->seed = opt->seed;
    config->latency = opt->latency_dist;
    config->latency_mean_ms = (uint32_t) (opt->latency_ms + 0.5);
    config->latency_min_ms =
        opt->latency_dist == SIMNET_LATENCY_CONSTANT ? config->latency_mean_ms : config->latency_mean_ms / 5;
    config->successors = successors;
    config->stabilize_interval_ms = stabilize_ms;
    config->rpc_timeout_ms = opt->rpc_timeout_ms;
    config->owner_cache_size = opt->owner_cache;
    config->replicas = opt->replicas;
    config->write_quorum = opt->write_quorum;
    config->sync_interval_ms = opt->sync_ms;
    if (opt->log_level >= 0) {
        config->log = s_log_line;
        config->log_arg = (void *) opt;
        config->log_level = (chord_log_level_t) opt->log_level;
    }
}

/* A network with config, tracing --trace-node's messages. NULL on a bad config or no memory. */
static simnet_t *s_net_from (const s_options_t *opt, const simnet_config_t *config)
{
    simnet_t *net = simnet_new (config);
    if (net && opt->trace_node != SIMNET_NONE)
        simnet_on_deliver (net, s_trace_message, (void *) opt);
    return net;
}

static simnet_t *s_net_new (const s_options_t *opt, uint32_t stabilize_ms, size_t successors)
{
    simnet_config_t config;
    s_net_config (opt, stabilize_ms, successors, &config);
    return s_net_from (opt, &config);
}

/* A member at random, or SIMNET_NONE when there is none. With active, only
   ACTIVE ones (not leaving). */
static size_t s_random_member (s_sim_t *sim, bool active)
{
    const size_t *sorted;
    size_t count = simnet_members (sim->net, &sorted);
    if (count == 0)
        return SIMNET_NONE;
    for (int tries = 0; tries < 64; tries++) {
        size_t node = sorted[simrng_below (&sim->rng, count)];
        if (!active || chord_node_state (simnet_node (sim->net, node)) == CHORD_NODE_ACTIVE)
            return node;
    }
    return SIMNET_NONE;
}

static size_t s_up_count (simnet_t *net)
{
    size_t up = 0;
    for (size_t i = 0; i < simnet_node_count (net); i++)
        up += simnet_node_status (net, i) == SIMNET_NODE_UP;
    return up;
}

static void s_on_reply (void *arg, simnet_t *net, const simnet_reply_t *reply);
static void s_on_session_end (void *arg, simnet_t *net, uint64_t token);

/* Starts a new node joining through random members (--join-seeds of them);
   returns it or SIMNET_NONE. */
static size_t s_join_one (s_sim_t *sim)
{
    size_t seeds[8];
    size_t seed_count = sim->opt->join_seeds < 8 ? sim->opt->join_seeds : 8;
    for (size_t i = 0; i < seed_count; i++)
        if ((seeds[i] = s_random_member (sim, true)) == SIMNET_NONE)
            return SIMNET_NONE;
    size_t node = simnet_add (sim->net);
    if (node == SIMNET_NONE)
        return SIMNET_NONE;
    /* A newcomer sits on its first seed's side of any partition. */
    simnet_set_side (sim->net, node, simnet_side (sim->net, seeds[0]));
    simnet_start (sim->net, node, seeds, seed_count);
    sim->result->joins++;
    if (sim->opt->session_median_s > 0 && sim->phase == S_PHASE_RUN) {
        double mean_ms = sim->opt->session_median_s * 1000 / simrng_ln (2);
        simnet_at (sim->net, simnet_now (sim->net) + (uint64_t) simrng_exponential (&sim->rng, mean_ms),
                   s_on_session_end, sim, node);
    }
    return node;
}

/* Notes which stored keys sit in a store that is about to vanish. */
static int s_mark_crashed_key (void *arg, const chord_id_t *key_id, const uint8_t *key, size_t key_len,
                               const uint8_t *value, size_t value_len)
{
    (void) key_id;
    (void) value;
    (void) value_len;
    s_sim_t *sim = arg;
    char name[32];
    if (key_len >= sizeof name || key_len < 5 || memcmp (key, "key-", 4) != 0)
        return 0;
    memcpy (name, key + 4, key_len - 4);
    name[key_len - 4] = '\0';
    unsigned long long n = strtoull (name, NULL, 10);
    if (n < sim->opt->keys)
        sim->key_state[n] |= S_KEY_CRASHED;
    return 0;
}

static void s_crash (s_sim_t *sim, size_t node)
{
    chord_store_t *store = simnet_node_store (sim->net, node);
    if (store && sim->key_state) {
        chord_id_t zero;
        memset (&zero, 0, sizeof zero);
        chord_store_range (store, &zero, &zero, s_mark_crashed_key, sim);
    }
    if (simnet_crash (sim->net, node) == 0)
        sim->result->crashes++;
}

/* A member departs: leaves gracefully with probability leave_fraction, else crashes. */
static void s_depart (s_sim_t *sim, size_t node)
{
    if (simnet_node_status (sim->net, node) != SIMNET_NODE_UP)
        return;
    chord_node_t *chord = simnet_node (sim->net, node);
    if (chord_node_state (chord) == CHORD_NODE_ACTIVE && simrng_chance (&sim->rng, sim->leave_fraction)) {
        if (simnet_leave (sim->net, node) == 0)
            sim->result->leaves++;
    } else
        s_crash (sim, node);
}

static void s_on_session_end (void *arg, simnet_t *net, uint64_t token)
{
    s_sim_t *sim = arg;
    (void) net;
    if (sim->phase != S_PHASE_RUN)
        return;
    size_t node = (size_t) token;
    if (simnet_node_status (sim->net, node) != SIMNET_NODE_UP)
        return;
    s_depart (sim, node);
    s_join_one (sim); /* a newcomer replaces it, keeping the population steady */
}

static void s_on_churn_event (void *arg, simnet_t *net, uint64_t token)
{
    (void) token;
    s_sim_t *sim = arg;
    if (sim->phase != S_PHASE_RUN)
        return;
    const size_t *sorted;
    size_t members = simnet_members (net, &sorted);
    if (members <= 2 || simrng_chance (&sim->rng, 0.5))
        s_join_one (sim);
    else {
        size_t node = s_random_member (sim, true);
        if (node != SIMNET_NONE)
            s_depart (sim, node);
    }
    double mean_ms = sim->opt->stabilize_ms / sim->opt->churn_rate;
    simnet_at (net, simnet_now (net) + 1 + (uint64_t) simrng_exponential (&sim->rng, mean_ms),
               s_on_churn_event, sim, 0);
}

static void s_run_lookup_send (s_sim_t *sim, size_t record, unsigned attempt)
{
    size_t node = s_random_member (sim, true);
    char key[32];
    s_key_name (key, sizeof key, sim->runs[record].key);
    if (node == SIMNET_NONE ||
        simnet_client (sim->net, node, CHORD_MSG_CLIENT_LOOKUP, key, strlen (key), NULL, 0, sim->opt->tmo_ms,
                       s_token (S_TOKEN_RUN, ((uint64_t) record << 2) | attempt)) != 0) {
        if (attempt == 0)
            sim->result->run_first_unanswered++;
        sim->result->run_failed_retried++;
        sim->runs[record].done = true;
    }
}

static void s_on_retry (void *arg, simnet_t *net, uint64_t token)
{
    (void) net;
    s_run_lookup_send (arg, (size_t) (token >> 2), (unsigned) (token & 3));
}

static void s_on_run_lookup (void *arg, simnet_t *net, uint64_t token)
{
    (void) token;
    s_sim_t *sim = arg;
    if (sim->phase != S_PHASE_RUN)
        return;
    if (sim->run_count == sim->run_alloc) {
        size_t alloc = sim->run_alloc ? sim->run_alloc * 2 : 1024;
        s_run_lookup_t *grown = realloc (sim->runs, alloc * sizeof *grown);
        if (!grown)
            return;
        sim->runs = grown;
        sim->run_alloc = alloc;
    }
    size_t record = sim->run_count++;
    sim->runs[record] = (s_run_lookup_t){.key = simrng_next (&sim->rng)};
    sim->result->run_lookups++;
    s_run_lookup_send (sim, record, 0);
    simnet_at (
        net, simnet_now (net) + 1 + (uint64_t) simrng_exponential (&sim->rng, 1000.0 / sim->opt->lookup_rate),
        s_on_run_lookup, sim, 0);
}

static void s_run_lookup_reply (s_sim_t *sim, uint64_t value, const simnet_reply_t *reply)
{
    size_t record = (size_t) (value >> 2);
    unsigned attempt = (unsigned) (value & 3);
    s_run_lookup_t *run = &sim->runs[record];
    bool right = s_reply_right (sim->net, reply);
    if (attempt == 0) {
        run->first_right = right;
        if (!right) {
            if (!reply->answered || reply->status == CHORD_STATUS_TIMEOUT)
                sim->result->run_first_unanswered++;
            else if (reply->status != CHORD_STATUS_OK)
                sim->result->run_first_refused++;
            else
                sim->result->run_first_wrong++;
        }
    }
    if (right) {
        run->done = true;
        return;
    }
    if (attempt < S_RETRIES)
        simnet_at (sim->net, simnet_now (sim->net) + S_RETRY_GAP_MS, s_on_retry, sim,
                   ((uint64_t) record << 2) | (attempt + 1));
    else {
        run->done = true;
        sim->result->run_failed_retried++;
    }
}

static void s_on_reply (void *arg, simnet_t *net, const simnet_reply_t *reply)
{
    s_sim_t *sim = arg;
    unsigned kind = (unsigned) (reply->token >> S_TOKEN_SHIFT);
    uint64_t value = reply->token & ((1ull << S_TOKEN_SHIFT) - 1);
    switch (kind) {
    case S_TOKEN_MEASURE:
        if (sim->measure) {
            s_lookups_note (sim->measure, net, reply);
            if (sim->owner_dead && !sim->owner_dead[value] && !s_reply_right (net, reply))
                sim->measure->failed_owner_alive++;
        }
        break;
    case S_TOKEN_RUN:
        s_run_lookup_reply (sim, value, reply);
        return;
    case S_TOKEN_PUT:
        if (reply->answered && reply->status == CHORD_STATUS_OK) {
            sim->key_state[value] |= S_KEY_STORED;
            sim->result->keys_stored++;
        }
        break;
    case S_TOKEN_GET: {
        char expect[48];
        s_value_name (expect, sizeof expect, value);
        if (reply->answered && reply->status == CHORD_STATUS_OK) {
            if (reply->value && reply->value_len == strlen (expect) &&
                memcmp (reply->value, expect, reply->value_len) == 0)
                sim->result->keys_read++;
            else
                sim->result->keys_wrong++;
        } else if (reply->answered && reply->status == CHORD_STATUS_NOT_FOUND) {
            if (sim->key_state[value] & S_KEY_CRASHED)
                sim->result->keys_missing_crash++;
            else {
                sim->result->keys_missing++;
                if (sim->opt->log_level >= 0) {
                    char hex[CHORD_ID_HEX_LEN + 1];
                    chord_id_to_hex (&reply->key_id, hex);
                    char key[32];
                    s_key_name (key, sizeof key, value);
                    fprintf (stderr, "%10.3f key-%llu (%.8s) is missing; its owner is node %zu; held by:",
                             simnet_now (net) / 1000.0, (unsigned long long) value, hex,
                             simnet_owner (net, &reply->key_id));
                    for (size_t i = 0; i < simnet_node_count (net); i++) {
                        const uint8_t *found;
                        size_t found_len;
                        chord_store_t *store = simnet_node_store (net, i);
                        if (store && chord_store_get (store, (const uint8_t *) key, strlen (key), &found,
                                                      &found_len) == 0)
                            fprintf (stderr, " node %zu", i);
                    }
                    fprintf (stderr, "\n");
                }
            }
        } else
            sim->result->keys_unanswered++;
        break;
    }
    }
    if (sim->outstanding)
        sim->outstanding--;
}

/* Runs until every measured client request is answered (each ends by its tmo). */
static void s_wait_outstanding (s_sim_t *sim)
{
    uint64_t limit = simnet_now (sim->net) + sim->opt->tmo_ms + 1;
    while (sim->outstanding && simnet_now (sim->net) < limit)
        simnet_run_until (sim->net, simnet_now (sim->net) + S_SLICE_MS);
}

/* Sends count lookups from random members at once, of keys[i] (or of
   random keys when keys is NULL), and waits for every answer. */
static void s_measure_lookups (s_sim_t *sim, s_lookups_t *into, size_t count, const uint64_t *keys)
{
    sim->measure = into;
    for (size_t i = 0; i < count; i++) {
        size_t node = s_random_member (sim, true);
        char key[32];
        s_key_name (key, sizeof key, keys ? keys[i] : simrng_next (&sim->rng));
        into->issued++;
        if (node != SIMNET_NONE &&
            simnet_client (sim->net, node, CHORD_MSG_CLIENT_LOOKUP, key, strlen (key), NULL, 0,
                           sim->opt->tmo_ms, s_token (S_TOKEN_MEASURE, i)) == 0)
            sim->outstanding++;
        else
            into->unanswered++;
    }
    s_wait_outstanding (sim);
    sim->measure = NULL;
}

/* The member a data operation enters through: any, or one of a few fixed
   gateways spread over the ring, as clients of a real deployment use. */
static size_t s_entry_member (s_sim_t *sim, size_t op)
{
    if (!sim->opt->gateways)
        return s_random_member (sim, true);
    const size_t *sorted;
    size_t count = simnet_members (sim->net, &sorted);
    if (count == 0)
        return SIMNET_NONE;
    size_t gateways = sim->opt->gateways < count ? sim->opt->gateways : count;
    return sorted[(op % gateways) * (count / gateways)];
}

static void s_data_ops (s_sim_t *sim, chord_msg_type_t type)
{
    uint64_t sent_before = simnet_stats (sim->net)->sent;
    for (size_t i = 0; i < sim->opt->keys; i++) {
        if (type == CHORD_MSG_CLIENT_GET && !(sim->key_state[i] & S_KEY_STORED))
            continue;
        size_t node = s_entry_member (sim, i);
        sim->result->data_ops++;
        char key[32], value[48];
        s_key_name (key, sizeof key, i);
        s_value_name (value, sizeof value, i);
        if (node != SIMNET_NONE &&
            simnet_client (sim->net, node, type, key, strlen (key), value, strlen (value), sim->opt->tmo_ms,
                           s_token (type == CHORD_MSG_CLIENT_PUT ? S_TOKEN_PUT : S_TOKEN_GET, i)) == 0)
            sim->outstanding++;
        else if (type == CHORD_MSG_CLIENT_GET)
            sim->result->keys_unanswered++;
    }
    s_wait_outstanding (sim);
    sim->result->data_messages += simnet_stats (sim->net)->sent - sent_before;
}

/* Checks the ring; on a violation records it and returns -1. */
static int s_check (s_sim_t *sim, simcheck_level_t level, const char *when)
{
    char why[768];
    sim->result->checks++;
    int rc = simcheck_ring (sim->net, level, &sim->result->report, why, sizeof why);
    sim->result->disordered_checks += sim->result->report.disordered_appendages > 0;
    if (rc == 0)
        return 0;
    s_violation (sim, "%s: %s", when, why);
    sim->result->culprit = sim->result->report.culprit;
    return -1;
}

/* Waits (checking every interval) until the quiet invariants hold; returns
   the time that took, or UINT64_MAX by limit_ms. */
static uint64_t s_converge (s_sim_t *sim, uint64_t limit_ms, uint64_t interval_ms)
{
    uint64_t start = simnet_now (sim->net);
    for (;;) {
        if (simcheck_ring (sim->net, SIMCHECK_QUIET, &sim->result->report, NULL, 0) == 0)
            return simnet_now (sim->net) - start;
        if (simnet_now (sim->net) - start >= limit_ms)
            return UINT64_MAX;
        simnet_run_until (sim->net, simnet_now (sim->net) + interval_ms);
    }
}

/*  Builds the ring by joins in doubling waves: each wave starts as many
    joiners as there are members (through random members), and the next
    wave starts once they are all ACTIVE; then waits until the ring is
    exact. Returns 0, or -1 after recording a violation.  */
static int s_build_join (s_sim_t *sim, size_t count)
{
    simnet_t *net = sim->net;
    size_t first = simnet_add (net);
    if (first == SIMNET_NONE || simnet_start (net, first, NULL, 0) != 0) {
        s_violation (sim, "cannot start the first node");
        return -1;
    }
    size_t total = 1;
    while (total < count) {
        const size_t *sorted;
        size_t members = simnet_members (net, &sorted);
        size_t wave = count - total < members ? count - total : members;
        for (size_t i = 0; i < wave; i++)
            if (s_join_one (sim) != SIMNET_NONE)
                total++;
        uint64_t limit = simnet_now (net) + S_WAVE_LIMIT_MS;
        while (simnet_members (net, &sorted) < s_up_count (net)) {
            if (simnet_now (net) >= limit) {
                s_violation (sim, "joins stuck: %zu of %zu nodes are members after %d s",
                             simnet_members (net, &sorted), s_up_count (net), S_WAVE_LIMIT_MS / 1000);
                return -1;
            }
            simnet_run_until (net, simnet_now (net) + S_SLICE_MS);
        }
    }
    sim->result->joins = 0;
    if (s_converge (sim, S_BUILD_LIMIT_MS, sim->opt->stabilize_ms) == UINT64_MAX) {
        char why[768];
        simcheck_ring (net, SIMCHECK_QUIET, NULL, why, sizeof why);
        s_violation (sim, "the ring built by joins is not exact after %d s: %s", S_BUILD_LIMIT_MS / 1000,
                     why);
        return -1;
    }
    return 0;
}

/* Splits the ring: the lower half of the up nodes by id on side 1. */
static void s_partition_start (void *arg, simnet_t *net, uint64_t token)
{
    (void) token;
    s_sim_t *sim = arg;
    if (sim->phase != S_PHASE_RUN)
        return;
    const size_t *sorted;
    size_t count = simnet_members (net, &sorted);
    for (size_t i = 0; i < simnet_node_count (net); i++)
        simnet_set_side (net, i, 0);
    for (size_t k = 0; k < count / 2; k++)
        simnet_set_side (net, sorted[k], 1);
    simnet_partition (net, true);
    sim->tainted_until_ms = UINT64_MAX;
}

/* How long after a partition heals ring safety is void: suspicions of the
   far side lapse (max (3 stabilize, 2 rpc timeouts) each, twice over) and
   stabilization merges the two rings (ten rounds). */
static uint64_t s_heal_grace_ms (const s_options_t *opt)
{
    uint64_t suspicion = 3 * (uint64_t) opt->stabilize_ms;
    if (suspicion < 2 * (uint64_t) opt->rpc_timeout_ms)
        suspicion = 2 * (uint64_t) opt->rpc_timeout_ms;
    return 4 * suspicion + 10 * (uint64_t) opt->stabilize_ms;
}

static void s_partition_end (void *arg, simnet_t *net, uint64_t token)
{
    (void) token;
    s_sim_t *sim = arg;
    simnet_partition (net, false);
    sim->tainted_until_ms = simnet_now (net) + s_heal_grace_ms (sim->opt);
}

static bool s_tainted (const s_sim_t *sim)
{
    return sim->tainted_until_ms && simnet_now (sim->net) < sim->tainted_until_ms;
}

static void s_traffic (simnet_t *net, uint64_t *messages, uint64_t *bytes)
{
    const simnet_stats_t *stats = simnet_stats (net);
    *messages = stats->sent;
    *bytes = stats->sent_bytes;
}

/* The whole run: build, keys, run phase, quiet period, lookups, data. */
static void s_simulate (const s_options_t *opt, s_result_t *result, simnet_t **net_p)
{
    s_sim_t sim_struct = {
        .opt = opt, .result = result, .phase = S_PHASE_BUILD, .leave_fraction = opt->leave_fraction};
    s_sim_t *sim = &sim_struct;
    result->converge_ms = UINT64_MAX;
    result->culprit = SIMNET_NONE;
    simnet_t *net = s_net_new (opt, opt->stabilize_ms, opt->successors);
    *net_p = net;
    if (!net) {
        s_violation (sim, "cannot create the network");
        return;
    }
    sim->net = net;
    simrng_t root;
    simrng_seed (&root, opt->seed);
    simrng_fork (&sim->rng, &root, S_SCENARIO_STREAM);
    simnet_on_reply (net, s_on_reply, sim);
    if (opt->keys)
        sim->key_state = calloc (opt->keys, 1);

    /* Build. */
    if (opt->build_join) {
        if (s_build_join (sim, opt->nodes) != 0)
            goto done;
    } else if (simnet_build_ring (net, opt->nodes) != 0) {
        s_violation (sim, "cannot build a ring of %zu nodes", opt->nodes);
        goto done;
    }
    result->build_ms = simnet_now (net);
    if (s_check (sim, SIMCHECK_QUIET, "after the build") != 0)
        goto done;

    /* Keys, stored while the network is fault-free. */
    sim->phase = S_PHASE_KEYS;
    if (opt->keys && sim->key_state)
        s_data_ops (sim, CHORD_MSG_CLIENT_PUT);

    /* The run phase: faults and churn. */
    sim->phase = S_PHASE_RUN;
    uint64_t run_start = simnet_now (net);
    uint64_t run_end = run_start + (uint64_t) (opt->duration_s * 1000);
    result->run_s = opt->duration_s;
    simnet_set_faults (net, opt->loss, opt->dup);
    if (opt->fail_fraction > 0) {
        const size_t *sorted;
        size_t count = simnet_members (net, &sorted);
        size_t *victims = malloc ((count ? count : 1) * sizeof *victims);
        if (!victims) {
            s_violation (sim, "out of memory");
            goto done;
        }
        memcpy (victims, sorted, count * sizeof *victims);
        size_t crash = (size_t) (opt->fail_fraction * (double) count + 0.5);
        for (size_t i = 0; i < crash && i < count; i++) {
            size_t j = i + simrng_below (&sim->rng, count - i);
            size_t victim = victims[j];
            victims[j] = victims[i];
            s_crash (sim, victim);
        }
        result->failed_at_once = crash;
        free (victims);
    }
    if (opt->churn_rate > 0)
        simnet_at (net,
                   run_start + 1 +
                       (uint64_t) simrng_exponential (&sim->rng, opt->stabilize_ms / opt->churn_rate),
                   s_on_churn_event, sim, 0);
    if (opt->session_median_s > 0) {
        const size_t *sorted;
        size_t count = simnet_members (net, &sorted);
        double mean_ms = opt->session_median_s * 1000 / simrng_ln (2);
        for (size_t k = 0; k < count; k++)
            simnet_at (net, run_start + (uint64_t) simrng_exponential (&sim->rng, mean_ms), s_on_session_end,
                       sim, sorted[k]);
    }
    if (opt->lookup_rate > 0 && opt->duration_s > 0)
        simnet_at (net, run_start + (uint64_t) simrng_exponential (&sim->rng, 1000.0 / opt->lookup_rate),
                   s_on_run_lookup, sim, 0);
    if (opt->partition && opt->duration_s > 0) {
        double length_s = opt->partition_s > 0 ? opt->partition_s : opt->duration_s / 2;
        if (length_s > opt->duration_s)
            length_s = opt->duration_s;
        uint64_t begin = run_start + (uint64_t) ((opt->duration_s - length_s) / 2 * 1000);
        simnet_at (net, begin, s_partition_start, sim, 0);
        simnet_at (net, begin + (uint64_t) (length_s * 1000), s_partition_end, sim, 0);
    }
    uint64_t messages0, bytes0;
    s_traffic (net, &messages0, &bytes0);
    uint64_t check_ms = (uint64_t) (opt->check_ms < 0 ? opt->stabilize_ms : opt->check_ms);
    uint64_t slice_ms = check_ms ? check_ms : 1000;
    while (simnet_now (net) < run_end) {
        uint64_t from = simnet_now (net);
        uint64_t to = from + slice_ms < run_end ? from + slice_ms : run_end;
        simnet_run_until (net, to);
        result->run_node_s += (double) s_up_count (net) * (double) (to - from) / 1000.0;
        if (check_ms && !s_tainted (sim) &&
            s_check (sim, opt->strict ? SIMCHECK_STRICT : SIMCHECK_SAFETY, "during the run") != 0)
            goto done;
    }
    uint64_t messages1, bytes1;
    s_traffic (net, &messages1, &bytes1);
    result->run_messages = messages1 - messages0;
    result->run_bytes = bytes1 - bytes0;
    result->partition_dropped = simnet_stats (net)->dropped_partition;

    /* The quiet period: no churn, no faults. */
    sim->phase = S_PHASE_QUIET;
    simnet_set_faults (net, 0, 0);
    simnet_partition (net, false);
    uint64_t quiet_start = simnet_now (net);
    uint64_t quiet_end = quiet_start + (uint64_t) (opt->quiet_s * 1000);
    /* Probe for exactness every check interval (every stabilize interval when
       continuous checks are off), to learn how long the ring took. */
    uint64_t probe_ms = check_ms ? check_ms : opt->stabilize_ms;
    for (;;) {
        if (result->converge_ms == UINT64_MAX) {
            result->checks++;
            if (simcheck_ring (net, SIMCHECK_QUIET, &result->report, NULL, 0) == 0)
                result->converge_ms = simnet_now (net) - quiet_start;
            else if (check_ms && !s_tainted (sim) &&
                     s_check (sim, opt->strict ? SIMCHECK_STRICT : SIMCHECK_SAFETY,
                              "during the quiet period") != 0)
                goto done;
        }
        if (simnet_now (net) >= quiet_end)
            break;
        uint64_t to = simnet_now (net) + probe_ms;
        simnet_run_until (net, to < quiet_end ? to : quiet_end);
    }
    char when[64];
    snprintf (when, sizeof when, "after a quiet period of %.1f s", opt->quiet_s);
    if (s_check (sim, SIMCHECK_QUIET, when) != 0)
        goto done;
    if (result->converge_ms == UINT64_MAX)
        result->converge_ms = simnet_now (net) - quiet_start;

    /* Lookups and data, on the quiet ring. */
    sim->phase = S_PHASE_MEASURE;
    s_measure_lookups (sim, &result->after, opt->lookups, NULL);
    if (s_failures (&result->after) > 0)
        s_violation (
            sim,
            "%llu of %llu lookups after the quiet period did not name successor(key): %llu wrong, %llu "
            "unanswered, %llu refused",
            (unsigned long long) s_failures (&result->after), (unsigned long long) result->after.issued,
            (unsigned long long) result->after.wrong, (unsigned long long) result->after.unanswered,
            (unsigned long long) result->after.refused);
    if (opt->keys && sim->key_state)
        s_data_ops (sim, CHORD_MSG_CLIENT_GET);
    s_check (sim, SIMCHECK_QUIET, "at the end");

done : {
    const size_t *sorted;
    result->members = simnet_members (net, &sorted);
}
    free (sim->runs);
    free (sim->key_state);
}

/* ------------------------------------------------------------- output */

static json_t *s_json_u64 (uint64_t value)
{
    return json_integer ((json_int_t) value);
}

static void s_print_run (const s_options_t *opt, s_result_t *result, simnet_t *net)
{
    s_hop_stats_t hops = s_hop_stats (&result->after);
    const simnet_stats_t *stats = net ? simnet_stats (net) : NULL;
    double bytes_per_peer_s = result->run_node_s > 0 ? result->run_bytes / result->run_node_s : 0;
    double msgs_per_peer_s = result->run_node_s > 0 ? result->run_messages / result->run_node_s : 0;
    char trace[17];
    snprintf (trace, sizeof trace, "%016llx", (unsigned long long) (net ? simnet_trace_hash (net) : 0));
    if (opt->json) {
        json_t *root = json_object ();
        json_object_set_new (root, "seed", s_json_u64 (opt->seed));
        json_object_set_new (root, "nodes", s_json_u64 (opt->nodes));
        json_object_set_new (root, "build", json_string (opt->build_join ? "join" : "direct"));
        json_object_set_new (root, "ok", json_boolean (!result->violated));
        json_object_set_new (root, "lookups", s_json_u64 (result->after.issued));
        json_object_set_new (root, "lookup_failures", s_json_u64 (s_failures (&result->after)));
        json_object_set_new (root, "lookup_wrong", s_json_u64 (result->after.wrong));
        json_object_set_new (root, "lookup_unanswered", s_json_u64 (result->after.unanswered));
        json_object_set_new (root, "hops_mean", json_real (hops.mean));
        json_object_set_new (root, "hops_p50", s_json_u64 (hops.p50));
        json_object_set_new (root, "hops_p99", s_json_u64 (hops.p99));
        json_object_set_new (root, "hops_max", s_json_u64 (hops.max));
        json_object_set_new (root, "trace_hash", json_string (trace));
        json_object_set_new (root, "build_ms", s_json_u64 (result->build_ms));
        json_object_set_new (root, "converge_ms",
                             result->converge_ms == UINT64_MAX ? json_null ()
                                                               : s_json_u64 (result->converge_ms));
        json_object_set_new (root, "checks", s_json_u64 (result->checks));
        json_object_set_new (root, "checks_with_disordered_appendages",
                             s_json_u64 (result->disordered_checks));
        json_object_set_new (root, "members", s_json_u64 (result->members));
        json_object_set_new (root, "joins", s_json_u64 (result->joins));
        json_object_set_new (root, "crashes", s_json_u64 (result->crashes));
        json_object_set_new (root, "leaves", s_json_u64 (result->leaves));
        json_object_set_new (root, "failed_at_once", s_json_u64 (result->failed_at_once));
        json_object_set_new (root, "run_lookups", s_json_u64 (result->run_lookups));
        json_object_set_new (
            root, "run_lookup_failures_first",
            s_json_u64 (result->run_first_wrong + result->run_first_unanswered + result->run_first_refused));
        json_object_set_new (root, "run_lookup_wrong_first", s_json_u64 (result->run_first_wrong));
        json_object_set_new (root, "run_lookup_failures_retried", s_json_u64 (result->run_failed_retried));
        json_object_set_new (root, "bytes_per_peer_s", json_real (bytes_per_peer_s));
        json_object_set_new (root, "messages_per_peer_s", json_real (msgs_per_peer_s));
        json_object_set_new (root, "keys", s_json_u64 (opt->keys));
        json_object_set_new (root, "keys_stored", s_json_u64 (result->keys_stored));
        json_object_set_new (root, "keys_read", s_json_u64 (result->keys_read));
        json_object_set_new (root, "keys_lost_to_crashes", s_json_u64 (result->keys_missing_crash));
        json_object_set_new (root, "keys_missing", s_json_u64 (result->keys_missing));
        json_object_set_new (root, "keys_wrong", s_json_u64 (result->keys_wrong));
        json_object_set_new (root, "keys_unanswered", s_json_u64 (result->keys_unanswered));
        json_object_set_new (root, "data_messages_per_op",
                             json_real (result->data_ops ? (double) result->data_messages / result->data_ops : 0));
        json_object_set_new (root, "sim_ms", s_json_u64 (net ? simnet_now (net) : 0));
        json_object_set_new (root, "events", s_json_u64 (stats ? stats->events : 0));
        json_object_set_new (root, "messages", s_json_u64 (stats ? stats->sent : 0));
        json_object_set_new (root, "lost", s_json_u64 (stats ? stats->lost : 0));
        json_object_set_new (root, "duplicated", s_json_u64 (stats ? stats->duplicated : 0));
        json_object_set_new (root, "dropped_partition", s_json_u64 (stats ? stats->dropped_partition : 0));
        json_object_set_new (root, "stuck", s_json_u64 (stats ? stats->stuck : 0));
        if (result->violated) {
            json_t *violation = json_object ();
            json_object_set_new (violation, "what", json_string (result->what));
            json_object_set_new (violation, "at_ms", s_json_u64 (result->violation_ms));
            json_object_set_new (violation, "phase", json_string (s_phase_names[result->violation_phase]));
            json_object_set_new (violation, "replay", json_string (opt->replay));
            json_object_set_new (root, "violation", violation);
        } else
            json_object_set_new (root, "violation", json_null ());
        char *text = json_dumps (root, JSON_PRESERVE_ORDER | JSON_REAL_PRECISION (6));
        if (text)
            puts (text);
        free (text);
        json_decref (root);
    } else {
        static const char *dists[] = {"constant", "uniform", "exponential"};
        printf ("chord-sim: seed %llu, %zu nodes built by %s, r = %zu, stabilize %u ms, rpc timeout %u ms, "
                "latency %s mean %.0f ms\n",
                (unsigned long long) opt->seed, opt->nodes, opt->build_join ? "joins" : "direct start",
                opt->successors, opt->stabilize_ms, opt->rpc_timeout_ms, dists[opt->latency_dist],
                opt->latency_ms);
        printf ("build     exact at %.1f s of virtual time\n", result->build_ms / 1000.0);
        if (opt->duration_s > 0) {
            printf ("run       %.0f s: %llu joins, %llu crashes, %llu leaves", opt->duration_s,
                    (unsigned long long) result->joins, (unsigned long long) result->crashes,
                    (unsigned long long) result->leaves);
            if (result->failed_at_once)
                printf (" (%llu at once)", (unsigned long long) result->failed_at_once);
            printf ("; loss %.3g, dup %.3g%s\n", opt->loss, opt->dup,
                    opt->partition ? ", a partition that heals" : "");
            if (result->run_lookups)
                printf ("          %llu lookups: %llu failed first time (%llu wrong owner, %llu no answer), "
                        "%llu still failed after %d retries\n",
                        (unsigned long long) result->run_lookups,
                        (unsigned long long) (result->run_first_wrong + result->run_first_unanswered +
                                              result->run_first_refused),
                        (unsigned long long) result->run_first_wrong,
                        (unsigned long long) (result->run_first_unanswered + result->run_first_refused),
                        (unsigned long long) result->run_failed_retried, S_RETRIES);
            printf ("          traffic %.0f bytes/s and %.1f messages/s per peer\n", bytes_per_peer_s,
                    msgs_per_peer_s);
        }
        if (result->converge_ms != UINT64_MAX)
            printf ("quiet     exact %.1f s into the %.1f s quiet period\n", result->converge_ms / 1000.0,
                    opt->quiet_s);
        printf ("lookups   %llu, failures %llu; hops mean %.2f, p50 %u, p99 %u, max %u\n",
                (unsigned long long) result->after.issued, (unsigned long long) s_failures (&result->after),
                hops.mean, hops.p50, hops.p99, hops.max);
        if (opt->keys)
            printf ("keys      %zu stored, %zu read back, %zu lost with crashed peers, %zu missing "
                    "otherwise, %zu "
                    "wrong, %zu unanswered\n",
                    result->keys_stored, result->keys_read, result->keys_missing_crash, result->keys_missing,
                    result->keys_wrong, result->keys_unanswered);
        if (result->data_ops)
            printf ("data      %llu puts and gets cost %.2f messages each (client's included)\n",
                    (unsigned long long) result->data_ops, (double) result->data_messages / result->data_ops);
        printf ("ring      %zu members; %zu invariant checks %s", result->members, result->checks,
                result->violated ? "FAILED" : "held");
        if (result->disordered_checks)
            printf (" (%zu saw an appendage jump over a ring member: Zave's OrderedAppendages; --strict "
                    "fails on it)",
                    result->disordered_checks);
        printf ("\n");
        if (stats)
            printf ("trace     %s (%llu events, %llu messages, %.1f s virtual)\n", trace,
                    (unsigned long long) stats->events, (unsigned long long) stats->sent,
                    simnet_now (net) / 1000.0);
    }
    fflush (stdout);
    if (result->violated) {
        fprintf (stderr, "chord-sim: INVARIANT VIOLATED, seed %llu, at %.3f s (%s phase): %s\n",
                 (unsigned long long) opt->seed, result->violation_ms / 1000.0,
                 s_phase_names[result->violation_phase], result->what);
        if (net && result->culprit != SIMNET_NONE) {
            fprintf (stderr, "chord-sim: the members around node %zu by id:\n", result->culprit);
            simcheck_dump (net, result->culprit,
                           getenv ("SIM_DUMP_RADIUS") ? (size_t) atoi (getenv ("SIM_DUMP_RADIUS")) : 3,
                           stderr);
        }
        fprintf (stderr, "chord-sim: replay with: %s\n", opt->replay);
    }
}

/* ------------------------------------------------------------- scenarios */

typedef struct {
    const s_options_t *opt;
    json_t *rows; /* with --json */
} s_table_t;

static void s_sim_init (s_sim_t *sim, const s_options_t *opt, s_result_t *result, simnet_t *net)
{
    memset (sim, 0, sizeof *sim);
    memset (result, 0, sizeof *result);
    sim->opt = opt;
    sim->result = result;
    sim->net = net;
    sim->phase = S_PHASE_MEASURE;
    sim->leave_fraction = opt->leave_fraction;
    simrng_t root;
    simrng_seed (&root, opt->seed);
    simrng_fork (&sim->rng, &root, S_SCENARIO_STREAM);
    simnet_on_reply (net, s_on_reply, sim);
}

static void s_table_row (s_table_t *table, json_t *row)
{
    if (table->rows)
        json_array_append_new (table->rows, row);
    else
        json_decref (row);
}

/* Prints the table's JSON (with --json); takes ownership of extra (may be NULL). */
static void s_table_end (s_table_t *table, const char *name, json_t *extra)
{
    if (!table->rows) {
        json_decref (extra);
        return;
    }
    json_t *root = json_object ();
    json_object_set_new (root, "scenario", json_string (name));
    json_object_set_new (root, "seed", s_json_u64 (table->opt->seed));
    if (extra)
        json_object_update (root, extra);
    json_object_set_new (root, "rows", table->rows);
    char *text = json_dumps (root, JSON_PRESERVE_ORDER | JSON_REAL_PRECISION (6));
    if (text)
        puts (text);
    free (text);
    json_decref (root);
    json_decref (extra);
}

/* Lookup path length against ring size, on rings built with exact tables. */
static int s_scenario_pathlen (const s_options_t *opt, s_table_t *table)
{
    unsigned top = opt->quick ? 11 : 14;
    size_t lookups = opt->lookups ? opt->lookups : 10000;
    if (!table->rows) {
        printf ("Lookup path length (hops) on rings built with exact tables; %zu lookups of random keys from "
                "random\n"
                "peers per size; seed %llu. The paper: mean about 1/2 log2 N.\n\n",
                lookups, (unsigned long long) opt->seed);
        printf ("%8s %10s %8s %5s %5s %5s %5s %9s\n", "N", "paper", "mean", "p1", "p50", "p99", "max",
                "failures");
    }
    int rc = 0;
    for (unsigned k = 6; k <= top; k++) {
        size_t n = (size_t) 1 << k;
        /* No maintenance during the lookups: the tables stay exact. */
        simnet_t *net = s_net_new (opt, 3600000, opt->successors);
        s_sim_t sim;
        s_result_t result;
        s_sim_init (&sim, opt, &result, net);
        if (simnet_build_ring (net, n) != 0) {
            simnet_destroy (&net);
            return -1;
        }
        s_measure_lookups (&sim, &result.after, lookups, NULL);
        s_hop_stats_t hops = s_hop_stats (&result.after);
        uint64_t failures = s_failures (&result.after);
        rc |= failures ? -1 : 0;
        if (!table->rows)
            printf ("%8zu %10.2f %8.2f %5u %5u %5u %5u %9llu\n", n, k / 2.0, hops.mean, hops.p1, hops.p50,
                    hops.p99, hops.max, (unsigned long long) failures);
        json_t *row = json_object ();
        json_object_set_new (row, "nodes", s_json_u64 (n));
        json_object_set_new (row, "paper_mean", json_real (k / 2.0));
        json_object_set_new (row, "hops_mean", json_real (hops.mean));
        json_object_set_new (row, "hops_p1", s_json_u64 (hops.p1));
        json_object_set_new (row, "hops_p50", s_json_u64 (hops.p50));
        json_object_set_new (row, "hops_p99", s_json_u64 (hops.p99));
        json_object_set_new (row, "hops_max", s_json_u64 (hops.max));
        json_object_set_new (row, "lookup_failures", s_json_u64 (failures));
        s_table_row (table, row);
        free (result.after.hops);
        simnet_destroy (&net);
        fflush (stdout);
    }
    s_table_end (table, "pathlen", NULL);
    return rc;
}

typedef struct {
    chord_id_t id;
    uint32_t peer;
} s_position_t;

static int s_cmp_position (const void *a, const void *b)
{
    return chord_id_cmp (&((const s_position_t *) a)->id, &((const s_position_t *) b)->id);
}

/* Keys per peer when positions[] (sorted) own the key ids; fills per_peer. */
static void s_count_keys (const s_position_t *positions, size_t position_count, const chord_id_t *keys,
                          size_t key_count, uint32_t *per_peer, size_t peers)
{
    memset (per_peer, 0, peers * sizeof *per_peer);
    for (size_t i = 0; i < key_count; i++) {
        size_t lo = 0, hi = position_count;
        while (lo < hi) {
            size_t mid = lo + (hi - lo) / 2;
            if (chord_id_cmp (&positions[mid].id, &keys[i]) < 0)
                lo = mid + 1;
            else
                hi = mid;
        }
        per_peer[positions[lo == position_count ? 0 : lo].peer]++;
    }
}

static void s_endpoint_of (char *out, size_t size, uint64_t seed, size_t peer)
{
    uint32_t address = (uint32_t) simrng_mix (seed ^ 0x10adull) + (uint32_t) peer;
    snprintf (out, size, "sim://%08x:7000", address);
}

static void s_load_row (s_table_t *table, const char *how, unsigned v, const uint32_t *per_peer, size_t peers,
                        size_t keys, const char *paper_p1, const char *paper_p99)
{
    double *load = malloc (peers * sizeof *load);
    if (!load)
        return;
    double mean = (double) keys / (double) peers, max = 0;
    for (size_t i = 0; i < peers; i++) {
        load[i] = per_peer[i] / mean;
        if (load[i] > max)
            max = load[i];
    }
    qsort (load, peers, sizeof *load, s_cmp_double);
    double p1 = s_quantile_double (load, peers, 0.01), p99 = s_quantile_double (load, peers, 0.99);
    if (!table->rows)
        printf ("%-26s %3u %8.0f %8.2f %8.2f %8.2f %10s %10s\n", how, v, mean, max, p1, p99, paper_p1,
                paper_p99);
    json_t *row = json_object ();
    json_object_set_new (row, "placement", json_string (how));
    json_object_set_new (row, "positions_per_peer", s_json_u64 (v));
    json_object_set_new (row, "mean_keys", json_real (mean));
    json_object_set_new (row, "max_over_mean", json_real (max));
    json_object_set_new (row, "p1_over_mean", json_real (p1));
    json_object_set_new (row, "p99_over_mean", json_real (p99));
    s_table_row (table, row);
    free (load);
}

/*  Keys per peer with V virtual positions per peer: pure id arithmetic
    (BLAKE2b of endpoint#i and of the keys), no messages. Also one idea
    beyond the paper: each joining peer (in turn) picks one of c candidate
    positions endpoint#0..c-1, still checkable by anyone, the one that cuts
    the arc it lands in most evenly, weighted by the arc's width (the
    largest smaller piece).  */
static int s_scenario_loadbalance (const s_options_t *opt, s_table_t *table)
{
    size_t peers = opt->nodes ? opt->nodes : 10000;
    size_t keys = opt->keys ? opt->keys : (opt->quick ? 100000 : 1000000);
    static const unsigned vs[] = {1, 2, 5, 10, 20};
    chord_id_t *key_ids = malloc (keys * sizeof *key_ids);
    s_position_t *positions = malloc (peers * 20 * sizeof *positions);
    uint32_t *per_peer = malloc (peers * sizeof *per_peer);
    char **endpoints = calloc (peers, sizeof *endpoints);
    int rc = key_ids && positions && per_peer && endpoints ? 0 : -1;
    if (rc != 0)
        goto done;
    for (size_t i = 0; i < keys; i++) {
        char key[32];
        s_key_name (key, sizeof key, i);
        chord_id_hash (&key_ids[i], key, strlen (key));
    }
    for (size_t p = 0; p < peers; p++) {
        char endpoint[48];
        s_endpoint_of (endpoint, sizeof endpoint, opt->seed, p);
        if (!(endpoints[p] = strdup (endpoint))) {
            rc = -1;
            goto done;
        }
    }
    if (!table->rows) {
        printf (
            "Keys per peer relative to the mean, %zu peers, %zu keys; seed %llu. Positions: BLAKE2b-160 of\n"
            "endpoint (#i for i >= 1). The paper (V = 1 to 20): p99 4.8x falling to 1.6x, p1 0 rising to "
            "0.5x.\n\n",
            peers, keys, (unsigned long long) opt->seed);
        printf ("%-26s %3s %8s %8s %8s %8s %10s %10s\n", "placement", "V", "mean", "max", "p1", "p99",
                "paper p1", "paper p99");
    }
    for (size_t vi = 0; vi < sizeof vs / sizeof vs[0]; vi++) {
        unsigned v = vs[vi];
        size_t count = 0;
        for (size_t p = 0; p < peers; p++)
            for (unsigned i = 0; i < v; i++) {
                chord_id_of_position (&positions[count].id, endpoints[p], i);
                positions[count++].peer = (uint32_t) p;
            }
        qsort (positions, count, sizeof *positions, s_cmp_position);
        s_count_keys (positions, count, key_ids, keys, per_peer, peers);
        s_load_row (table, "virtual nodes", v, per_peer, peers, keys,
                    v == 1    ? "0"
                    : v == 20 ? "0.5"
                              : "-",
                    v == 1    ? "4.8"
                    : v == 20 ? "1.6"
                              : "-");
    }
    /* Beyond the paper: best of c candidate positions at join, one position each. */
    static const unsigned cs[] = {2, 4, 8};
    for (size_t ci = 0; ci < sizeof cs / sizeof cs[0]; ci++) {
        size_t count = 0;
        for (size_t p = 0; p < peers; p++) {
            s_position_t best = {.peer = (uint32_t) p};
            chord_id_t best_arc;
            memset (&best_arc, 0, sizeof best_arc);
            for (unsigned c = 0; c < cs[ci]; c++) {
                s_position_t candidate = {.peer = (uint32_t) p};
                chord_id_of_position (&candidate.id, endpoints[p], c);
                chord_id_t arc;
                if (count == 0)
                    memset (&arc, 0xff, sizeof arc);
                else {
                    /* The arc it would split: from its predecessor to its successor. */
                    size_t lo = 0, hi = count;
                    while (lo < hi) {
                        size_t mid = lo + (hi - lo) / 2;
                        if (chord_id_cmp (&positions[mid].id, &candidate.id) < 0)
                            lo = mid + 1;
                        else
                            hi = mid;
                    }
                    const chord_id_t *succ = &positions[lo == count ? 0 : lo].id;
                    const chord_id_t *pred = &positions[lo == 0 ? count - 1 : lo - 1].id;
                    /* The score: the smaller of the two pieces it would cut the
                       arc (pred, succ) into, so wide arcs cut near the middle win. */
                    chord_id_t taken, left;
                    chord_id_distance (&taken, pred, &candidate.id);
                    chord_id_distance (&left, &candidate.id, succ);
                    arc = chord_id_cmp (&taken, &left) < 0 ? taken : left;
                }
                if (c == 0 || chord_id_cmp (&arc, &best_arc) > 0) {
                    best = candidate;
                    best_arc = arc;
                }
            }
            size_t at = count;
            while (at > 0 && chord_id_cmp (&positions[at - 1].id, &best.id) > 0)
                at--;
            memmove (&positions[at + 1], &positions[at], (count - at) * sizeof *positions);
            positions[at] = best;
            count++;
        }
        s_count_keys (positions, count, key_ids, keys, per_peer, peers);
        char how[40];
        snprintf (how, sizeof how, "best of %u at join", cs[ci]);
        s_load_row (table, how, 1, per_peer, peers, keys, "-", "-");
    }
    s_table_end (table, "loadbalance", NULL);
done:
    for (size_t p = 0; endpoints && p < peers; p++)
        free (endpoints[p]);
    free (endpoints);
    free (key_ids);
    free (positions);
    free (per_peer);
    return rc;
}

/* Places key i straight into its owner's store, as if stored long ago. */
static void s_preload_keys (simnet_t *net, size_t keys)
{
    for (size_t i = 0; i < keys; i++) {
        char key[32], value[48];
        s_key_name (key, sizeof key, i);
        s_value_name (value, sizeof value, i);
        chord_id_t id;
        chord_id_hash (&id, key, strlen (key));
        chord_store_put (simnet_node_store (net, simnet_owner (net, &id)), (const uint8_t *) key,
                         strlen (key), (const uint8_t *) value, strlen (value));
    }
}

/* Every key sits in the store of its owner and nowhere else; returns misplaced ones. */
typedef struct {
    simnet_t *net;
    size_t node;
    size_t misplaced;
    size_t total;
} s_placement_t;

static int s_check_placement (void *arg, const chord_id_t *key_id, const uint8_t *key, size_t key_len,
                              const uint8_t *value, size_t value_len)
{
    (void) key;
    (void) key_len;
    (void) value;
    (void) value_len;
    s_placement_t *placement = arg;
    placement->total++;
    if (simnet_owner (placement->net, key_id) != placement->node)
        placement->misplaced++;
    return 0;
}

static uint64_t s_sum_stat (simnet_t *net, bool taken)
{
    uint64_t sum = 0;
    for (size_t i = 0; i < simnet_node_count (net); i++) {
        chord_node_t *node = simnet_node (net, i);
        if (node)
            sum +=
                taken ? chord_node_stats (node)->keys_taken_over : chord_node_stats (node)->keys_handed_off;
    }
    return sum;
}

/* Keys moved by one join and by one leave, against K/N. */
static int s_scenario_movement (const s_options_t *opt, s_table_t *table)
{
    size_t n = opt->nodes ? opt->nodes : 1000;
    size_t keys = opt->keys ? opt->keys : 100000;
    size_t trials = opt->quick ? 10 : 100;
    simnet_t *net = s_net_new (opt, 30000, opt->successors);
    s_sim_t sim;
    s_result_t result;
    s_sim_init (&sim, opt, &result, net);
    if (simnet_build_ring (net, n) != 0)
        return -1;
    s_preload_keys (net, keys);
    double ideal = (double) keys / (double) n;
    double join_sum = 0, leave_sum = 0, join_max = 0, leave_max = 0;
    size_t join_exact = 0, leave_exact = 0;
    for (size_t t = 0; t < trials; t++) {
        /* A join: it must take exactly the keys of (pred, joiner]. */
        uint64_t taken0 = s_sum_stat (net, true);
        size_t joiner = s_join_one (&sim);
        uint64_t limit = simnet_now (net) + 60000;
        while (!simnet_is_member (net, joiner) && simnet_now (net) < limit)
            simnet_run_until (net, simnet_now (net) + 10);
        simnet_run_until (net, simnet_now (net) + 2000);
        uint64_t moved = s_sum_stat (net, true) - taken0;
        s_placement_t placement = {.net = net, .node = joiner};
        chord_id_t zero;
        memset (&zero, 0, sizeof zero);
        chord_store_range (simnet_node_store (net, joiner), &zero, &zero, s_check_placement, &placement);
        size_t owned = 0;
        for (size_t i = 0; i < keys; i++) {
            char key[32];
            s_key_name (key, sizeof key, i);
            chord_id_t id;
            chord_id_hash (&id, key, strlen (key));
            owned += simnet_owner (net, &id) == joiner;
        }
        join_exact += moved == owned && placement.misplaced == 0 && placement.total == owned;
        join_sum += moved / ideal;
        if (moved / ideal > join_max)
            join_max = moved / ideal;

        /* A leave: it must hand over exactly what it holds. */
        size_t leaver = s_random_member (&sim, true);
        size_t held = chord_store_count (simnet_node_store (net, leaver));
        /* The leaver's own count leaves the sum with it. */
        uint64_t taken1 =
            s_sum_stat (net, true) - chord_node_stats (simnet_node (net, leaver))->keys_taken_over;
        simnet_leave (net, leaver);
        limit = simnet_now (net) + 60000;
        while (simnet_node_status (net, leaver) == SIMNET_NODE_UP && simnet_now (net) < limit)
            simnet_run_until (net, simnet_now (net) + 10);
        simnet_run_until (net, simnet_now (net) + 2000);
        moved = s_sum_stat (net, true) - taken1;
        leave_exact += moved == held;
        if (moved != held && opt->log_level >= 0)
            fprintf (stderr, "%10.3f leave of node %zu: held %zu keys, %llu moved\n",
                     simnet_now (net) / 1000.0, leaver, held, (unsigned long long) moved);
        leave_sum += moved / ideal;
        if (moved / ideal > leave_max)
            leave_max = moved / ideal;
    }
    /* At the end every key must sit with its owner. */
    size_t misplaced = 0, total = 0;
    for (size_t i = 0; i < simnet_node_count (net); i++) {
        chord_store_t *store = simnet_node_store (net, i);
        if (!store)
            continue;
        s_placement_t placement = {.net = net, .node = i};
        chord_id_t zero;
        memset (&zero, 0, sizeof zero);
        chord_store_range (store, &zero, &zero, s_check_placement, &placement);
        misplaced += placement.misplaced;
        total += placement.total;
    }
    if (!table->rows) {
        printf ("Keys moved by one join and by one leave, relative to K/N = %.0f (%zu peers, %zu keys, %zu "
                "joins and\n"
                "%zu leaves, alternating); seed %llu. Ideal (and the paper): 1.0 on average, and only the "
                "keys of\n"
                "the arc that changes hands.\n\n",
                ideal, n, keys, trials, trials, (unsigned long long) opt->seed);
        printf ("%-6s %12s %12s %28s\n", "event", "mean moved", "max moved", "moved exactly the arc");
        printf ("%-6s %11.2fx %11.2fx %21zu of %zu\n", "join", join_sum / trials, join_max, join_exact,
                trials);
        printf ("%-6s %11.2fx %11.2fx %21zu of %zu\n", "leave", leave_sum / trials, leave_max, leave_exact,
                trials);
        printf ("\nafterwards: %zu keys stored, %zu of them away from their owner\n", total, misplaced);
    }
    json_t *row = json_object ();
    json_object_set_new (row, "event", json_string ("join"));
    json_object_set_new (row, "mean_over_ideal", json_real (join_sum / trials));
    json_object_set_new (row, "max_over_ideal", json_real (join_max));
    json_object_set_new (row, "exact", s_json_u64 (join_exact));
    json_object_set_new (row, "trials", s_json_u64 (trials));
    s_table_row (table, row);
    row = json_object ();
    json_object_set_new (row, "event", json_string ("leave"));
    json_object_set_new (row, "mean_over_ideal", json_real (leave_sum / trials));
    json_object_set_new (row, "max_over_ideal", json_real (leave_max));
    json_object_set_new (row, "exact", s_json_u64 (leave_exact));
    json_object_set_new (row, "trials", s_json_u64 (trials));
    s_table_row (table, row);
    json_t *extra = json_object ();
    json_object_set_new (extra, "keys_misplaced", s_json_u64 (misplaced));
    s_table_end (table, "movement", extra);
    simnet_destroy (&net);
    return misplaced || join_exact < trials || leave_exact < trials ? -1 : 0;
}

/* Lookups right after a fraction of the peers failed at once, before any repair. */
static int s_scenario_failures (const s_options_t *opt, s_table_t *table)
{
    size_t n = opt->nodes ? opt->nodes : 1000;
    size_t lookups = opt->lookups ? opt->lookups : (opt->quick ? 2000 : 10000);
    size_t r = opt->successors_given ? opt->successors : CHORD_SUCCESSORS_MAX;
    static const double ps[] = {0, 0.1, 0.2, 0.3, 0.4, 0.5};
    /* The Chord paper (ToN 2003, Table II: 1,000 nodes, r = 20): mean path length and timeouts per
       lookup, as recalled, not checked against the paper's text. */
    static const char *paper_path[] = {"3.84", "4.03", "4.22", "4.44", "4.69", "5.09"};
    static const char *paper_tmo[] = {"0.00", "0.60", "1.17", "2.02", "3.23", "5.10"};
    s_options_t local = *opt;
    local.tmo_ms = 120000;
    if (!table->rows) {
        printf (
            "Lookups right after a fraction p of %zu peers crash at once, before any repair (no "
            "stabilization\n"
            "runs); r = %zu%s; %zu lookups of random keys from random live peers; seed %llu.\n"
            "wrong: the answer is not successor(key) among the live peers. owner died: the key's owner "
            "before\n"
            "the crash is dead, its data lost without replication (the paper's failed lookups, about p).\n"
            "paper columns: ToN 2003 Table II as recalled (unverified).\n\n",
            n, r, r < 20 ? " (the paper: 20; CHORD_SUCCESSORS_MAX is 16)" : "", lookups,
            (unsigned long long) opt->seed);
        printf ("%5s %7s %9s %11s %12s %7s %5s %5s %11s %9s %10s\n", "p", "wrong", "no answer", "owner died",
                "failed, owner", "hops", "p1", "p99", "paper hops", "timeouts", "paper tmo");
        printf ("%5s %7s %9s %11s %12s %7s %5s %5s %11s %9s %10s\n", "", "", "", "", "alive", "", "", "", "",
                "/lookup", "/lookup");
    }
    int rc = 0;
    for (size_t pi = 0; pi < sizeof ps / sizeof ps[0]; pi++) {
        simnet_t *net = s_net_new (&local, 3600000, r);
        s_sim_t sim;
        s_result_t result;
        s_sim_init (&sim, &local, &result, net);
        simnet_build_ring (net, n);
        /* Remember the owners of the keys to be looked up. */
        uint64_t *key_numbers = malloc (lookups * sizeof *key_numbers);
        size_t owner_died = 0;
        const size_t *sorted;
        size_t members = simnet_members (net, &sorted);
        size_t *victims = malloc (members * sizeof *victims);
        bool *dead = calloc (simnet_node_count (net), sizeof *dead);
        if (!key_numbers || !victims || !dead) {
            free (key_numbers);
            free (victims);
            free (dead);
            simnet_destroy (&net);
            return -1;
        }
        memcpy (victims, sorted, members * sizeof *victims);
        size_t crash = (size_t) (ps[pi] * (double) members + 0.5);
        for (size_t i = 0; i < crash; i++) {
            size_t j = i + simrng_below (&sim.rng, members - i);
            size_t victim = victims[j];
            victims[j] = victims[i];
            victims[i] = victim;
        }
        for (size_t i = 0; i < crash; i++)
            dead[victims[i]] = true;
        for (size_t i = 0; i < lookups; i++)
            key_numbers[i] = simrng_next (&sim.rng);
        bool *owner_dead = calloc (lookups, sizeof *owner_dead);
        for (size_t i = 0; owner_dead && i < lookups; i++) {
            char key[32];
            s_key_name (key, sizeof key, key_numbers[i]);
            chord_id_t id;
            chord_id_hash (&id, key, strlen (key));
            owner_dead[i] = dead[simnet_owner (net, &id)];
            owner_died += owner_dead[i];
        }
        sim.owner_dead = owner_dead;
        for (size_t i = 0; i < crash; i++)
            simnet_crash (net, victims[i]);
        uint64_t timeouts0 = 0;
        for (size_t i = 0; i < simnet_node_count (net); i++)
            if (simnet_node (net, i))
                timeouts0 += chord_node_stats (simnet_node (net, i))->rpc_timeouts;
        s_measure_lookups (&sim, &result.after, lookups, key_numbers);
        uint64_t timeouts = 0;
        for (size_t i = 0; i < simnet_node_count (net); i++)
            if (simnet_node (net, i))
                timeouts += chord_node_stats (simnet_node (net, i))->rpc_timeouts;
        timeouts -= timeouts0;
        s_hop_stats_t hops = s_hop_stats (&result.after);
        double tmo_per_lookup = (double) timeouts / (double) lookups;
        rc |= result.after.failed_owner_alive ? -1 : 0;
        if (!table->rows)
            printf ("%5.2f %6.2f%% %8.2f%% %10.2f%% %11.2f%% %7.2f %5u %5u %11s %9.2f %10s\n", ps[pi],
                    100.0 * result.after.wrong / lookups,
                    100.0 * (result.after.unanswered + result.after.refused) / lookups,
                    100.0 * owner_died / lookups, 100.0 * result.after.failed_owner_alive / lookups,
                    hops.mean, hops.p1, hops.p99, paper_path[pi], tmo_per_lookup, paper_tmo[pi]);
        json_t *row = json_object ();
        json_object_set_new (row, "fail_fraction", json_real (ps[pi]));
        json_object_set_new (row, "lookups", s_json_u64 (lookups));
        json_object_set_new (row, "wrong", s_json_u64 (result.after.wrong));
        json_object_set_new (row, "unanswered", s_json_u64 (result.after.unanswered + result.after.refused));
        json_object_set_new (row, "owner_died", s_json_u64 (owner_died));
        json_object_set_new (row, "failed_owner_alive", s_json_u64 (result.after.failed_owner_alive));
        json_object_set_new (row, "hops_mean", json_real (hops.mean));
        json_object_set_new (row, "hops_p1", s_json_u64 (hops.p1));
        json_object_set_new (row, "hops_p99", s_json_u64 (hops.p99));
        json_object_set_new (row, "timeouts_per_lookup", json_real (tmo_per_lookup));
        s_table_row (table, row);
        free (key_numbers);
        free (victims);
        free (dead);
        free (owner_dead);
        free (result.after.hops);
        simnet_destroy (&net);
        fflush (stdout);
    }
    s_table_end (table, "failures", NULL);
    return rc;
}

/* Lookups under Poisson churn, once a second, without and with retries. */
static int s_scenario_churn (const s_options_t *opt, s_table_t *table)
{
    static const double rates[] = {1.0 / 3, 1, 3, 6, 12};
    s_options_t local = *opt;
    local.nodes = opt->nodes ? opt->nodes : 500;
    local.stabilize_ms = opt->stabilize_given ? opt->stabilize_ms : 30000;
    local.duration_s = opt->duration_s > 0 ? opt->duration_s : (opt->quick ? 600 : 3600);
    local.quiet_s = opt->quiet_given ? opt->quiet_s : 10.0 * local.stabilize_ms / 1000;
    local.lookup_rate = 1;
    local.lookups = 0;
    local.keys = 0;
    local.check_ms = 0;
    local.json = false;
    if (!table->rows) {
        printf ("Lookups during churn: %zu peers, Poisson joins and crashes at the given rate per stabilize "
                "period\n"
                "(stabilize %u ms, r = %zu, rpc timeout %u ms), a lookup of a random key from a random peer "
                "once a\n"
                "second for %.0f s; seed %llu. A lookup fails when the answer is not successor(key) among "
                "the live\n"
                "peers when it arrives, or no answer comes within %u ms (the node routes around silent peers "
                "within\n"
                "that time itself). With retries: the client asks again from another peer 1 s later, up to "
                "%d times.\n"
                "The paper: a few per cent failed at the high rate, without retries.\n\n",
                local.nodes, local.stabilize_ms, local.successors, local.rpc_timeout_ms, local.duration_s,
                (unsigned long long) opt->seed, local.tmo_ms, S_RETRIES);
        printf ("%8s %9s %6s %7s %8s %14s %12s %14s %10s\n", "events/", "events/s", "joins", "crashes",
                "lookups", "failed first", "wrong owner", "after retries", "exact after");
        printf ("%8s %9s %6s %7s %8s %14s %12s %14s %10s\n", "period", "", "", "", "", "", "", "",
                "quiet (s)");
    }
    int rc = 0;
    for (size_t i = 0; i < sizeof rates / sizeof rates[0]; i++) {
        local.churn_rate = rates[i];
        s_result_t result;
        memset (&result, 0, sizeof result);
        simnet_t *net = NULL;
        s_simulate (&local, &result, &net);
        uint64_t first = result.run_first_wrong + result.run_first_unanswered + result.run_first_refused;
        double lookups = result.run_lookups ? (double) result.run_lookups : 1;
        rc |= result.violated ? -1 : 0;
        if (!table->rows) {
            printf ("%8.2f %9.4f %6llu %7llu %8llu %13.2f%% %11.2f%% %13.2f%% ", rates[i],
                    rates[i] * 1000 / local.stabilize_ms, (unsigned long long) result.joins,
                    (unsigned long long) result.crashes, (unsigned long long) result.run_lookups,
                    100.0 * first / lookups, 100.0 * result.run_first_wrong / lookups,
                    100.0 * result.run_failed_retried / lookups);
            if (result.violated)
                printf ("%10s\n  violation: %s\n", "NO", result.what);
            else
                printf ("%10.1f\n", result.converge_ms / 1000.0);
        }
        json_t *row = json_object ();
        json_object_set_new (row, "events_per_period", json_real (rates[i]));
        json_object_set_new (row, "joins", s_json_u64 (result.joins));
        json_object_set_new (row, "crashes", s_json_u64 (result.crashes));
        json_object_set_new (row, "lookups", s_json_u64 (result.run_lookups));
        json_object_set_new (row, "failed_first", s_json_u64 (first));
        json_object_set_new (row, "wrong_first", s_json_u64 (result.run_first_wrong));
        json_object_set_new (row, "failed_after_retries", s_json_u64 (result.run_failed_retried));
        json_object_set_new (row, "converge_ms",
                             result.violated ? json_null () : s_json_u64 (result.converge_ms));
        json_object_set_new (row, "violation", result.violated ? json_string (result.what) : json_null ());
        s_table_row (table, row);
        free (result.after.hops);
        simnet_destroy (&net);
        fflush (stdout);
    }
    s_table_end (table, "churn", NULL);
    return rc;
}

/* Maintenance bytes per second per peer, steady and under churn. */
static int s_scenario_traffic (const s_options_t *opt, s_table_t *table)
{
    static const uint32_t intervals[] = {500, 2000, 10000, 30000};
    s_options_t local = *opt;
    local.nodes = opt->nodes ? opt->nodes : 1000;
    local.lookups = 0;
    local.keys = 0;
    local.check_ms = 0;
    local.json = false;
    double churn_s = opt->duration_s > 0 ? opt->duration_s : (opt->quick ? 120 : 600);
    if (!table->rows) {
        printf ("Maintenance traffic per peer (everything peers send each other: stabilize, notify, ping,\n"
                "finger refreshes, joins and their handoffs of empty arcs), %zu peers, r = %zu; seed %llu.\n"
                "steady: no churn, 20 stabilize periods (at least 60 s). churn: sessions exponential with "
                "median\n"
                "84 s (1.4 min; Rhea et al.), each departure a crash replaced by a join, for %.0f s, one "
                "lookup a\n"
                "second. Bamboo: under 900 B/s per peer at 1,000 peers with 1.4 min median sessions.\n\n",
                local.nodes, local.successors, (unsigned long long) opt->seed, churn_s);
        printf ("%10s %12s %12s %14s %14s %14s %10s\n", "stabilize", "steady B/s", "steady msg/s",
                "churn B/s", "churn msg/s", "lookups failed", "exact after");
        printf ("%10s %12s %12s %14s %14s %14s %10s\n", "(ms)", "per peer", "per peer", "per peer",
                "per peer", "first time", "quiet (s)");
    }
    int rc = 0;
    for (size_t i = 0; i < sizeof intervals / sizeof intervals[0]; i++) {
        local.stabilize_ms = intervals[i];
        local.quiet_s = opt->quiet_given ? opt->quiet_s : 10.0 * intervals[i] / 1000;
        /* Steady. */
        local.session_median_s = 0;
        local.lookup_rate = 0;
        local.duration_s = 20.0 * intervals[i] / 1000 < 60 ? 60 : 20.0 * intervals[i] / 1000;
        s_result_t steady;
        memset (&steady, 0, sizeof steady);
        simnet_t *net = NULL;
        s_simulate (&local, &steady, &net);
        const simnet_stats_t *stats = simnet_stats (net);
        uint64_t find_bytes = stats->sent_bytes_by_type[CHORD_MSG_FIND_SUCC] +
                              stats->sent_bytes_by_type[CHORD_MSG_FIND_SUCC_REPLY];
        double find_share = stats->sent_bytes ? (double) find_bytes / (double) stats->sent_bytes : 0;
        simnet_destroy (&net);
        /* Churn. */
        local.session_median_s = 84;
        local.lookup_rate = 1;
        local.duration_s = churn_s;
        s_result_t churn;
        memset (&churn, 0, sizeof churn);
        s_simulate (&local, &churn, &net);
        simnet_destroy (&net);
        double steady_b = steady.run_bytes / steady.run_node_s,
               steady_m = steady.run_messages / steady.run_node_s;
        double churn_b = churn.run_bytes / churn.run_node_s, churn_m = churn.run_messages / churn.run_node_s;
        uint64_t first = churn.run_first_wrong + churn.run_first_unanswered + churn.run_first_refused;
        double failed = churn.run_lookups ? 100.0 * first / churn.run_lookups : 0;
        rc |= steady.violated || churn.violated ? -1 : 0;
        if (!table->rows) {
            printf ("%10u %12.0f %12.1f %14.0f %14.1f %13.2f%% ", intervals[i], steady_b, steady_m, churn_b,
                    churn_m, failed);
            if (churn.violated)
                printf ("%10s\n  violation: %s\n", "NO", churn.what);
            else
                printf ("%10.1f\n", churn.converge_ms / 1000.0);
            printf ("%10s (lookups for finger refreshes: %.0f%% of the steady bytes)\n", "",
                    100 * find_share);
        }
        json_t *row = json_object ();
        json_object_set_new (row, "stabilize_ms", s_json_u64 (intervals[i]));
        json_object_set_new (row, "steady_bytes_per_peer_s", json_real (steady_b));
        json_object_set_new (row, "steady_messages_per_peer_s", json_real (steady_m));
        json_object_set_new (row, "steady_find_share", json_real (find_share));
        json_object_set_new (row, "churn_bytes_per_peer_s", json_real (churn_b));
        json_object_set_new (row, "churn_messages_per_peer_s", json_real (churn_m));
        json_object_set_new (row, "churn_lookups", s_json_u64 (churn.run_lookups));
        json_object_set_new (row, "churn_failed_first", s_json_u64 (first));
        json_object_set_new (row, "churn_joins", s_json_u64 (churn.joins));
        json_object_set_new (row, "violation",
                             churn.violated    ? json_string (churn.what)
                             : steady.violated ? json_string (steady.what)
                                               : json_null ());
        s_table_row (table, row);
        free (steady.after.hops);
        free (churn.after.hops);
        fflush (stdout);
    }
    s_table_end (table, "traffic", NULL);
    return rc;
}

/* Time for K concurrent joins into a ring to settle. */
static int s_scenario_convergence (const s_options_t *opt, s_table_t *table)
{
    size_t n = opt->nodes ? opt->nodes : 1000;
    static const size_t ks[] = {1, 10, 100, 1000};
    size_t rows = opt->quick ? 3 : 4;
    if (!table->rows) {
        printf (
            "K peers join a ring of %zu at the same instant, each through a random member; stabilize %u ms,\n"
            "r = %zu, latency %s mean %.0f ms; seed %llu. active: every joiner serves; exact: every "
            "successor,\n"
            "predecessor and successor list is right (checked every 100 ms). Rounds are stabilize "
            "periods.\n\n",
            n, opt->stabilize_ms, opt->successors,
            opt->latency_dist == SIMNET_LATENCY_UNIFORM ? "uniform" : "other", opt->latency_ms,
            (unsigned long long) opt->seed);
        printf ("%6s %12s %12s %10s %12s\n", "K", "active (s)", "exact (s)", "rounds", "fingers/peer");
    }
    int rc = 0;
    for (size_t i = 0; i < rows; i++) {
        simnet_t *net = s_net_new (opt, opt->stabilize_ms, opt->successors);
        s_sim_t sim;
        s_result_t result;
        s_sim_init (&sim, opt, &result, net);
        simnet_build_ring (net, n);
        simnet_run_until (net, 1000);
        uint64_t start = simnet_now (net);
        for (size_t k = 0; k < ks[i]; k++)
            s_join_one (&sim);
        uint64_t active_ms = UINT64_MAX, exact_ms = UINT64_MAX;
        const size_t *sorted;
        while (simnet_now (net) - start < 600000) {
            simnet_run_until (net, simnet_now (net) + S_SLICE_MS);
            if (active_ms == UINT64_MAX && simnet_members (net, &sorted) == s_up_count (net))
                active_ms = simnet_now (net) - start;
            if (active_ms != UINT64_MAX &&
                simcheck_ring (net, SIMCHECK_QUIET, &result.report, NULL, 0) == 0) {
                exact_ms = simnet_now (net) - start;
                break;
            }
        }
        rc |= exact_ms == UINT64_MAX ? -1 : 0;
        double fingers = result.report.members ? (double) result.report.fingers / result.report.members : 0;
        if (!table->rows) {
            printf ("%6zu %12.1f ", ks[i], active_ms == UINT64_MAX ? -1 : active_ms / 1000.0);
            if (exact_ms == UINT64_MAX)
                printf ("%12s %10s %12.1f\n", "never", "-", fingers);
            else
                printf ("%12.1f %10.1f %12.1f\n", exact_ms / 1000.0, (double) exact_ms / opt->stabilize_ms,
                        fingers);
        }
        json_t *row = json_object ();
        json_object_set_new (row, "nodes", s_json_u64 (n));
        json_object_set_new (row, "joins", s_json_u64 (ks[i]));
        json_object_set_new (row, "active_ms",
                             active_ms == UINT64_MAX ? json_null () : s_json_u64 (active_ms));
        json_object_set_new (row, "exact_ms", exact_ms == UINT64_MAX ? json_null () : s_json_u64 (exact_ms));
        json_object_set_new (row, "rounds",
                             exact_ms == UINT64_MAX ? json_null ()
                                                    : json_real ((double) exact_ms / opt->stabilize_ms));
        s_table_row (table, row);
        simnet_destroy (&net);
        fflush (stdout);
    }
    s_table_end (table, "convergence", NULL);
    return rc;
}

/* The simulator's own speed. */
static int s_scenario_speed (const s_options_t *opt, s_table_t *table)
{
    size_t n = opt->nodes ? opt->nodes : 10000;
    size_t lookups = opt->lookups ? opt->lookups : 100000;
    if (!table->rows) {
        printf ("The simulator's speed on this machine: %zu peers, %zu lookups, stabilize %u ms, r = %zu;\n"
                "seed %llu. Wall time from clock_gettime in chord-sim's main; the simulation itself never "
                "reads a clock.\n\n",
                n, lookups, opt->stabilize_ms, opt->successors, (unsigned long long) opt->seed);
        printf ("%-8s %12s %12s %12s %14s %12s %10s %14s\n", "build", "build wall", "build virt", "lookups",
                "lookups wall", "total wall", "failures", "events/s wall");
    }
    int rc = 0;
    for (int join = 0; join < 2; join++) {
        s_options_t local = *opt;
        local.build_join = join;
        simnet_t *net = s_net_new (&local, local.stabilize_ms, local.successors);
        s_sim_t sim;
        s_result_t result;
        s_sim_init (&sim, &local, &result, net);
        sim.phase = S_PHASE_BUILD;
        double t0 = s_wall_s ();
        int built = join ? s_build_join (&sim, n) : simnet_build_ring (net, n);
        double t1 = s_wall_s ();
        uint64_t build_ms = simnet_now (net);
        sim.phase = S_PHASE_MEASURE;
        if (built == 0)
            s_measure_lookups (&sim, &result.after, lookups, NULL);
        double t2 = s_wall_s ();
        uint64_t failures = s_failures (&result.after);
        const simnet_stats_t *stats = simnet_stats (net);
        rc |= built != 0 || failures ? -1 : 0;
        if (!table->rows) {
            printf ("%-8s %11.1fs %11.1fs %12zu %13.1fs %11.1fs %10llu %14.0f\n", join ? "joins" : "direct",
                    t1 - t0, build_ms / 1000.0, lookups, t2 - t1, t2 - t0, (unsigned long long) failures,
                    stats->events / (t2 - t0));
            if (built != 0)
                printf ("  build failed: %s\n", result.what);
        }
        json_t *row = json_object ();
        json_object_set_new (row, "build", json_string (join ? "join" : "direct"));
        json_object_set_new (row, "nodes", s_json_u64 (n));
        json_object_set_new (row, "build_wall_s", json_real (t1 - t0));
        json_object_set_new (row, "build_virtual_s", json_real (build_ms / 1000.0));
        json_object_set_new (row, "lookups", s_json_u64 (lookups));
        json_object_set_new (row, "lookups_wall_s", json_real (t2 - t1));
        json_object_set_new (row, "total_wall_s", json_real (t2 - t0));
        json_object_set_new (row, "lookup_failures", s_json_u64 (failures));
        json_object_set_new (row, "events", s_json_u64 (stats->events));
        s_table_row (table, row);
        free (result.after.hops);
        simnet_destroy (&net);
        fflush (stdout);
    }
    s_table_end (table, "speed", NULL);
    return rc;
}

/* The replication counters of the live nodes, summed. */
static void s_replication_stats (simnet_t *net, chord_node_stats_t *sum)
{
    memset (sum, 0, sizeof *sum);
    for (size_t i = 0; i < simnet_node_count (net); i++) {
        chord_node_t *node = simnet_node (net, i);
        if (!node)
            continue;
        const chord_node_stats_t *stats = chord_node_stats (node);
        sum->replica_items_kept += stats->replica_items_kept;
        sum->writes_no_quorum += stats->writes_no_quorum;
        sum->read_repairs += stats->read_repairs;
        sum->sync_rounds += stats->sync_rounds;
        sum->sync_items_sent += stats->sync_items_sent;
    }
}

/*  Acknowledged writes through churn (simdurable): none may be lost, and
    after each crash every key it held must regain R copies.  */
static int s_scenario_durability (const s_options_t *opt, s_table_t *table)
{
    double t0 = s_wall_s ();
    s_options_t local = *opt;
    local.nodes = opt->nodes ? opt->nodes : 500;
    local.replicas = opt->replicas ? opt->replicas : 3;
    if (!opt->successors_given && local.successors < local.replicas)
        local.successors = local.replicas;
    uint32_t sync_ms = opt->sync_ms ? opt->sync_ms : 4 * opt->stabilize_ms;
    simdurable_config_t config = {
        .nodes = local.nodes,
        .replicas = local.replicas,
        .churn_events = opt->churn_events,
        .run_ms = (uint64_t) ((opt->duration_given ? opt->duration_s : (double) opt->churn_events) * 1000),
        .quiet_ms = (uint64_t) ((opt->quiet_given ? opt->quiet_s : 30) * 1000),
        .write_rate = opt->write_rate,
        .leave_fraction = opt->leave_given ? opt->leave_fraction : 0.3,
        .restart_fraction = 0.5,
        .loss = opt->loss,
        .dup = opt->dup,
        .repair_window_ms =
            opt->repair_window_s > 0 ? (uint64_t) (opt->repair_window_s * 1000) : 5 * (uint64_t) sync_ms,
        .check_ms = opt->check_ms > 0 ? (uint64_t) opt->check_ms : opt->stabilize_ms,
        .tmo_ms = opt->tmo_ms,
        .join_seeds = opt->join_seeds,
        .seed = opt->seed,
        .describe_lost = 5,
        .report = stderr,
    };
    simnet_config_t net_config;
    s_net_config (&local, local.stabilize_ms, local.successors, &net_config);
    net_config.keep_crashed_stores = true;
    simnet_t *net = s_net_from (&local, &net_config);
    if (!net) {
        s_error ("cannot create the network (--successors %zu, --replicas %zu)", local.successors,
                 local.replicas);
        return -1;
    }
    s_sim_t sim;
    s_result_t build;
    s_sim_init (&sim, &local, &build, net);
    sim.phase = S_PHASE_BUILD;
    int rc = local.build_join ? s_build_join (&sim, local.nodes) : simnet_build_ring (net, local.nodes);
    uint64_t build_ms = simnet_now (net);
    simdurable_result_t result;
    memset (&result, 0, sizeof result);
    if (rc != 0)
        s_error ("cannot build the ring: %s", build.violated ? build.what : "out of memory");
    else if ((rc = simdurable_run (net, &config, &result)) != 0)
        s_error ("the durability run failed (out of memory?)");
    chord_node_stats_t replication;
    s_replication_stats (net, &replication);
    const simnet_stats_t *stats = simnet_stats (net);
    char trace[17];
    snprintf (trace, sizeof trace, "%016llx", (unsigned long long) simnet_trace_hash (net));
    double wall_s = s_wall_s () - t0;
    char what[512] = "";
    if (rc == 0 && result.lost)
        snprintf (what, sizeof what,
                  "%llu of %llu keys lost their last acknowledged write: %llu not found, %llu another value, "
                  "%llu unanswered",
                  (unsigned long long) result.lost, (unsigned long long) result.keys_acked,
                  (unsigned long long) result.lost_missing, (unsigned long long) result.lost_stale,
                  (unsigned long long) result.lost_unanswered);
    else if (rc == 0 && !result.ring_exact)
        snprintf (what, sizeof what, "the ring is not exact after the quiet period: %s", result.ring_why);
    bool failed = rc != 0 || what[0];
    double repair_s[4] = {result.repair_mean_ms / 1000, result.repair_p50_ms / 1000.0,
                          result.repair_p90_ms / 1000.0, result.repair_max_ms / 1000.0};
    if (table->rows) {
        json_t *root = json_object ();
        json_object_set_new (root, "scenario", json_string ("durability"));
        json_object_set_new (root, "seed", s_json_u64 (opt->seed));
        json_object_set_new (root, "nodes", s_json_u64 (local.nodes));
        json_object_set_new (root, "build", json_string (local.build_join ? "join" : "direct"));
        json_object_set_new (root, "replicas", s_json_u64 (local.replicas));
        json_object_set_new (root, "write_quorum", s_json_u64 (local.write_quorum));
        json_object_set_new (root, "sync_ms", s_json_u64 (sync_ms));
        json_object_set_new (root, "successors", s_json_u64 (local.successors));
        json_object_set_new (root, "ok", json_boolean (!failed));
        json_object_set_new (root, "churn_events", s_json_u64 (config.churn_events));
        json_object_set_new (root, "crashes", s_json_u64 (result.crashes));
        json_object_set_new (root, "leaves", s_json_u64 (result.leaves));
        json_object_set_new (root, "joins", s_json_u64 (result.joins));
        json_object_set_new (root, "restarts", s_json_u64 (result.restarts));
        json_object_set_new (root, "departures_refused", s_json_u64 (result.refused_departures));
        json_object_set_new (root, "writes", s_json_u64 (result.writes));
        json_object_set_new (root, "writes_acked", s_json_u64 (result.writes_acked));
        json_object_set_new (root, "writes_maybe", s_json_u64 (result.writes_maybe));
        json_object_set_new (root, "keys", s_json_u64 (result.keys));
        json_object_set_new (root, "keys_acked", s_json_u64 (result.keys_acked));
        json_object_set_new (root, "reads_right", s_json_u64 (result.reads_right));
        json_object_set_new (root, "writes_lost", s_json_u64 (result.lost));
        json_object_set_new (root, "lost_not_found", s_json_u64 (result.lost_missing));
        json_object_set_new (root, "lost_other_value", s_json_u64 (result.lost_stale));
        json_object_set_new (root, "lost_unanswered", s_json_u64 (result.lost_unanswered));
        json_object_set_new (root, "keys_under_replicated", s_json_u64 (result.under_replicated));
        json_object_set_new (root, "copies_missing", s_json_u64 (result.copies_missing));
        json_object_set_new (root, "copies_extra", s_json_u64 (result.copies_extra));
        json_object_set_new (root, "crashes_measured", s_json_u64 (result.crashes_measured));
        json_object_set_new (root, "crashes_repaired", s_json_u64 (result.crashes_repaired));
        static const char *repair_names[] = {"repair_mean_s", "repair_p50_s", "repair_p90_s", "repair_max_s"};
        for (size_t i = 0; i < 4; i++)
            json_object_set_new (root, repair_names[i],
                                 result.crashes_repaired ? json_real (repair_s[i]) : json_null ());
        json_object_set_new (root, "ring_exact", json_boolean (result.ring_exact));
        json_object_set_new (root, "members", s_json_u64 (result.members));
        json_object_set_new (root, "sync_rounds", s_json_u64 (replication.sync_rounds));
        json_object_set_new (root, "sync_items_sent", s_json_u64 (replication.sync_items_sent));
        json_object_set_new (root, "replica_items_kept", s_json_u64 (replication.replica_items_kept));
        json_object_set_new (root, "read_repairs", s_json_u64 (replication.read_repairs));
        json_object_set_new (root, "writes_no_quorum", s_json_u64 (replication.writes_no_quorum));
        json_object_set_new (root, "trace_hash", json_string (trace));
        json_object_set_new (root, "events", s_json_u64 (stats->events));
        json_object_set_new (root, "messages", s_json_u64 (stats->sent));
        json_object_set_new (root, "build_ms", s_json_u64 (build_ms));
        json_object_set_new (root, "sim_ms", s_json_u64 (simnet_now (net)));
        json_object_set_new (root, "wall_s", json_real (wall_s));
        if (failed) {
            json_t *violation = json_object ();
            json_object_set_new (violation, "what", json_string (what[0] ? what : "the run failed"));
            json_object_set_new (violation, "at_ms", s_json_u64 (simnet_now (net)));
            json_object_set_new (violation, "phase", json_string (s_phase_names[S_PHASE_MEASURE]));
            json_object_set_new (violation, "replay", json_string (opt->replay));
            json_object_set_new (root, "violation", violation);
        } else
            json_object_set_new (root, "violation", json_null ());
        char *text = json_dumps (root, JSON_PRESERVE_ORDER | JSON_REAL_PRECISION (6));
        if (text)
            puts (text);
        free (text);
        json_decref (root);
        json_decref (table->rows);
        table->rows = NULL;
    } else {
        char quorum[32] = "a majority";
        if (local.write_quorum)
            snprintf (quorum, sizeof quorum, "%zu", local.write_quorum);
        printf ("Durability: %zu peers built by %s, R = %zu copies, write quorum %s, anti-entropy\n"
                "every %u ms, stabilize %u ms, r = %zu; seed %llu. %zu churn events over %.0f s (silent\n"
                "crashes, graceful leaves (%.0f%% of departures), joins of fresh peers, restarts of crashed\n"
                "peers on their old store), %.0f puts/s (new keys and overwrites, one at a time per key),\n"
                "then %.0f s quiet; then every key with an acknowledged put is read back from a random\n"
                "member. Churn rule: no more than R - 1 of any R consecutive ring positions departed\n"
                "within %.1f s. Copies: those on the owner and the next R - 1 members, read from their\n"
                "stores.\n\n",
                local.nodes, local.build_join ? "joins" : "direct start", local.replicas,
                quorum, sync_ms, local.stabilize_ms, local.successors,
                (unsigned long long) opt->seed, config.churn_events, config.run_ms / 1000.0,
                100 * config.leave_fraction, config.write_rate, config.quiet_ms / 1000.0,
                config.repair_window_ms / 1000.0);
        printf ("churn     %llu crashes, %llu leaves, %llu joins, %llu restarts; %llu departures refused by "
                "the rule\n",
                (unsigned long long) result.crashes, (unsigned long long) result.leaves,
                (unsigned long long) result.joins, (unsigned long long) result.restarts,
                (unsigned long long) result.refused_departures);
        printf ("writes    %llu puts: %llu acknowledged, %llu maybe (refused or no answer); %llu keys, %llu "
                "with an acknowledged put\n",
                (unsigned long long) result.writes, (unsigned long long) result.writes_acked,
                (unsigned long long) result.writes_maybe, (unsigned long long) result.keys,
                (unsigned long long) result.keys_acked);
        printf ("reads     %llu right, %llu LOST (%llu not found, %llu another value, %llu unanswered)\n",
                (unsigned long long) result.reads_right, (unsigned long long) result.lost,
                (unsigned long long) result.lost_missing, (unsigned long long) result.lost_stale,
                (unsigned long long) result.lost_unanswered);
        printf ("copies    at the end %llu of %llu keys have fewer than %zu copies of their latest version "
                "(%llu copies short); %llu copies outside replica sets\n",
                (unsigned long long) result.under_replicated, (unsigned long long) result.keys_acked,
                local.replicas, (unsigned long long) result.copies_missing,
                (unsigned long long) result.copies_extra);
        printf ("repair    %llu crashes held acknowledged keys; %llu saw each key regain %zu copies",
                (unsigned long long) result.crashes_measured, (unsigned long long) result.crashes_repaired,
                local.replicas);
        if (result.crashes_repaired)
            printf (": mean %.1f s, p50 %.1f s, p90 %.1f s, max %.1f s", repair_s[0], repair_s[1],
                    repair_s[2], repair_s[3]);
        printf ("\n");
        printf ("protocol  %llu sync rounds, %llu records shipped by sync, %llu replica items kept,\n"
                "          %llu read repairs, %llu writes short of quorum (live peers' counters)\n",
                (unsigned long long) replication.sync_rounds,
                (unsigned long long) replication.sync_items_sent,
                (unsigned long long) replication.replica_items_kept,
                (unsigned long long) replication.read_repairs,
                (unsigned long long) replication.writes_no_quorum);
        printf ("ring      %s after the quiet period, %zu members%s%s\n",
                result.ring_exact ? "exact" : "NOT exact", result.members, result.ring_exact ? "" : ": ",
                result.ring_exact ? "" : result.ring_why);
        printf ("trace     %s (%llu events, %llu messages, %.1f s virtual)\n", trace,
                (unsigned long long) stats->events, (unsigned long long) stats->sent,
                simnet_now (net) / 1000.0);
    }
    fflush (stdout);
    if (failed) {
        fprintf (stderr, "chord-sim: DURABILITY FAILED, seed %llu: %s\n", (unsigned long long) opt->seed,
                 what[0] ? what : "the run failed");
        fprintf (stderr, "chord-sim: replay with: %s\n", opt->replay);
    }
    free (build.after.hops);
    simnet_destroy (&net);
    return failed ? -1 : 0;
}

/* ------------------------------------------------------------- options */

static const char *s_usage_text =
    "usage: chord-sim [options]\n"
    "       chord-sim --scenario NAME [options]\n"
    "\n"
    "Runs N Chord nodes (the real protocol/ state machine) on a simulated network\n"
    "with a virtual clock, deterministically: the same seed and options give the\n"
    "same run, and the same trace hash. A run builds a ring, runs a phase with the\n"
    "faults asked for, then a quiet period (no churn, no loss, partition healed),\n"
    "after which the ring must be exact and every lookup must name successor(key).\n"
    "\n"
    "Ring\n"
    "  --nodes N             peers (default 64)\n"
    "  --seed S              the seed of every random choice (default 1)\n"
    "  --build direct|join   direct: start every peer at once with exact tables, as\n"
    "                        the Chord paper's simulator did (default); join: peers\n"
    "                        join through random members in doubling waves (1, 1,\n"
    "                        2, 4, ...), each wave once the last is active, then the\n"
    "                        ring must become exact\n"
    "  --successors R        successor list length r, 1..16 (default 3)\n"
    "  --join-seeds K        a joiner gets K random members as seeds, as chordd\n"
    "                        takes several --join (1..8, default 3)\n"
    "  --stabilize-ms MS     maintenance interval (default 500)\n"
    "  --rpc-timeout-ms MS   a peer silent this long is suspect (default 1000)\n"
    "  --owner-cache N       owner arcs each node remembers for puts and gets; 0 is\n"
    "                        plain Chord (default 0; lookups never use it)\n"
    "  --gateways G          puts and gets enter through G fixed members spread over\n"
    "                        the ring, as a deployment's clients do (default 0: any)\n"
    "  --replicas R          copies of each key, 1..8 (default 1; durability: 3)\n"
    "  --write-quorum Q      copies that must hold a put before it is acknowledged\n"
    "                        (default 0: a majority of R)\n"
    "  --sync-ms MS          anti-entropy interval (default 0: 4 stabilize intervals)\n"
    "Network\n"
    "  --latency-ms MEAN     mean one-way latency (default 10)\n"
    "  --latency-dist D      constant, uniform (on [mean/5, 9 mean/5]) or\n"
    "                        exponential (mean/5 + exponential; default uniform)\n"
    "  --loss P              probability a message is lost (default 0)\n"
    "  --dup P               probability a message arrives twice (default 0)\n"
    "Run phase (all of it starts after the build)\n"
    "  --duration-s S        its length (default 60 when any fault or churn is\n"
    "                        asked for, else 0)\n"
    "  --churn-rate R        Poisson churn: R events per stabilize period, each a\n"
    "                        join (through random members) or a departure, evenly\n"
    "  --session-median-s M  session churn: each peer departs after an exponential\n"
    "                        time with median M and a newcomer joins in its place\n"
    "  --leave-fraction F    share of departures that are graceful leaves; the\n"
    "                        rest are silent crashes (default 0)\n"
    "  --fail-fraction P     crash this share of the peers at once at the start\n"
    "  --partition           split the ring in two halves (by id) for the middle\n"
    "                        --partition-s seconds (default half the run), then heal\n"
    "  --lookup-rate L       lookups per second during the run, Poisson (default 1)\n"
    "  --check-ms MS         check the ring invariants this often (default: the\n"
    "                        stabilize interval; 0: only after the quiet period)\n"
    "  --strict              during the run, fail on Zave's OrderedAppendages too\n"
    "Afterwards\n"
    "  --quiet-s S           quiet period before the exact checks (default 30)\n"
    "  --lookups L           lookups of random keys from random peers, all checked\n"
    "                        against successor(key) (default 1000)\n"
    "  --keys K              keys put before the run phase and read back at the end\n"
    "                        (default 0)\n"
    "  --tmo-ms MS           timeout every client request carries (default 5000)\n"
    "Output\n"
    "  --json                one JSON object: nodes, lookups, lookup_failures,\n"
    "                        hops_mean, hops_p50, hops_p99, trace_hash, ...\n"
    "  --log LEVEL           print the nodes' log lines (error, warn, info, debug)\n"
    "  --log-node I          only node I's\n"
    "  --trace-node I        print every message delivered to or from node I\n"
    "Durability (--scenario durability; also --nodes, default 500, --build,\n"
    "--replicas, --leave-fraction, default 0.3, --duration-s, --quiet-s, --loss,\n"
    "--dup, --tmo-ms, and --check-ms, how often copies are counted)\n"
    "  --churn-events E      churn events spread evenly over the run (default 1000):\n"
    "                        departures (crashes and graceful leaves) and arrivals\n"
    "                        (fresh joins, or half the time restarts of crashed\n"
    "                        peers on their old stores), keeping the population\n"
    "                        within 10% of --nodes; the run lasts --duration-s\n"
    "                        (default 1 s per event)\n"
    "  --write-rate W        puts per second during the run, Poisson (default 20)\n"
    "  --repair-window-s S   a departure may not leave more than R - 1 of any R\n"
    "                        consecutive ring positions departed within S seconds\n"
    "                        (default 5 anti-entropy intervals)\n"
    "  -h, --help            this text\n"
    "\n"
    "Invariants. Outside a partition, at every check: each member's successor list\n"
    "is ordered and holds a member; the best successors (first member in each list)\n"
    "form exactly one ring, which every member reaches and which goes round the id\n"
    "space once (Zave). With --strict, also: a member off the ring and its best\n"
    "successor have no ring member between them (Zave's OrderedAppendages; counted\n"
    "either way). These pause while a partition lasts (two rings are expected)\n"
    "and until 4 suspicion periods plus 10 stabilize intervals after it heals\n"
    "(13 s by default). After the quiet period: all of these,\n"
    "every peer is a member, each successor, predecessor and successor list is\n"
    "exactly right, and\n"
    "every lookup names successor(key). A violation prints the seed, the time and\n"
    "what broke, and the exit status is 1.\n"
    "\n"
    "Lookups during the run: one fails without retries when the first answer is not\n"
    "successor(key) among the live peers when it arrives, or none comes within\n"
    "--tmo-ms (within which the node itself routes around silent peers). With\n"
    "retries the client asks again from another peer 1 s later, up to 3 times.\n"
    "\n"
    "Scenarios (tables of issue 3, each beside the Chord paper's figure; --quick\n"
    "for smaller ones; --nodes, --lookups, --keys, --stabilize-ms, --successors\n"
    "and --duration-s override their sizes):\n"
    "  pathlen      hops for N = 2^6 .. 2^14, exact tables\n"
    "  loadbalance  keys per peer, 10^4 peers, 10^6 keys, V = 1..20 virtual nodes\n"
    "  movement     keys moved by a join and a leave, against K/N\n"
    "  failures     1,000 peers, 0-50% crash at once, lookups before repair\n"
    "  churn        500 peers, Poisson churn, lookups once a second\n"
    "  traffic      maintenance bytes/s per peer at 1,000 peers\n"
    "  convergence  K concurrent joins: time and rounds to an exact ring\n"
    "  speed        wall time for 10,000 peers and 100,000 lookups\n"
    "  durability   500 peers, 1,000 churn events, puts throughout: no acknowledged\n"
    "               write may be lost (exit 1 otherwise), and the time for the keys\n"
    "               of each crashed peer to regain R copies\n"
    "\n"
    "Exit status: 0 all held; 1 an invariant or a lookup failed, or a write was lost;\n"
    "2 bad options.\n";

static int s_parse_number (const char *option, const char *text, double min, double max, double *out)
{
    char *end;
    errno = 0;
    double value = strtod (text, &end);
    if (errno || end == text || *end || !(value >= min && value <= max)) {
        s_error ("%s needs a number from %g to %g, not '%s'", option, min, max, text);
        return -1;
    }
    *out = value;
    return 0;
}

static int s_parse_uint (const char *option, const char *text, double min, double max, uint64_t *out)
{
    double value;
    if (s_parse_number (option, text, min, max, &value) != 0)
        return -1;
    if (value != (double) (uint64_t) value) {
        s_error ("%s needs a whole number, not '%s'", option, text);
        return -1;
    }
    *out = (uint64_t) value;
    return 0;
}

enum {
    OPT_NODES = 256,
    OPT_SEED,
    OPT_LOOKUPS,
    OPT_KEYS,
    OPT_BUILD,
    OPT_CHURN,
    OPT_SESSION,
    OPT_LEAVES,
    OPT_FAIL,
    OPT_LOSS,
    OPT_DUP,
    OPT_LATENCY,
    OPT_LATENCY_DIST,
    OPT_PARTITION,
    OPT_PARTITION_S,
    OPT_STABILIZE,
    OPT_SUCCESSORS,
    OPT_RPC_TIMEOUT,
    OPT_OWNER_CACHE,
    OPT_GATEWAYS,
    OPT_QUIET,
    OPT_DURATION,
    OPT_LOOKUP_RATE,
    OPT_CHECK,
    OPT_TMO,
    OPT_JSON,
    OPT_SCENARIO,
    OPT_QUICK,
    OPT_STRICT,
    OPT_JOIN_SEEDS,
    OPT_LOG,
    OPT_LOG_NODE,
    OPT_TRACE_NODE,
    OPT_REPLICAS,
    OPT_WRITE_QUORUM,
    OPT_SYNC,
    OPT_CHURN_EVENTS,
    OPT_WRITE_RATE,
    OPT_REPAIR_WINDOW,
};

/* Returns 0, 1 for --help (printed), or -1 after an error message. */
static int s_options_parse (s_options_t *opt, int argc, char **argv)
{
    memset (opt, 0, sizeof *opt);
    opt->nodes = 64;
    opt->seed = 1;
    opt->lookups = 1000;
    opt->latency_ms = 10;
    opt->latency_dist = SIMNET_LATENCY_UNIFORM;
    opt->stabilize_ms = 500;
    opt->rpc_timeout_ms = 1000;
    opt->successors = 3;
    opt->quiet_s = 30;
    opt->duration_s = -1;
    opt->lookup_rate = 1;
    opt->check_ms = -1;
    opt->tmo_ms = 5000;
    opt->log_level = -1;
    opt->log_node = SIMNET_NONE;
    opt->join_seeds = 3;
    opt->trace_node = SIMNET_NONE;
    opt->churn_events = 1000;
    opt->write_rate = 20;
    bool nodes_given = false, lookups_given = false;
    static const struct option longs[] = {
        {"nodes", required_argument, NULL, OPT_NODES},
        {"seed", required_argument, NULL, OPT_SEED},
        {"lookups", required_argument, NULL, OPT_LOOKUPS},
        {"keys", required_argument, NULL, OPT_KEYS},
        {"build", required_argument, NULL, OPT_BUILD},
        {"churn-rate", required_argument, NULL, OPT_CHURN},
        {"session-median-s", required_argument, NULL, OPT_SESSION},
        {"leave-fraction", required_argument, NULL, OPT_LEAVES},
        {"fail-fraction", required_argument, NULL, OPT_FAIL},
        {"loss", required_argument, NULL, OPT_LOSS},
        {"dup", required_argument, NULL, OPT_DUP},
        {"latency-ms", required_argument, NULL, OPT_LATENCY},
        {"latency-dist", required_argument, NULL, OPT_LATENCY_DIST},
        {"partition", no_argument, NULL, OPT_PARTITION},
        {"partition-s", required_argument, NULL, OPT_PARTITION_S},
        {"stabilize-ms", required_argument, NULL, OPT_STABILIZE},
        {"successors", required_argument, NULL, OPT_SUCCESSORS},
        {"rpc-timeout-ms", required_argument, NULL, OPT_RPC_TIMEOUT},
        {"owner-cache", required_argument, NULL, OPT_OWNER_CACHE},
        {"gateways", required_argument, NULL, OPT_GATEWAYS},
        {"quiet-s", required_argument, NULL, OPT_QUIET},
        {"duration-s", required_argument, NULL, OPT_DURATION},
        {"lookup-rate", required_argument, NULL, OPT_LOOKUP_RATE},
        {"check-ms", required_argument, NULL, OPT_CHECK},
        {"tmo-ms", required_argument, NULL, OPT_TMO},
        {"json", no_argument, NULL, OPT_JSON},
        {"scenario", required_argument, NULL, OPT_SCENARIO},
        {"quick", no_argument, NULL, OPT_QUICK},
        {"strict", no_argument, NULL, OPT_STRICT},
        {"join-seeds", required_argument, NULL, OPT_JOIN_SEEDS},
        {"log", required_argument, NULL, OPT_LOG},
        {"log-node", required_argument, NULL, OPT_LOG_NODE},
        {"trace-node", required_argument, NULL, OPT_TRACE_NODE},
        {"replicas", required_argument, NULL, OPT_REPLICAS},
        {"write-quorum", required_argument, NULL, OPT_WRITE_QUORUM},
        {"sync-ms", required_argument, NULL, OPT_SYNC},
        {"churn-events", required_argument, NULL, OPT_CHURN_EVENTS},
        {"write-rate", required_argument, NULL, OPT_WRITE_RATE},
        {"repair-window-s", required_argument, NULL, OPT_REPAIR_WINDOW},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    opterr = 0;
    optind = 1;
    int c;
    uint64_t u;
    while ((c = getopt_long (argc, argv, "h", longs, NULL)) != -1) {
        int rc = 0;
        switch (c) {
        case 'h':
            fputs (s_usage_text, stdout);
            return 1;
        case OPT_NODES:
            rc = s_parse_uint ("--nodes", optarg, 1, S_NODES_MAX, &u);
            opt->nodes = (size_t) u;
            nodes_given = true;
            break;
        case OPT_SEED:
            rc = s_parse_uint ("--seed", optarg, 0, 18446744073709549568.0, &u);
            opt->seed = u;
            break;
        case OPT_LOOKUPS:
            rc = s_parse_uint ("--lookups", optarg, 0, S_LOOKUPS_MAX, &u);
            opt->lookups = (size_t) u;
            lookups_given = true;
            break;
        case OPT_KEYS:
            rc = s_parse_uint ("--keys", optarg, 0, S_KEYS_MAX, &u);
            opt->keys = (size_t) u;
            break;
        case OPT_BUILD:
            if (strcmp (optarg, "join") == 0)
                opt->build_join = true;
            else if (strcmp (optarg, "direct") == 0)
                opt->build_join = false;
            else {
                s_error ("--build is direct or join, not '%s'", optarg);
                rc = -1;
            }
            break;
        case OPT_CHURN:
            rc = s_parse_number ("--churn-rate", optarg, 0, 1000, &opt->churn_rate);
            break;
        case OPT_SESSION:
            rc = s_parse_number ("--session-median-s", optarg, 0.001, S_SECONDS_MAX, &opt->session_median_s);
            break;
        case OPT_LEAVES:
            rc = s_parse_number ("--leave-fraction", optarg, 0, 1, &opt->leave_fraction);
            opt->leave_given = true;
            break;
        case OPT_FAIL:
            rc = s_parse_number ("--fail-fraction", optarg, 0, 1, &opt->fail_fraction);
            break;
        case OPT_LOSS:
            rc = s_parse_number ("--loss", optarg, 0, 1, &opt->loss);
            break;
        case OPT_DUP:
            rc = s_parse_number ("--dup", optarg, 0, 1, &opt->dup);
            break;
        case OPT_LATENCY:
            rc = s_parse_number ("--latency-ms", optarg, 0, 60000, &opt->latency_ms);
            break;
        case OPT_LATENCY_DIST:
            if (strcmp (optarg, "constant") == 0)
                opt->latency_dist = SIMNET_LATENCY_CONSTANT;
            else if (strcmp (optarg, "uniform") == 0)
                opt->latency_dist = SIMNET_LATENCY_UNIFORM;
            else if (strcmp (optarg, "exponential") == 0)
                opt->latency_dist = SIMNET_LATENCY_EXPONENTIAL;
            else {
                s_error ("--latency-dist is constant, uniform or exponential, not '%s'", optarg);
                rc = -1;
            }
            break;
        case OPT_PARTITION:
            opt->partition = true;
            break;
        case OPT_PARTITION_S:
            rc = s_parse_number ("--partition-s", optarg, 0, S_SECONDS_MAX, &opt->partition_s);
            break;
        case OPT_STABILIZE:
            rc = s_parse_uint ("--stabilize-ms", optarg, 10, 3600000, &u);
            opt->stabilize_ms = (uint32_t) u;
            opt->stabilize_given = true;
            break;
        case OPT_SUCCESSORS:
            rc = s_parse_uint ("--successors", optarg, 1, CHORD_SUCCESSORS_MAX, &u);
            opt->successors = (size_t) u;
            opt->successors_given = true;
            break;
        case OPT_RPC_TIMEOUT:
            rc = s_parse_uint ("--rpc-timeout-ms", optarg, 1, 3600000, &u);
            opt->rpc_timeout_ms = (uint32_t) u;
            break;
        case OPT_GATEWAYS:
            rc = s_parse_uint ("--gateways", optarg, 0, 1000000, &u);
            opt->gateways = (size_t) u;
            break;
        case OPT_OWNER_CACHE:
            rc = s_parse_uint ("--owner-cache", optarg, 0, 1000000, &u);
            opt->owner_cache = (size_t) u;
            break;
        case OPT_QUIET:
            rc = s_parse_number ("--quiet-s", optarg, 0, S_SECONDS_MAX, &opt->quiet_s);
            opt->quiet_given = true;
            break;
        case OPT_DURATION:
            rc = s_parse_number ("--duration-s", optarg, 0, S_SECONDS_MAX, &opt->duration_s);
            opt->duration_given = true;
            break;
        case OPT_LOOKUP_RATE:
            rc = s_parse_number ("--lookup-rate", optarg, 0, 1000000, &opt->lookup_rate);
            break;
        case OPT_CHECK:
            rc = s_parse_uint ("--check-ms", optarg, 0, 3600000, &u);
            opt->check_ms = (long) u;
            break;
        case OPT_TMO:
            rc = s_parse_uint ("--tmo-ms", optarg, 1, 600000, &u);
            opt->tmo_ms = (uint32_t) u;
            break;
        case OPT_JSON:
            opt->json = true;
            break;
        case OPT_SCENARIO:
            opt->scenario = optarg;
            break;
        case OPT_QUICK:
            opt->quick = true;
            break;
        case OPT_STRICT:
            opt->strict = true;
            break;
        case OPT_JOIN_SEEDS:
            rc = s_parse_uint ("--join-seeds", optarg, 1, 8, &u);
            opt->join_seeds = (size_t) u;
            break;
        case OPT_LOG:
            opt->log_level = strcmp (optarg, "error") == 0   ? CHORD_LOG_ERROR
                             : strcmp (optarg, "warn") == 0  ? CHORD_LOG_WARN
                             : strcmp (optarg, "info") == 0  ? CHORD_LOG_INFO
                             : strcmp (optarg, "debug") == 0 ? CHORD_LOG_DEBUG
                                                             : -2;
            if (opt->log_level == -2) {
                s_error ("--log is error, warn, info or debug, not '%s'", optarg);
                rc = -1;
            }
            break;
        case OPT_LOG_NODE:
            rc = s_parse_uint ("--log-node", optarg, 0, S_NODES_MAX, &u);
            opt->log_node = (size_t) u;
            break;
        case OPT_TRACE_NODE:
            rc = s_parse_uint ("--trace-node", optarg, 0, S_NODES_MAX, &u);
            opt->trace_node = (size_t) u;
            break;
        case OPT_REPLICAS:
            rc = s_parse_uint ("--replicas", optarg, 1, CHORD_REPLICAS_MAX, &u);
            opt->replicas = (size_t) u;
            break;
        case OPT_WRITE_QUORUM:
            rc = s_parse_uint ("--write-quorum", optarg, 0, CHORD_REPLICAS_MAX, &u);
            opt->write_quorum = (size_t) u;
            break;
        case OPT_SYNC:
            rc = s_parse_uint ("--sync-ms", optarg, 0, 3600000, &u);
            opt->sync_ms = (uint32_t) u;
            break;
        case OPT_CHURN_EVENTS:
            rc = s_parse_uint ("--churn-events", optarg, 0, S_LOOKUPS_MAX, &u);
            opt->churn_events = (size_t) u;
            break;
        case OPT_WRITE_RATE:
            rc = s_parse_number ("--write-rate", optarg, 0, 1000000, &opt->write_rate);
            break;
        case OPT_REPAIR_WINDOW:
            rc = s_parse_number ("--repair-window-s", optarg, 0, S_SECONDS_MAX, &opt->repair_window_s);
            break;
        default:
            s_error ("unknown option '%s' (try --help)", argv[optind - 1]);
            return -1;
        }
        if (rc != 0)
            return -1;
    }
    if (optind < argc) {
        s_error ("unexpected argument '%s' (try --help)", argv[optind]);
        return -1;
    }
    bool dynamic = opt->churn_rate > 0 || opt->session_median_s > 0 || opt->fail_fraction > 0 ||
                   opt->loss > 0 || opt->dup > 0 || opt->partition;
    if (opt->duration_s < 0)
        opt->duration_s = dynamic ? 60 : 0;
    if (opt->scenario) {
        /* Scenarios pick their own sizes unless told. */
        if (!nodes_given)
            opt->nodes = 0;
        if (!lookups_given)
            opt->lookups = 0;
    }
    if (opt->replicas && opt->write_quorum > opt->replicas) {
        s_error ("--write-quorum %zu is more than the copies kept (--replicas)", opt->write_quorum);
        return -1;
    }
    if (opt->partition && opt->duration_s <= 0) {
        s_error ("--partition needs a run phase (--duration-s)");
        return -1;
    }
    if (opt->rpc_timeout_ms < 2 * opt->latency_ms)
        fprintf (stderr,
                 "chord-sim: warning: --rpc-timeout-ms %u is under a round trip of the mean latency\n",
                 opt->rpc_timeout_ms);
    size_t used = 0;
    for (int i = 0; i < argc && used + 2 < sizeof opt->replay; i++)
        used +=
            (size_t) snprintf (opt->replay + used, sizeof opt->replay - used, "%s%s", i ? " " : "", argv[i]);
    return 0;
}

int main (int argc, char **argv)
{
    s_options_t opt;
    int rc = s_options_parse (&opt, argc, argv);
    if (rc != 0)
        return rc > 0 ? 0 : S_EXIT_USAGE;
    if (opt.scenario) {
        static const struct {
            const char *name;
            int (*run) (const s_options_t *, s_table_t *);
        } scenarios[] = {
            {"pathlen", s_scenario_pathlen},
            {"loadbalance", s_scenario_loadbalance},
            {"movement", s_scenario_movement},
            {"failures", s_scenario_failures},
            {"churn", s_scenario_churn},
            {"traffic", s_scenario_traffic},
            {"convergence", s_scenario_convergence},
            {"speed", s_scenario_speed},
            {"durability", s_scenario_durability},
        };
        for (size_t i = 0; i < sizeof scenarios / sizeof scenarios[0]; i++)
            if (strcmp (opt.scenario, scenarios[i].name) == 0) {
                s_table_t table = {.opt = &opt, .rows = opt.json ? json_array () : NULL};
                double t0 = s_wall_s ();
                int failed = scenarios[i].run (&opt, &table);
                if (!opt.json)
                    printf ("\n(%.1f s wall)\n", s_wall_s () - t0);
                return failed ? S_EXIT_VIOLATION : 0;
            }
        s_error ("no scenario '%s': pathlen, loadbalance, movement, failures, churn, traffic, convergence, "
                 "speed or durability",
                 opt.scenario);
        return S_EXIT_USAGE;
    }
    s_result_t result;
    memset (&result, 0, sizeof result);
    simnet_t *net = NULL;
    s_simulate (&opt, &result, &net);
    s_print_run (&opt, &result, net);
    free (result.after.hops);
    simnet_destroy (&net);
    return result.violated ? S_EXIT_VIOLATION : 0;
}
