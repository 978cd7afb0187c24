/*  chord-sim --scenario table2: the Chord paper's Table II (Stoica et al.,
    IEEE/ACM ToN 2003), measured: 1,000 peers, r = 20, a fraction p of them
    fails at once, no stabilization afterwards, then lookups of random
    keys from random live peers, one at a time. A lookup asks the owner it
    would name whether it is alive, as the paper's contacts the successor:
    a timeout there counts, and asking it is not a hop. Every other
    answered FIND_SUCC is one, those of a hop asked again after a timeout
    included. Seed 1: no lookup fails; timeouts 0.31, 0.63, 1.14, 1.63,
    2.28 a lookup (paper 0.60, 1.17, 2.02, 3.23, 5.10). Nearly all are at
    peers another origin had already found silent; a peer told so (a
    lookup's excluded ids) now prefers another finger while the news is
    fresh (node_report_t), which took them from 0.41-2.66 to these.  */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "id.h"
#include "node.h"
#include "report.h"
#include "scenario.h"
#include "simtrace.h"

#define S_NO_STABILIZE_MS 4000000000u /* a stabilize interval (46 days) no lookup phase reaches */
#define S_TMO_MS 120000           /* a lookup's client waits this long */

/* The paper's Table II: mean path length and timeouts per lookup. */
static const double s_fractions[] = {0.1, 0.2, 0.3, 0.4, 0.5};
static const double s_paper_hops[] = {4.03, 4.22, 4.44, 4.69, 5.09};
static const double s_paper_timeouts[] = {0.60, 1.17, 2.02, 3.23, 5.10};
#define S_ROWS (sizeof s_fractions / sizeof s_fractions[0])

/* One row's measurements. */
typedef struct {
    size_t failed_peers;
    sim_lookups_t lookups;   /* right answers' hops; wrong, unanswered */
    uint64_t rpc_timeouts;   /* the nodes' own count over the lookups */
    simtrace_stats_t trace;  /* the tracer's, per lookup */
    uint64_t timeouts_right, timeouts_wrong, timeouts_unanswered; /* by the lookup's outcome */
    uint64_t virtual_ms;     /* the lookups took */
} s_row_t;

/* Crashes count random members of net, chosen with sim's stream. */
static size_t s_fail (sim_t *sim, double fraction)
{
    const size_t *sorted;
    size_t members = simnet_members (sim->net, &sorted);
    size_t *victims = malloc ((members ? members : 1) * sizeof *victims);
    if (!victims)
        return 0;
    memcpy (victims, sorted, members * sizeof *victims);
    size_t count = (size_t) (fraction * (double) members + 0.5);
    for (size_t i = 0; i < count; i++) {
        size_t j = i + simrng_below (&sim->rng, members - i);
        size_t victim = victims[j];
        victims[j] = victims[i];
        victims[i] = victim;
    }
    for (size_t i = 0; i < count; i++)
        simnet_crash (sim->net, victims[i]);
    free (victims);
    return count;
}

static uint64_t s_rpc_timeouts (simnet_t *net)
{
    uint64_t sum = 0;
    for (size_t i = 0; i < simnet_node_count (net); i++)
        if (simnet_node (net, i))
            sum += chord_node_stats (simnet_node (net, i))->rpc_timeouts;
    return sum;
}

/* Builds the ring, fails a fraction of it, runs the lookups one by one. */
static int s_measure (const sim_options_t *opt, size_t nodes, size_t r, double fraction, size_t lookups,
                      s_row_t *row)
{
    memset (row, 0, sizeof *row);
    simnet_t *net = sim_net_new (opt, S_NO_STABILIZE_MS, r);
    if (!net)
        return -1;
    sim_t sim;
    sim_result_t result;
    sim_init (&sim, opt, &result, net);
    simtrace_t *trace = simtrace_new (net);
    if (!trace || simnet_build_ring (net, nodes) != 0) {
        simtrace_destroy (&trace);
        simnet_destroy (&net);
        return -1;
    }
    row->failed_peers = s_fail (&sim, fraction);
    uint64_t timeouts0 = s_rpc_timeouts (net);
    for (size_t i = 0; i < lookups; i++) {
        uint64_t key = simrng_next (&sim.rng);
        char name[32];
        sim_key_name (name, sizeof name, key);
        chord_id_t id;
        chord_id_hash (&id, name, strlen (name));
        simtrace_begin (trace, &id);
        sim_lookups_t before = row->lookups;
        sim_measure_lookups (&sim, &row->lookups, 1, &key);
        uint64_t timeouts = simtrace_end (trace, &id);
        if (row->lookups.right > before.right)
            row->timeouts_right += timeouts;
        else if (row->lookups.wrong > before.wrong)
            row->timeouts_wrong += timeouts;
        else
            row->timeouts_unanswered += timeouts;
    }
    row->virtual_ms = simnet_now (net);
    row->rpc_timeouts = s_rpc_timeouts (net) - timeouts0;
    row->trace = *simtrace_stats (trace);
    simtrace_destroy (&trace);
    simnet_destroy (&net);
    return 0;
}

