/*  chord-sim --scenario churn.  */
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

/* Lookups under Poisson churn, once a second, without and with retries. */
int scenario_churn_run (const sim_options_t *opt, sim_table_t *table)
{
    static const double rates[] = {1.0 / 3, 1, 3, 6, 12};
    sim_options_t local = *opt;
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
                (unsigned long long) opt->seed, local.tmo_ms, SIM_RETRIES);
        printf ("%8s %9s %6s %7s %8s %14s %12s %14s %10s\n", "events/", "events/s", "joins", "crashes",
                "lookups", "failed first", "wrong owner", "after retries", "exact after");
        printf ("%8s %9s %6s %7s %8s %14s %12s %14s %10s\n", "period", "", "", "", "", "", "", "",
                "quiet (s)");
    }
    int rc = 0;
    for (size_t i = 0; i < sizeof rates / sizeof rates[0]; i++) {
        local.churn_rate = rates[i];
        sim_result_t result;
        memset (&result, 0, sizeof result);
        simnet_t *net = NULL;
        sim_simulate (&local, &result, &net);
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
        json_object_set_new (row, "joins", sim_json_u64 (result.joins));
        json_object_set_new (row, "crashes", sim_json_u64 (result.crashes));
        json_object_set_new (row, "lookups", sim_json_u64 (result.run_lookups));
        json_object_set_new (row, "failed_first", sim_json_u64 (first));
        json_object_set_new (row, "wrong_first", sim_json_u64 (result.run_first_wrong));
        json_object_set_new (row, "failed_after_retries", sim_json_u64 (result.run_failed_retried));
        json_object_set_new (row, "converge_ms",
                             result.violated ? json_null () : sim_json_u64 (result.converge_ms));
        json_object_set_new (row, "violation", result.violated ? json_string (result.what) : json_null ());
        sim_table_row (table, row);
        free (result.after.hops);
        simnet_destroy (&net);
        fflush (stdout);
    }
    sim_table_end (table, "churn", NULL);
    return rc;
}
