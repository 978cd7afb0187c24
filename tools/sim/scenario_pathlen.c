/*  chord-sim --scenario pathlen.  */
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

/* Lookup path length against ring size, on rings built with exact tables. */
int scenario_pathlen_run (const sim_options_t *opt, sim_table_t *table)
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
        simnet_t *net = sim_net_new (opt, 3600000, opt->successors);
        sim_t sim;
        sim_result_t result;
        sim_init (&sim, opt, &result, net);
        if (simnet_build_ring (net, n) != 0) {
            simnet_destroy (&net);
            return -1;
        }
        sim_measure_lookups (&sim, &result.after, lookups, NULL);
        sim_hop_stats_t hops = sim_hop_stats (&result.after);
        uint64_t failures = sim_failures (&result.after);
        rc |= failures ? -1 : 0;
        if (!table->rows)
            printf ("%8zu %10.2f %8.2f %5u %5u %5u %5u %9llu\n", n, k / 2.0, hops.mean, hops.p1, hops.p50,
                    hops.p99, hops.max, (unsigned long long) failures);
        json_t *row = json_object ();
        json_object_set_new (row, "nodes", sim_json_u64 (n));
        json_object_set_new (row, "paper_mean", json_real (k / 2.0));
        json_object_set_new (row, "hops_mean", json_real (hops.mean));
        json_object_set_new (row, "hops_p1", sim_json_u64 (hops.p1));
        json_object_set_new (row, "hops_p50", sim_json_u64 (hops.p50));
        json_object_set_new (row, "hops_p99", sim_json_u64 (hops.p99));
        json_object_set_new (row, "hops_max", sim_json_u64 (hops.max));
        json_object_set_new (row, "lookup_failures", sim_json_u64 (failures));
        sim_table_row (table, row);
        free (result.after.hops);
        simnet_destroy (&net);
        fflush (stdout);
    }
    sim_table_end (table, "pathlen", NULL);
    return rc;
}
