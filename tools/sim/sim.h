/*  The chord-sim engine: the options of a run, the state of one simulated
    ring (sim_t) and its result, and the verbs scenarios build on: make a
    network, join, crash, depart, measure lookups, check the invariants,
    wait for convergence, and the whole run (sim_simulate).

    The engine owns sim_t; scenarios create a simnet_t (sim_net_new), hand
    it to sim_init with their result, and destroy it themselves. Nothing
    here reads a clock or prints, except sim_error (stderr).  */
#ifndef CHORD_SIM_H
#define CHORD_SIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "message.h"
#include "simcheck.h"
#include "simnet.h"
#include "simrng.h"
#include "simtrace.h"

#define SIM_RETRIES 3                   /* extra tries of a churn-phase lookup that failed */
#define SIM_RETRY_GAP_MS 1000           /* pause before each */
#define SIM_WAVE_LIMIT_MS 300000        /* joiners of one build wave must be active by then */
#define SIM_BUILD_LIMIT_MS 1800000      /* a join-built ring must converge by then */
#define SIM_SLICE_MS 100                /* run in slices this long while waiting for something */
#define SIM_SCENARIO_STREAM 0x5ce7a710u /* simrng_fork label of the scenario's own stream */
#define SIM_TOKEN_SHIFT 56              /* client tokens: kind << SIM_TOKEN_SHIFT | value */

/* What a client reply's token means. */
enum {
    SIM_TOKEN_MEASURE = 1, /* a lookup measured after the quiet period (value: index) */
    SIM_TOKEN_RUN = 2,     /* a lookup during the run phase (value: record << 2 | attempt) */
    SIM_TOKEN_PUT = 3,     /* storing key value */
    SIM_TOKEN_GET = 4,     /* reading key value back */
};


typedef enum {
    SIM_PHASE_BUILD,
    SIM_PHASE_KEYS,
    SIM_PHASE_RUN,
    SIM_PHASE_QUIET,
    SIM_PHASE_MEASURE,
} sim_phase_t;

/* The phases' names, by sim_phase_t. */
extern const char *const sim_phase_names[];

typedef struct {
    size_t nodes;                  /* --nodes */
    uint64_t seed;                 /* --seed */
    size_t lookups;                /* --lookups, after the quiet period */
    size_t keys;                   /* --keys put before the run, read back at the end */
    bool build_join;               /* --build join */
    double churn_rate;             /* --churn-rate: events per stabilize period */
    double session_median_s;       /* --session-median-s; 0: off */
    double leave_fraction;         /* --leave-fraction: departures that are graceful */
    uint32_t stabilize_max_ms;     /* above stabilize_ms: each node's own in [stabilize_ms, this] */
    bool trace_lookups;            /* trace run-phase lookups' RPCs (simtrace): run_first_timeouts */
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
    bool nodes_given;              /* --nodes was on the command line */
    bool lookups_given;            /* --lookups was on the command line */
    bool successors_given;         /* --successors was on the command line */
    bool stabilize_given;          /* --stabilize-ms was on the command line */
    bool quiet_given;              /* --quiet-s was on the command line */
    bool leave_given;              /* --leave-fraction was on the command line */
    bool duration_given;           /* --duration-s was on the command line */
    int log_level;                 /* --log LEVEL; -1: none */
    size_t log_node;               /* --log-node; SIMNET_NONE: all */
    size_t trace_node;             /* --trace-node; SIMNET_NONE: none */
    char replay[1024];             /* the command line, for messages */
} sim_options_t;

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
} sim_lookups_t;

typedef struct {
    uint64_t key; /* key name number */
    bool first_right;
    bool done;
} sim_run_lookup_t;

typedef struct {
    /* Outcome. */
    bool violated;
    char what[1024];
    uint64_t violation_ms;
    sim_phase_t violation_phase;
    size_t culprit; /* the node the violation names, or SIMNET_NONE */
    /* Build. */
    uint64_t build_ms; /* virtual time until built and exact */
    /* Run phase. */
    double run_s;
    uint64_t joins, crashes, leaves, failed_at_once;
    uint64_t run_lookups, run_first_wrong, run_first_unanswered, run_first_refused, run_failed_retried;
    sim_lookups_t run_first;     /* first attempts: hops of the right ones */
    uint64_t run_first_timeouts; /* unanswered FIND_SUCCs of first attempts (with trace_lookups) */
    uint64_t run_bytes, run_messages;
    uint64_t run_bytes_by_type[SIMNET_TYPES_MAX], run_messages_by_type[SIMNET_TYPES_MAX]; /* the same, by type */
    double run_node_s; /* integral of nodes up over the run */
    uint64_t partition_dropped;
    size_t disordered_checks; /* checks that saw an appendage jump over a ring member */
    /* Quiet period. */
    uint64_t converge_ms; /* into the quiet period until exact; UINT64_MAX: never */
    size_t checks;
    /* Lookups after the quiet period. */
    sim_lookups_t after;
    /* Data. */
    size_t keys_stored, keys_read, keys_missing, keys_missing_crash, keys_wrong, keys_unanswered;
    uint64_t data_ops, data_messages; /* puts and gets sent, and the messages they cost, client's included */
    /* End. */
    size_t members;
    simcheck_report_t report;
} sim_result_t;

