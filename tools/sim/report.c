/*  chord-sim output: a run as text or JSON, and the scenario tables.  */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "report.h"

json_t *sim_json_u64 (uint64_t value)
{
    return json_integer ((json_int_t) value);
}

/* What a run's output derives from its result and network. */
typedef struct {
    sim_hop_stats_t hops;        /* of the lookups after the quiet period */
    const simnet_stats_t *stats; /* the network's, or NULL */
    double bytes_per_peer_s;     /* run-phase traffic per peer */
    double msgs_per_peer_s;
    char trace[17]; /* the trace hash in hex */
} s_view_t;

static void s_print_json (const sim_options_t *opt, const sim_result_t *result, simnet_t *net,
                          const s_view_t *view)
{
    sim_hop_stats_t hops = view->hops;
    const simnet_stats_t *stats = view->stats;
    double bytes_per_peer_s = view->bytes_per_peer_s, msgs_per_peer_s = view->msgs_per_peer_s;
    const char *trace = view->trace;
    json_t *root = json_object ();
    json_object_set_new (root, "seed", sim_json_u64 (opt->seed));
    json_object_set_new (root, "nodes", sim_json_u64 (opt->nodes));
    json_object_set_new (root, "build", json_string (opt->build_join ? "join" : "direct"));
    json_object_set_new (root, "ok", json_boolean (!result->violated));
    json_object_set_new (root, "lookups", sim_json_u64 (result->after.issued));
    json_object_set_new (root, "lookup_failures", sim_json_u64 (sim_failures (&result->after)));
    json_object_set_new (root, "lookup_wrong", sim_json_u64 (result->after.wrong));
    json_object_set_new (root, "lookup_unanswered", sim_json_u64 (result->after.unanswered));
    json_object_set_new (root, "hops_mean", json_real (hops.mean));
    json_object_set_new (root, "hops_p50", sim_json_u64 (hops.p50));
    json_object_set_new (root, "hops_p99", sim_json_u64 (hops.p99));
    json_object_set_new (root, "hops_max", sim_json_u64 (hops.max));
    json_object_set_new (root, "trace_hash", json_string (trace));
    json_object_set_new (root, "build_ms", sim_json_u64 (result->build_ms));
    json_object_set_new (root, "converge_ms",
                         result->converge_ms == UINT64_MAX ? json_null ()
                                                           : sim_json_u64 (result->converge_ms));
    json_object_set_new (root, "checks", sim_json_u64 (result->checks));
    json_object_set_new (root, "checks_with_disordered_appendages",
                         sim_json_u64 (result->disordered_checks));
    json_object_set_new (root, "members", sim_json_u64 (result->members));
    json_object_set_new (root, "joins", sim_json_u64 (result->joins));
    json_object_set_new (root, "crashes", sim_json_u64 (result->crashes));
    json_object_set_new (root, "leaves", sim_json_u64 (result->leaves));
    json_object_set_new (root, "failed_at_once", sim_json_u64 (result->failed_at_once));
    json_object_set_new (root, "run_lookups", sim_json_u64 (result->run_lookups));
    json_object_set_new (
        root, "run_lookup_failures_first",
        sim_json_u64 (result->run_first_wrong + result->run_first_unanswered + result->run_first_refused));
    json_object_set_new (root, "run_lookup_wrong_first", sim_json_u64 (result->run_first_wrong));
    json_object_set_new (root, "run_lookup_failures_retried", sim_json_u64 (result->run_failed_retried));
    json_object_set_new (root, "bytes_per_peer_s", json_real (bytes_per_peer_s));
    json_object_set_new (root, "messages_per_peer_s", json_real (msgs_per_peer_s));
    json_object_set_new (root, "keys", sim_json_u64 (opt->keys));
    json_object_set_new (root, "keys_stored", sim_json_u64 (result->keys_stored));
    json_object_set_new (root, "keys_read", sim_json_u64 (result->keys_read));
    json_object_set_new (root, "keys_lost_to_crashes", sim_json_u64 (result->keys_missing_crash));
    json_object_set_new (root, "keys_missing", sim_json_u64 (result->keys_missing));
    json_object_set_new (root, "keys_wrong", sim_json_u64 (result->keys_wrong));
    json_object_set_new (root, "keys_unanswered", sim_json_u64 (result->keys_unanswered));
    json_object_set_new (root, "data_messages_per_op",
                         json_real (result->data_ops ? (double) result->data_messages / result->data_ops
                                                     : 0));
    json_object_set_new (root, "sim_ms", sim_json_u64 (net ? simnet_now (net) : 0));
    json_object_set_new (root, "events", sim_json_u64 (stats ? stats->events : 0));
    json_object_set_new (root, "messages", sim_json_u64 (stats ? stats->sent : 0));
    json_object_set_new (root, "lost", sim_json_u64 (stats ? stats->lost : 0));
    json_object_set_new (root, "duplicated", sim_json_u64 (stats ? stats->duplicated : 0));
    json_object_set_new (root, "dropped_partition", sim_json_u64 (stats ? stats->dropped_partition : 0));
    json_object_set_new (root, "stuck", sim_json_u64 (stats ? stats->stuck : 0));
    if (result->violated) {
        json_t *violation = json_object ();
        json_object_set_new (violation, "what", json_string (result->what));
        json_object_set_new (violation, "at_ms", sim_json_u64 (result->violation_ms));
        json_object_set_new (violation, "phase", json_string (sim_phase_names[result->violation_phase]));
        json_object_set_new (violation, "replay", json_string (opt->replay));
        json_object_set_new (root, "violation", violation);
    } else
        json_object_set_new (root, "violation", json_null ());
    char *text = json_dumps (root, JSON_PRESERVE_ORDER | JSON_REAL_PRECISION (6));
    if (text)
        puts (text);
    free (text);
    json_decref (root);
}

