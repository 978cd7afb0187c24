/*  chord-sim --scenario convergence.  */
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

/* Time for K concurrent joins into a ring to settle. */
int scenario_convergence_run (const sim_options_t *opt, sim_table_t *table)
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
        simnet_t *net = sim_net_new (opt, opt->stabilize_ms, opt->successors);
        sim_t sim;
        sim_result_t result;
        sim_init (&sim, opt, &result, net);
        simnet_build_ring (net, n);
        simnet_run_until (net, 1000);
        uint64_t start = simnet_now (net);
        for (size_t k = 0; k < ks[i]; k++)
            sim_join_one (&sim);
        uint64_t active_ms = UINT64_MAX, exact_ms = UINT64_MAX;
        const size_t *sorted;
        while (simnet_now (net) - start < 600000) {
            simnet_run_until (net, simnet_now (net) + SIM_SLICE_MS);
            if (active_ms == UINT64_MAX && simnet_members (net, &sorted) == sim_up_count (net))
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
        json_object_set_new (row, "nodes", sim_json_u64 (n));
        json_object_set_new (row, "joins", sim_json_u64 (ks[i]));
        json_object_set_new (row, "active_ms",
                             active_ms == UINT64_MAX ? json_null () : sim_json_u64 (active_ms));
        json_object_set_new (row, "exact_ms",
                             exact_ms == UINT64_MAX ? json_null () : sim_json_u64 (exact_ms));
        json_object_set_new (row, "rounds",
                             exact_ms == UINT64_MAX ? json_null ()
                                                    : json_real ((double) exact_ms / opt->stabilize_ms));
        sim_table_row (table, row);
        simnet_destroy (&net);
        fflush (stdout);
    }
    sim_table_end (table, "convergence", NULL);
    return rc;
}
