/*  chord-sim --scenario table3: the Chord paper's Table III (Stoica et
    al., IEEE/ACM ToN 2003), measured: about 1,000 peers, r = 20, each peer
    stabilizing at its own interval drawn from [15, 45] s, Poisson joins
    and departures at rate R each, one lookup a second; first with
    graceful leaves (the paper's voluntary departures), then with crashes.  */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "report.h"
#include "scenario.h"

#define S_STABILIZE_MIN_MS 15000 /* the paper's stabilize intervals: uniform on [15, 45] s */
#define S_STABILIZE_MAX_MS 45000
#define S_DURATION_S 5000        /* default run per row: about 5,000 lookups */
#define S_QUICK_DURATION_S 300
#define S_TMO_MS 60000           /* a lookup's client waits this long */

/* The paper's Table III: failed lookups per 10,000, by rate R. Its path
   lengths (3.81 to 4.06) and timeouts (0.05 to 0.46) are given as ranges. */
static const double s_rates[] = {0.05, 0.10, 0.15, 0.20, 0.25, 0.30, 0.35, 0.40};
static const int s_paper_failures[] = {0, 0, 2, 5, 6, 8, 16, 15};
#define S_ROWS (sizeof s_rates / sizeof s_rates[0])

/* One row's measurements. */
typedef struct {
    uint64_t lookups, failed, wrong, unanswered; /* first attempts */
    sim_hop_stats_t hops;                        /* of right first attempts */
    uint64_t timeouts;                           /* unanswered FIND_SUCCs of first attempts */
    uint64_t joins, departures;
} s_row_t;

static void s_measure (const sim_options_t *base, double rate, bool crashes, s_row_t *row)
{
    sim_options_t local = *base;
    /* Joins and departures at rate each: 2 rate events a second, half of each kind. */
    local.churn_rate = 2 * rate * local.stabilize_ms / 1000.0;
    local.leave_fraction = crashes ? 0 : 1;
    sim_result_t result;
    memset (&result, 0, sizeof result);
    simnet_t *net = NULL;
    sim_simulate (&local, &result, &net);
    memset (row, 0, sizeof *row);
    row->lookups = result.run_lookups;
    row->wrong = result.run_first_wrong;
    row->unanswered = result.run_first_unanswered + result.run_first_refused;
    row->failed = row->wrong + row->unanswered;
    row->hops = sim_hop_stats (&result.run_first);
    row->timeouts = result.run_first_timeouts;
    row->joins = result.joins;
    row->departures = result.crashes + result.leaves;
    free (result.run_first.hops);
    free (result.after.hops);
    simnet_destroy (&net);
}

static double s_per (uint64_t part, uint64_t whole, double scale)
{
    return whole ? scale * (double) part / (double) whole : 0;
}

static json_t *s_row_json (const s_row_t *row)
{
    json_t *json = json_object ();
    json_object_set_new (json, "lookups", sim_json_u64 (row->lookups));
    json_object_set_new (json, "failed", sim_json_u64 (row->failed));
    json_object_set_new (json, "failed_per_10000", json_real (s_per (row->failed, row->lookups, 10000)));
    json_object_set_new (json, "wrong", sim_json_u64 (row->wrong));
    json_object_set_new (json, "unanswered", sim_json_u64 (row->unanswered));
    json_object_set_new (json, "hops_mean", json_real (row->hops.mean));
    json_object_set_new (json, "timeouts_per_lookup", json_real (s_per (row->timeouts, row->lookups, 1)));
    json_object_set_new (json, "joins", sim_json_u64 (row->joins));
    json_object_set_new (json, "departures", sim_json_u64 (row->departures));
    return json;
}