static void s_print_text (const sim_options_t *opt, const sim_result_t *result, simnet_t *net,
                          const s_view_t *view)
{
    sim_hop_stats_t hops = view->hops;
    const simnet_stats_t *stats = view->stats;
    double bytes_per_peer_s = view->bytes_per_peer_s, msgs_per_peer_s = view->msgs_per_peer_s;
    const char *trace = view->trace;
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
                    (unsigned long long) result->run_failed_retried, SIM_RETRIES);
        printf ("          traffic %.0f bytes/s and %.1f messages/s per peer\n", bytes_per_peer_s,
                msgs_per_peer_s);
    }
    if (result->converge_ms != UINT64_MAX)
        printf ("quiet     exact %.1f s into the %.1f s quiet period\n", result->converge_ms / 1000.0,
                opt->quiet_s);
    printf ("lookups   %llu, failures %llu; hops mean %.2f, p50 %u, p99 %u, max %u\n",
            (unsigned long long) result->after.issued, (unsigned long long) sim_failures (&result->after),
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

/* On a violation: what broke, the members around the culprit, how to replay (stderr). */
static void s_print_violation (const sim_options_t *opt, const sim_result_t *result, simnet_t *net)
{
    if (!result->violated)
        return;
    fprintf (stderr, "chord-sim: INVARIANT VIOLATED, seed %llu, at %.3f s (%s phase): %s\n",
             (unsigned long long) opt->seed, result->violation_ms / 1000.0,
             sim_phase_names[result->violation_phase], result->what);
    if (net && result->culprit != SIMNET_NONE) {
        fprintf (stderr, "chord-sim: the members around node %zu by id:\n", result->culprit);
        simcheck_dump (net, result->culprit,
                       getenv ("SIM_DUMP_RADIUS") ? (size_t) atoi (getenv ("SIM_DUMP_RADIUS")) : 3,
                       stderr);
    }
    fprintf (stderr, "chord-sim: replay with: %s\n", opt->replay);
}

void sim_print_run (const sim_options_t *opt, sim_result_t *result, simnet_t *net)
{
    s_view_t view = {.hops = sim_hop_stats (&result->after), .stats = net ? simnet_stats (net) : NULL};
    view.bytes_per_peer_s = result->run_node_s > 0 ? result->run_bytes / result->run_node_s : 0;
    view.msgs_per_peer_s = result->run_node_s > 0 ? result->run_messages / result->run_node_s : 0;
    snprintf (view.trace, sizeof view.trace, "%016llx",
              (unsigned long long) (net ? simnet_trace_hash (net) : 0));
    if (opt->json)
        s_print_json (opt, result, net, &view);
    else
        s_print_text (opt, result, net, &view);
    fflush (stdout);
    s_print_violation (opt, result, net);
}

void sim_table_row (sim_table_t *table, json_t *row)
{
    if (table->rows)
        json_array_append_new (table->rows, row);
    else
        json_decref (row);
}

/* Prints the table's JSON (with --json); takes ownership of extra (may be NULL). */
void sim_table_end (sim_table_t *table, const char *name, json_t *extra)
{
    if (!table->rows) {
        json_decref (extra);
        return;
    }
    json_t *root = json_object ();
    json_object_set_new (root, "scenario", json_string (name));
    json_object_set_new (root, "seed", sim_json_u64 (table->opt->seed));
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
