/*  chord-sim --scenario traffic.  */
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
#include "store.h"
#include "util.h"

/* Maintenance bytes per second per peer, steady and under churn. */
int scenario_traffic_run (const sim_options_t *opt, sim_table_t *table)
{
    static const uint32_t intervals[] = {500, 2000, 10000, 30000};
    sim_options_t local = *opt;
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
        sim_result_t steady;
        memset (&steady, 0, sizeof steady);
        simnet_t *net = NULL;
        sim_simulate (&local, &steady, &net);
        const simnet_stats_t *stats = simnet_stats (net);
        uint64_t find_bytes = stats->sent_bytes_by_type[CHORD_MSG_FIND_SUCC] +
                              stats->sent_bytes_by_type[CHORD_MSG_FIND_SUCC_REPLY];
        double find_share = stats->sent_bytes ? (double) find_bytes / (double) stats->sent_bytes : 0;
        simnet_destroy (&net);
        /* Churn. */
        local.session_median_s = 84;
        local.lookup_rate = 1;
        local.duration_s = churn_s;
        sim_result_t churn;
        memset (&churn, 0, sizeof churn);
        sim_simulate (&local, &churn, &net);
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
        json_object_set_new (row, "stabilize_ms", sim_json_u64 (intervals[i]));
        json_object_set_new (row, "steady_bytes_per_peer_s", json_real (steady_b));
        json_object_set_new (row, "steady_messages_per_peer_s", json_real (steady_m));
        json_object_set_new (row, "steady_find_share", json_real (find_share));
        json_object_set_new (row, "churn_bytes_per_peer_s", json_real (churn_b));
        json_object_set_new (row, "churn_messages_per_peer_s", json_real (churn_m));
        json_object_set_new (row, "churn_lookups", sim_json_u64 (churn.run_lookups));
        json_object_set_new (row, "churn_failed_first", sim_json_u64 (first));
        json_object_set_new (row, "churn_joins", sim_json_u64 (churn.joins));
        json_object_set_new (row, "violation",
                             churn.violated    ? json_string (churn.what)
                             : steady.violated ? json_string (steady.what)
                                               : json_null ());
        sim_table_row (table, row);
        free (steady.after.hops);
        free (churn.after.hops);
        fflush (stdout);
    }
    sim_table_end (table, "traffic", NULL);
    return rc;
}
