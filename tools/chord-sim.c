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
    time, with the tools' helpers (tools/util.c).

    This file only parses the options: the engine is tools/sim/sim_*.c,
    the output tools/sim/report.c, each scenario tools/sim/scenario_*.c
    behind the table in tools/sim/scenario.c.  */
#include <getopt.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "node.h"
#include "report.h"
#include "scenario.h"
#include "sim.h"
#include "util.h"

#define S_NODES_MAX 1000000     /* --nodes cap */
#define S_LOOKUPS_MAX 100000000 /* --lookups cap */
#define S_KEYS_MAX 10000000     /* --keys cap */
#define S_SECONDS_MAX 1000000.0 /* cap on every duration option */
#define S_EXIT_VIOLATION 1
#define S_EXIT_USAGE 2

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
    "  --successors R        successor list length r, 1..20 (default 3)\n"
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
    "  table2       the Chord paper's Table II: 1,000 peers, r = 20, 10-50% fail at\n"
    "               once, no stabilization; hops and timeouts of 10,000 lookups\n"
    "  table3       the Chord paper's Table III: 1,000 peers, r = 20, stabilize\n"
    "               intervals from [15, 45] s, joins and leaves (then crashes) at\n"
    "               0.05-0.40/s, a lookup a second for --duration-s (5,000 s)\n"
    "\n"
    "Exit status: 0 all held; 1 an invariant or a lookup failed, or a write was lost;\n"
    "2 bad options.\n";

/* How an option's value is stored. */
typedef enum {
    S_FLAG,   /* no value: sets a bool */
    S_SIZE,   /* a whole number into a size_t */
    S_U64,    /* a whole number into a uint64_t */
    S_U32,    /* a whole number into a uint32_t */
    S_LONG,   /* a whole number into a long */
    S_DOUBLE, /* a number into a double */
    S_OTHER,  /* a word: s_parse_word */
} s_kind_t;

/* One option: where its value goes, its range, and what records that it was given. */
typedef struct {
    const char *name; /* without the leading -- */
    s_kind_t kind;
    size_t offset;    /* of the field in sim_options_t */
    double min, max;  /* the range of a number */
    size_t given;     /* offset of a bool set when the option is given; 0: none */
} s_option_t;

#define S_FIELD(field) offsetof (sim_options_t, field)
#define S_GIVEN(field) offsetof (sim_options_t, field)

static const s_option_t s_options[] = {
    {"nodes", S_SIZE, S_FIELD (nodes), 1, S_NODES_MAX, S_GIVEN (nodes_given)},
    {"seed", S_U64, S_FIELD (seed), 0, 18446744073709549568.0, 0},
    {"lookups", S_SIZE, S_FIELD (lookups), 0, S_LOOKUPS_MAX, S_GIVEN (lookups_given)},
    {"keys", S_SIZE, S_FIELD (keys), 0, S_KEYS_MAX, 0},
    {"build", S_OTHER, 0, 0, 0, 0},
    {"churn-rate", S_DOUBLE, S_FIELD (churn_rate), 0, 1000, 0},
    {"session-median-s", S_DOUBLE, S_FIELD (session_median_s), 0.001, S_SECONDS_MAX, 0},
    {"leave-fraction", S_DOUBLE, S_FIELD (leave_fraction), 0, 1, S_GIVEN (leave_given)},
    {"fail-fraction", S_DOUBLE, S_FIELD (fail_fraction), 0, 1, 0},
    {"loss", S_DOUBLE, S_FIELD (loss), 0, 1, 0},
    {"dup", S_DOUBLE, S_FIELD (dup), 0, 1, 0},
    {"latency-ms", S_DOUBLE, S_FIELD (latency_ms), 0, 60000, 0},
    {"latency-dist", S_OTHER, 0, 0, 0, 0},
    {"partition", S_FLAG, S_FIELD (partition), 0, 0, 0},
    {"partition-s", S_DOUBLE, S_FIELD (partition_s), 0, S_SECONDS_MAX, 0},
    {"stabilize-ms", S_U32, S_FIELD (stabilize_ms), 10, 3600000, S_GIVEN (stabilize_given)},
    {"successors", S_SIZE, S_FIELD (successors), 1, CHORD_SUCCESSORS_MAX, S_GIVEN (successors_given)},
    {"rpc-timeout-ms", S_U32, S_FIELD (rpc_timeout_ms), 1, 3600000, 0},
    {"owner-cache", S_SIZE, S_FIELD (owner_cache), 0, 1000000, 0},
    {"gateways", S_SIZE, S_FIELD (gateways), 0, 1000000, 0},
    {"quiet-s", S_DOUBLE, S_FIELD (quiet_s), 0, S_SECONDS_MAX, S_GIVEN (quiet_given)},
    {"duration-s", S_DOUBLE, S_FIELD (duration_s), 0, S_SECONDS_MAX, S_GIVEN (duration_given)},
    {"lookup-rate", S_DOUBLE, S_FIELD (lookup_rate), 0, 1000000, 0},
    {"check-ms", S_LONG, S_FIELD (check_ms), 0, 3600000, 0},
    {"tmo-ms", S_U32, S_FIELD (tmo_ms), 1, 600000, 0},
    {"json", S_FLAG, S_FIELD (json), 0, 0, 0},
    {"scenario", S_OTHER, 0, 0, 0, 0},
    {"quick", S_FLAG, S_FIELD (quick), 0, 0, 0},
    {"strict", S_FLAG, S_FIELD (strict), 0, 0, 0},
    {"join-seeds", S_SIZE, S_FIELD (join_seeds), 1, 8, 0},
    {"log", S_OTHER, 0, 0, 0, 0},
    {"log-node", S_SIZE, S_FIELD (log_node), 0, S_NODES_MAX, 0},
    {"trace-node", S_SIZE, S_FIELD (trace_node), 0, S_NODES_MAX, 0},
    {"replicas", S_SIZE, S_FIELD (replicas), 1, CHORD_REPLICAS_MAX, 0},
    {"write-quorum", S_SIZE, S_FIELD (write_quorum), 0, CHORD_REPLICAS_MAX, 0},
    {"sync-ms", S_U32, S_FIELD (sync_ms), 0, 3600000, 0},
    {"churn-events", S_SIZE, S_FIELD (churn_events), 0, S_LOOKUPS_MAX, 0},
    {"write-rate", S_DOUBLE, S_FIELD (write_rate), 0, 1000000, 0},
    {"repair-window-s", S_DOUBLE, S_FIELD (repair_window_s), 0, S_SECONDS_MAX, 0},
};
#define S_OPTION_COUNT (sizeof s_options / sizeof s_options[0])

