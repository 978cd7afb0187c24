/*  chord-sim --scenario speed.  */
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

/* The simulator's own speed. */
int scenario_speed_run (const sim_options_t *opt, sim_table_t *table)
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
        sim_options_t local = *opt;
        local.build_join = join;
        simnet_t *net = sim_net_new (&local, local.stabilize_ms, local.successors);
        sim_t sim;
        sim_result_t result;
        sim_init (&sim, &local, &result, net);
        sim.phase = SIM_PHASE_BUILD;
        double t0 = util_wall_s ();
        int built = join ? sim_build_join (&sim, n) : simnet_build_ring (net, n);
        double t1 = util_wall_s ();
        uint64_t build_ms = simnet_now (net);
        sim.phase = SIM_PHASE_MEASURE;
        if (built == 0)
            sim_measure_lookups (&sim, &result.after, lookups, NULL);
        double t2 = util_wall_s ();
        uint64_t failures = sim_failures (&result.after);
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
        json_object_set_new (row, "nodes", sim_json_u64 (n));
        json_object_set_new (row, "build_wall_s", json_real (t1 - t0));
        json_object_set_new (row, "build_virtual_s", json_real (build_ms / 1000.0));
        json_object_set_new (row, "lookups", sim_json_u64 (lookups));
        json_object_set_new (row, "lookups_wall_s", json_real (t2 - t1));
        json_object_set_new (row, "total_wall_s", json_real (t2 - t0));
        json_object_set_new (row, "lookup_failures", sim_json_u64 (failures));
        json_object_set_new (row, "events", sim_json_u64 (stats->events));
        sim_table_row (table, row);
        free (result.after.hops);
        simnet_destroy (&net);
        fflush (stdout);
    }
    sim_table_end (table, "speed", NULL);
    return rc;
}