typedef struct {
    const sim_options_t *opt;
    simnet_t *net;
    simrng_t rng; /* the scenario's choices */
    sim_result_t *result;
    sim_phase_t phase;
    size_t outstanding;     /* measured client requests not yet answered */
    sim_lookups_t *measure;   /* where S_TOKEN_MEASURE replies go */
    const bool *owner_dead; /* by measured lookup: its key's owner crashed (or NULL) */
    sim_run_lookup_t *runs;   /* run-phase lookups */
    size_t run_count;
    size_t run_alloc;
    uint8_t *key_state;        /* per key: bit 0 stored, bit 1 was in a crashed store */
    uint64_t tainted_until_ms; /* ring safety is void until then (a partition), 0: never void */
    double leave_fraction;
    simtrace_t *trace; /* with opt->trace_lookups: the run phase's lookups, owned */
} sim_t;

#define SIM_KEY_STORED 1
#define SIM_KEY_CRASHED 2

/* Mean and quantiles of the hops of right answers. */
typedef struct {
    double mean;
    uint32_t p1, p50, p99, max;
} sim_hop_stats_t;

/* ------------------------------------------------------------- helpers (sim_util.c) */

/* Prints "chord-sim: " and the message to stderr. */
void sim_error (const char *fmt, ...) __attribute__ ((format (printf, 1, 2)));
int sim_cmp_double (const void *a, const void *b);
double sim_quantile_double (const double *sorted, size_t count, double q);
void sim_key_name (char *out, size_t size, uint64_t n);
void sim_value_name (char *out, size_t size, uint64_t n);
sim_hop_stats_t sim_hop_stats (sim_lookups_t *lookups);
uint64_t sim_failures (const sim_lookups_t *lookups);
bool sim_reply_right (simnet_t *net, const simnet_reply_t *reply);
void sim_lookups_note (sim_lookups_t *lookups, simnet_t *net, const simnet_reply_t *reply);
uint64_t sim_token (unsigned kind, uint64_t value);

/* ------------------------------------------------------------- the engine (sim_engine.c) */

/* Records the run's first violation (later ones are ignored). */
void sim_violation (sim_t *sim, const char *fmt, ...) __attribute__ ((format (printf, 2, 3)));
void sim_net_config (const sim_options_t *opt, uint32_t stabilize_ms, size_t successors,
                          simnet_config_t *config);
simnet_t *sim_net_from (const sim_options_t *opt, const simnet_config_t *config);
simnet_t *sim_net_new (const sim_options_t *opt, uint32_t stabilize_ms, size_t successors);
size_t sim_random_member (sim_t *sim, bool active);
size_t sim_up_count (simnet_t *net);
size_t sim_join_one (sim_t *sim);
void sim_crash (sim_t *sim, size_t node);
void sim_on_session_end (void *arg, simnet_t *net, uint64_t token);
void sim_on_churn_event (void *arg, simnet_t *net, uint64_t token);
void sim_on_run_lookup (void *arg, simnet_t *net, uint64_t token);
void sim_on_reply (void *arg, simnet_t *net, const simnet_reply_t *reply);
void sim_measure_lookups (sim_t *sim, sim_lookups_t *into, size_t count, const uint64_t *keys);
void sim_data_ops (sim_t *sim, chord_msg_type_t type);
int sim_check (sim_t *sim, simcheck_level_t level, const char *when);
int sim_build_join (sim_t *sim, size_t count);
void sim_init (sim_t *sim, const sim_options_t *opt, sim_result_t *result, simnet_t *net);

/* ------------------------------------------------------------- the whole run (sim_run.c) */

void sim_simulate (const sim_options_t *opt, sim_result_t *result, simnet_t **net_p);

#endif