static void s_header (size_t nodes, size_t r, size_t lookups, uint64_t seed)
{
    printf ("The Chord paper's Table II (ToN 2003) beside chord-sim: %zu peers, r = %zu; a fraction p fails\n"
            "at once and no stabilization runs afterwards; %zu lookups, one after the other, of random keys\n"
            "from random live peers (iterative: the origin asks each hop itself); seed %llu.\n"
            "hops: of the lookups that found the key's live successor. timeouts: FIND_SUCC RPCs of a\n"
            "lookup that got no answer (sent to a failed peer), per lookup; \"in right\": per lookup that\n"
            "succeeded.\n"
            "failed: the answer is not the key's live successor (wrong), or none came in %d s.\n"
            "looped: lookups with over 64 answered hops (they went round the ring). repeat: timeouts at a\n"
            "peer the same lookup had timed out at already (share of all timeouts).\n\n",
            nodes, r, lookups, (unsigned long long) seed, S_TMO_MS / 1000);
    printf ("%5s %6s %6s %4s | %8s %8s %8s | %7s %7s %7s | %7s %7s\n", "p", "paper", "hops", "p99", "paper",
            "timeouts", "in right", "failed", "wrong", "no ans", "looped", "repeat");
    printf ("%5s %6s %6s %4s | %8s %8s %8s | %7s %7s %7s | %7s %7s\n", "", "hops", "", "", "timeouts", "", "",
            "", "", "", "", "");
}

static double s_share (uint64_t part, uint64_t whole)
{
    return whole ? 100.0 * (double) part / (double) whole : 0;
}

static void s_print_row (sim_table_t *table, size_t i, size_t lookups, s_row_t *row)
{
    sim_hop_stats_t hops = sim_hop_stats (&row->lookups);
    uint64_t failed = sim_failures (&row->lookups);
    double timeouts = (double) row->rpc_timeouts / (double) lookups;
    const simtrace_stats_t *t = &row->trace;
    double in_right = row->lookups.right ? (double) row->timeouts_right / (double) row->lookups.right : 0;
    if (!table->rows)
        printf ("%5.2f %6.2f %6.2f %4u | %8.2f %8.2f %8.2f | %6.2f%% %6.2f%% %6.2f%% | %6.2f%% %6.1f%%\n",
                s_fractions[i], s_paper_hops[i], hops.mean, hops.p99, s_paper_timeouts[i], timeouts, in_right,
                s_share (failed, lookups), s_share (row->lookups.wrong, lookups),
                s_share (row->lookups.unanswered + row->lookups.refused, lookups),
                s_share (t->looped, lookups), s_share (t->repeat_in_lookup, t->timeouts));
    json_t *json = json_object ();
    json_object_set_new (json, "fail_fraction", json_real (s_fractions[i]));
    json_object_set_new (json, "failed_peers", sim_json_u64 (row->failed_peers));
    json_object_set_new (json, "lookups", sim_json_u64 (lookups));
    json_object_set_new (json, "paper_hops_mean", json_real (s_paper_hops[i]));
    json_object_set_new (json, "hops_mean", json_real (hops.mean));
    json_object_set_new (json, "hops_p1", sim_json_u64 (hops.p1));
    json_object_set_new (json, "hops_p99", sim_json_u64 (hops.p99));
    json_object_set_new (json, "paper_timeouts_per_lookup", json_real (s_paper_timeouts[i]));
    json_object_set_new (json, "timeouts_per_lookup", json_real (timeouts));
    json_object_set_new (json, "lookups_failed", sim_json_u64 (failed));
    json_object_set_new (json, "lookups_wrong", sim_json_u64 (row->lookups.wrong));
    json_object_set_new (json, "lookups_unanswered",
                         sim_json_u64 (row->lookups.unanswered + row->lookups.refused));
    json_object_set_new (json, "traced_timeouts", sim_json_u64 (t->timeouts));
    json_object_set_new (json, "traced_finds", sim_json_u64 (t->finds));
    json_object_set_new (json, "max_timeouts", sim_json_u64 (t->max_timeouts));
    json_object_set_new (json, "lookups_with_timeouts", sim_json_u64 (t->with_timeouts));
    json_object_set_new (json, "lookups_looped", sim_json_u64 (t->looped));
    json_object_set_new (json, "timeouts_repeat_in_lookup", sim_json_u64 (t->repeat_in_lookup));
    json_object_set_new (json, "timeouts_known_to_origin", sim_json_u64 (t->known_to_origin));
    json_object_set_new (json, "timeouts_known_elsewhere", sim_json_u64 (t->known_elsewhere));
    json_object_set_new (json, "timeouts_in_right", sim_json_u64 (row->timeouts_right));
    json_object_set_new (json, "timeouts_per_right_lookup", json_real (in_right));
    json_object_set_new (json, "timeouts_in_wrong", sim_json_u64 (row->timeouts_wrong));
    json_object_set_new (json, "timeouts_in_unanswered", sim_json_u64 (row->timeouts_unanswered));
    json_object_set_new (json, "virtual_s", json_real (row->virtual_ms / 1000.0));
    sim_table_row (table, json);
}

int scenario_table2_run (const sim_options_t *opt, sim_table_t *table)
{
    size_t nodes = opt->nodes ? opt->nodes : 1000;
    size_t lookups = opt->lookups ? opt->lookups : (opt->quick ? 2000 : 10000);
    size_t r = opt->successors_given ? opt->successors : 20;
    sim_options_t local = *opt;
    local.tmo_ms = S_TMO_MS;
    if (!table->rows)
        s_header (nodes, r, lookups, opt->seed);
    for (size_t i = 0; i < S_ROWS; i++) {
        s_row_t row;
        if (s_measure (&local, nodes, r, s_fractions[i], lookups, &row) != 0)
            return -1;
        s_print_row (table, i, lookups, &row);
        free (row.lookups.hops);
        fflush (stdout);
    }
    json_t *extra = json_object ();
    json_object_set_new (extra, "nodes", sim_json_u64 (nodes));
    json_object_set_new (extra, "successors", sim_json_u64 (r));
    json_object_set_new (extra, "timeouts", json_string ("FIND_SUCC RPCs of a lookup that got no answer"));
    sim_table_end (table, "table2", extra);
    return 0;
}