static int s_parse_number (const char *option, const char *text, double min, double max, double *out)
{
    if (util_parse_double (text, min, max, out) != 0) {
        sim_error ("%s needs a number from %g to %g, not '%s'", option, min, max, text);
        return -1;
    }
    return 0;
}

static int s_parse_uint (const char *option, const char *text, double min, double max, uint64_t *out)
{
    double value;
    if (s_parse_number (option, text, min, max, &value) != 0)
        return -1;
    if (value != (double) (uint64_t) value) {
        sim_error ("%s needs a whole number, not '%s'", option, text);
        return -1;
    }
    *out = (uint64_t) value;
    return 0;
}

/* The index of word in words (count of them), or -1. */
static int s_word_index (const char *word, const char *const *words, int count)
{
    for (int i = 0; i < count; i++)
        if (strcmp (word, words[i]) == 0)
            return i;
    return -1;
}

/* The options whose value is a word. */
static int s_parse_word (sim_options_t *opt, const char *name, const char *text)
{
    static const char *const builds[] = {"direct", "join"};
    static const char *const dists[] = {"constant", "uniform", "exponential"};
    static const char *const levels[] = {"error", "warn", "info", "debug"};
    int i;
    if (strcmp (name, "scenario") == 0)
        opt->scenario = text;
    else if (strcmp (name, "build") == 0) {
        if ((i = s_word_index (text, builds, 2)) < 0) {
            sim_error ("--build is direct or join, not '%s'", text);
            return -1;
        }
        opt->build_join = i == 1;
    } else if (strcmp (name, "latency-dist") == 0) {
        /* SIMNET_LATENCY_CONSTANT, _UNIFORM, _EXPONENTIAL, in this order */
        if ((i = s_word_index (text, dists, 3)) < 0) {
            sim_error ("--latency-dist is constant, uniform or exponential, not '%s'", text);
            return -1;
        }
        opt->latency_dist = (simnet_latency_t) i;
    } else {
        /* CHORD_LOG_ERROR (0) to CHORD_LOG_DEBUG (3) */
        if ((i = s_word_index (text, levels, 4)) < 0) {
            sim_error ("--log is error, warn, info or debug, not '%s'", text);
            return -1;
        }
        opt->log_level = i;
    }
    return 0;
}