static void s_header (const sim_options_t *local)
{
    printf ("The Chord paper's Table III (ToN 2003) beside chord-sim: %zu peers, r = %zu, each stabilizing\n"
            "at its own interval drawn from [%d, %d] s; Poisson joins and departures at rate R each, one\n"
            "lookup a second of a random key from a random peer, for %.0f s per row (about %.0f lookups;\n"
            "the paper ran 10,000+; --duration-s for longer); seed %llu. A lookup fails when its answer\n"
            "is not the key's live successor when it arrives, or none comes in %d s (no retries). hops:\n"
            "of the lookups that succeeded. timeouts: FIND_SUCC RPCs of a lookup that got no answer, per\n"
            "lookup.\n"
            "The paper: hops 3.81 to 4.06, timeouts 0.05 to 0.46 over these rates.\n\n",
            local->nodes, local->successors, S_STABILIZE_MIN_MS / 1000, S_STABILIZE_MAX_MS / 1000,
            local->duration_s, local->duration_s * local->lookup_rate, (unsigned long long) local->seed,
            S_TMO_MS / 1000);
    printf ("%5s %8s | %-26s | %-26s\n", "", "paper", "voluntary leaves", "crashes");
    printf ("%5s %8s | %8s %6s %10s | %8s %6s %10s\n", "R", "failed", "failed", "hops", "timeouts", "failed",
            "hops", "timeouts");
    printf ("%5s %8s | %8s %6s %10s | %8s %6s %10s\n", "", "/10,000", "/10,000", "", "/lookup", "/10,000", "",
            "/lookup");
}

int scenario_table3_run (const sim_options_t *opt, sim_table_t *table)
{
    sim_options_t local = *opt;
    local.nodes = opt->nodes ? opt->nodes : 1000;
    local.successors = opt->successors_given ? opt->successors : 20;
    local.stabilize_ms = S_STABILIZE_MIN_MS;
    local.stabilize_max_ms = S_STABILIZE_MAX_MS;
    local.duration_s = opt->duration_given ? opt->duration_s : opt->quick ? S_QUICK_DURATION_S : S_DURATION_S;
    local.quiet_s = 0;
    local.lookup_rate = 1;
    local.lookups = 0;
    local.keys = 0;
    local.check_ms = 0;
    local.tmo_ms = S_TMO_MS;
    local.session_median_s = 0;
    local.fail_fraction = 0;
    local.trace_lookups = true;
    local.json = false;
    if (!table->rows)
        s_header (&local);
    for (size_t i = 0; i < S_ROWS; i++) {
        s_row_t leaves, crashes;
        s_measure (&local, s_rates[i], false, &leaves);
        s_measure (&local, s_rates[i], true, &crashes);
        if (!table->rows)
            printf ("%5.2f %8d | %8.1f %6.2f %10.2f | %8.1f %6.2f %10.2f\n", s_rates[i], s_paper_failures[i],
                    s_per (leaves.failed, leaves.lookups, 10000), leaves.hops.mean,
                    s_per (leaves.timeouts, leaves.lookups, 1),
                    s_per (crashes.failed, crashes.lookups, 10000), crashes.hops.mean,
                    s_per (crashes.timeouts, crashes.lookups, 1));
        json_t *row = json_object ();
        json_object_set_new (row, "rate", json_real (s_rates[i]));
        json_object_set_new (row, "paper_failed_per_10000", sim_json_u64 ((uint64_t) s_paper_failures[i]));
        json_object_set_new (row, "leaves", s_row_json (&leaves));
        json_object_set_new (row, "crashes", s_row_json (&crashes));
        sim_table_row (table, row);
        fflush (stdout);
    }
    json_t *extra = json_object ();
    json_object_set_new (extra, "nodes", sim_json_u64 (local.nodes));
    json_object_set_new (extra, "successors", sim_json_u64 (local.successors));
    json_object_set_new (extra, "duration_s", json_real (local.duration_s));
    json_object_set_new (extra, "paper_hops_range", json_pack ("[f, f]", 3.81, 4.06));
    json_object_set_new (extra, "paper_timeouts_range", json_pack ("[f, f]", 0.05, 0.46));
    sim_table_end (table, "table3", extra);
    return 0;
}