/* Stores one option's value (text, NULL for a flag) into opt. */
static int s_option_set (sim_options_t *opt, const s_option_t *o, const char *text)
{
    char *field = (char *) opt + o->offset;
    char option[40];
    snprintf (option, sizeof option, "--%s", o->name);
    uint64_t u = 0;
    double d = 0;
    int rc = 0;
    if (o->kind == S_FLAG)
        *(bool *) field = true;
    else if (o->kind == S_OTHER)
        rc = s_parse_word (opt, o->name, text);
    else if (o->kind == S_DOUBLE)
        rc = s_parse_number (option, text, o->min, o->max, &d);
    else
        rc = s_parse_uint (option, text, o->min, o->max, &u);
    if (rc != 0)
        return -1;
    switch (o->kind) {
    case S_SIZE:
        *(size_t *) field = (size_t) u;
        break;
    case S_U64:
        *(uint64_t *) field = u;
        break;
    case S_U32:
        *(uint32_t *) field = (uint32_t) u;
        break;
    case S_LONG:
        *(long *) field = (long) u;
        break;
    case S_DOUBLE:
        *(double *) field = d;
        break;
    default:
        break;
    }
    if (o->given)
        *(bool *) ((char *) opt + o->given) = true;
    return 0;
}

static void s_options_defaults (sim_options_t *opt)
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
}

/* The defaults that depend on other options, and the checks across options. */
static int s_options_finish (sim_options_t *opt, int argc, char **argv)
{
    bool dynamic = opt->churn_rate > 0 || opt->session_median_s > 0 || opt->fail_fraction > 0 ||
                   opt->loss > 0 || opt->dup > 0 || opt->partition;
    if (opt->duration_s < 0)
        opt->duration_s = dynamic ? 60 : 0;
    if (opt->scenario) {
        /* Scenarios pick their own sizes unless told. */
        if (!opt->nodes_given)
            opt->nodes = 0;
        if (!opt->lookups_given)
            opt->lookups = 0;
    }
    if (opt->replicas && opt->write_quorum > opt->replicas) {
        sim_error ("--write-quorum %zu is more than the copies kept (--replicas)", opt->write_quorum);
        return -1;
    }
    if (opt->partition && opt->duration_s <= 0) {
        sim_error ("--partition needs a run phase (--duration-s)");
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

/* Returns 0, 1 for --help (printed), or -1 after an error message. */
static int s_options_parse (sim_options_t *opt, int argc, char **argv)
{
    s_options_defaults (opt);
    struct option longs[S_OPTION_COUNT + 2];
    for (size_t i = 0; i < S_OPTION_COUNT; i++)
        longs[i] = (struct option){s_options[i].name,
                                   s_options[i].kind == S_FLAG ? no_argument : required_argument, NULL,
                                   256 + (int) i};
    longs[S_OPTION_COUNT] = (struct option){"help", no_argument, NULL, 'h'};
    longs[S_OPTION_COUNT + 1] = (struct option){NULL, 0, NULL, 0};
    opterr = 0;
    optind = 1;
    int c;
    while ((c = getopt_long (argc, argv, "h", longs, NULL)) != -1) {
        if (c == 'h') {
            fputs (s_usage_text, stdout);
            return 1;
        }
        if (c < 256 || c >= 256 + (int) S_OPTION_COUNT) {
            sim_error ("unknown option '%s' (try --help)", argv[optind - 1]);
            return -1;
        }
        if (s_option_set (opt, &s_options[c - 256], optarg) != 0)
            return -1;
    }
    if (optind < argc) {
        sim_error ("unexpected argument '%s' (try --help)", argv[optind]);
        return -1;
    }
    return s_options_finish (opt, argc, argv);
}

/* Runs --scenario NAME; returns the exit status. */
static int s_run_scenario (const sim_options_t *opt)
{
    for (const scenario_t *scenario = scenario_table; scenario->name; scenario++)
        if (strcmp (opt->scenario, scenario->name) == 0) {
            sim_table_t table = {.opt = opt, .rows = opt->json ? json_array () : NULL};
            double t0 = util_wall_s ();
            int failed = scenario->run (opt, &table);
            if (!opt->json)
                printf ("\n(%.1f s wall)\n", util_wall_s () - t0);
            return failed ? S_EXIT_VIOLATION : 0;
        }
    char names[512] = "";
    size_t used = 0;
    for (const scenario_t *scenario = scenario_table; scenario->name && used < sizeof names; scenario++)
        used += (size_t) snprintf (names + used, sizeof names - used, "%s%s",
                                   used ? (scenario[1].name ? ", " : " or ") : "", scenario->name);
    sim_error ("no scenario '%s': %s", opt->scenario, names);
    return S_EXIT_USAGE;
}

int main (int argc, char **argv)
{
    sim_options_t opt;
    int rc = s_options_parse (&opt, argc, argv);
    if (rc != 0)
        return rc > 0 ? 0 : S_EXIT_USAGE;
    if (opt.scenario)
        return s_run_scenario (&opt);
    sim_result_t result;
    memset (&result, 0, sizeof result);
    simnet_t *net = NULL;
    sim_simulate (&opt, &result, &net);
    sim_print_run (&opt, &result, net);
    free (result.after.hops);
    simnet_destroy (&net);
    return result.violated ? S_EXIT_VIOLATION : 0;
}
