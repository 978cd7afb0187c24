/*  chord-sim --scenario durability.  */
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
#include "simdurable.h"
#include "store.h"
#include "util.h"

/* The replication counters of the live nodes, summed. */
static void s_replication_stats (simnet_t *net, chord_node_stats_t *sum)
{
    memset (sum, 0, sizeof *sum);
    for (size_t i = 0; i < simnet_node_count (net); i++) {
        chord_node_t *node = simnet_node (net, i);
        if (!node)
            continue;
        const chord_node_stats_t *stats = chord_node_stats (node);
        sum->replica_items_kept += stats->replica_items_kept;
        sum->writes_no_quorum += stats->writes_no_quorum;
        sum->read_repairs += stats->read_repairs;
        sum->sync_rounds += stats->sync_rounds;
        sum->sync_items_sent += stats->sync_items_sent;
    }
}

/* A durability run and what is printed of it. */
typedef struct {
    const sim_options_t *opt;         /* as given */
    sim_options_t local;              /* with the scenario's defaults */
    simdurable_config_t config;       /* the churn and writes */
    uint32_t sync_ms;                 /* anti-entropy interval */
    simnet_t *net;                    /* owned */
    uint64_t build_ms;                /* virtual time the build took */
    simdurable_result_t result;       /* simdurable's */
    chord_node_stats_t replication;   /* the live nodes' replication counters */
    char trace[17];                   /* the trace hash in hex */
    double wall_s;                    /* the whole scenario */
    char what[512];                   /* what failed, or "" */
    bool failed;
    double repair_s[4];               /* mean, p50, p90, max */
} s_run_t;

static void s_print_json (s_run_t *run, sim_table_t *table)
{
    bool failed = run->failed;
    double wall_s = run->wall_s;
    uint64_t build_ms = run->build_ms;
    uint32_t sync_ms = run->sync_ms;
    const sim_options_t *opt = run->opt, *local = &run->local;
    const simdurable_config_t *config = &run->config;
    const simdurable_result_t *result = &run->result;
    const chord_node_stats_t *replication = &run->replication;
    const simnet_stats_t *stats = simnet_stats (run->net);
    simnet_t *net = run->net;
    const char *trace = run->trace, *what = run->what;
    const double *repair_s = run->repair_s;
    json_t *root = json_object ();
    json_object_set_new (root, "scenario", json_string ("durability"));
    json_object_set_new (root, "seed", sim_json_u64 (opt->seed));
    json_object_set_new (root, "nodes", sim_json_u64 (local->nodes));
    json_object_set_new (root, "build", json_string (local->build_join ? "join" : "direct"));
    json_object_set_new (root, "replicas", sim_json_u64 (local->replicas));
    json_object_set_new (root, "write_quorum", sim_json_u64 (local->write_quorum));
    json_object_set_new (root, "sync_ms", sim_json_u64 (sync_ms));
    json_object_set_new (root, "successors", sim_json_u64 (local->successors));
    json_object_set_new (root, "ok", json_boolean (!failed));
    json_object_set_new (root, "churn_events", sim_json_u64 (config->churn_events));
    json_object_set_new (root, "crashes", sim_json_u64 (result->crashes));
    json_object_set_new (root, "leaves", sim_json_u64 (result->leaves));
    json_object_set_new (root, "joins", sim_json_u64 (result->joins));
    json_object_set_new (root, "restarts", sim_json_u64 (result->restarts));
    json_object_set_new (root, "departures_refused", sim_json_u64 (result->refused_departures));
    json_object_set_new (root, "writes", sim_json_u64 (result->writes));
    json_object_set_new (root, "writes_acked", sim_json_u64 (result->writes_acked));
    json_object_set_new (root, "writes_maybe", sim_json_u64 (result->writes_maybe));
    json_object_set_new (root, "keys", sim_json_u64 (result->keys));
    json_object_set_new (root, "keys_acked", sim_json_u64 (result->keys_acked));
    json_object_set_new (root, "reads_right", sim_json_u64 (result->reads_right));
    json_object_set_new (root, "writes_lost", sim_json_u64 (result->lost));
    json_object_set_new (root, "lost_not_found", sim_json_u64 (result->lost_missing));
    json_object_set_new (root, "lost_other_value", sim_json_u64 (result->lost_stale));
    json_object_set_new (root, "lost_unanswered", sim_json_u64 (result->lost_unanswered));
    json_object_set_new (root, "keys_under_replicated", sim_json_u64 (result->under_replicated));
    json_object_set_new (root, "copies_missing", sim_json_u64 (result->copies_missing));
    json_object_set_new (root, "copies_extra", sim_json_u64 (result->copies_extra));
    json_object_set_new (root, "crashes_measured", sim_json_u64 (result->crashes_measured));
    json_object_set_new (root, "crashes_repaired", sim_json_u64 (result->crashes_repaired));
    static const char *repair_names[] = {"repair_mean_s", "repair_p50_s", "repair_p90_s", "repair_max_s"};
    for (size_t i = 0; i < 4; i++)
        json_object_set_new (root, repair_names[i],
                             result->crashes_repaired ? json_real (repair_s[i]) : json_null ());
    json_object_set_new (root, "ring_exact", json_boolean (result->ring_exact));
    json_object_set_new (root, "members", sim_json_u64 (result->members));
    json_object_set_new (root, "sync_rounds", sim_json_u64 (replication->sync_rounds));
    json_object_set_new (root, "sync_items_sent", sim_json_u64 (replication->sync_items_sent));
    json_object_set_new (root, "replica_items_kept", sim_json_u64 (replication->replica_items_kept));
    json_object_set_new (root, "read_repairs", sim_json_u64 (replication->read_repairs));
    json_object_set_new (root, "writes_no_quorum", sim_json_u64 (replication->writes_no_quorum));
    json_object_set_new (root, "trace_hash", json_string (trace));
    json_object_set_new (root, "events", sim_json_u64 (stats->events));
    json_object_set_new (root, "messages", sim_json_u64 (stats->sent));
    json_object_set_new (root, "build_ms", sim_json_u64 (build_ms));
    json_object_set_new (root, "sim_ms", sim_json_u64 (simnet_now (net)));
    json_object_set_new (root, "wall_s", json_real (wall_s));
    if (failed) {
        json_t *violation = json_object ();
        json_object_set_new (violation, "what", json_string (what[0] ? what : "the run failed"));
        json_object_set_new (violation, "at_ms", sim_json_u64 (simnet_now (net)));
        json_object_set_new (violation, "phase", json_string (sim_phase_names[SIM_PHASE_MEASURE]));
        json_object_set_new (violation, "replay", json_string (opt->replay));
        json_object_set_new (root, "violation", violation);
    } else
        json_object_set_new (root, "violation", json_null ());
    char *text = json_dumps (root, JSON_PRESERVE_ORDER | JSON_REAL_PRECISION (6));
    if (text)
        puts (text);
    free (text);
    json_decref (root);
    json_decref (table->rows);
    table->rows = NULL;
}

static void s_print_text (s_run_t *run)
{
    uint32_t sync_ms = run->sync_ms;
    const sim_options_t *opt = run->opt, *local = &run->local;
    const simdurable_config_t *config = &run->config;
    const simdurable_result_t *result = &run->result;
    const chord_node_stats_t *replication = &run->replication;
    const simnet_stats_t *stats = simnet_stats (run->net);
    simnet_t *net = run->net;
    const char *trace = run->trace;
    const double *repair_s = run->repair_s;
    char quorum[32] = "a majority";
    if (local->write_quorum)
        snprintf (quorum, sizeof quorum, "%zu", local->write_quorum);
    printf ("Durability: %zu peers built by %s, R = %zu copies, write quorum %s, anti-entropy\n"
            "every %u ms, stabilize %u ms, r = %zu; seed %llu. %zu churn events over %.0f s (silent\n"
            "crashes, graceful leaves (%.0f%% of departures), joins of fresh peers, restarts of crashed\n"
            "peers on their old store), %.0f puts/s (new keys and overwrites, one at a time per key),\n"
            "then %.0f s quiet; then every key with an acknowledged put is read back from a random\n"
            "member. Churn rule: no more than R - 1 of any R consecutive ring positions departed\n"
            "within %.1f s. Copies: those on the owner and the next R - 1 members, read from their\n"
            "stores.\n\n",
            local->nodes, local->build_join ? "joins" : "direct start", local->replicas,
            quorum, sync_ms, local->stabilize_ms, local->successors,
            (unsigned long long) opt->seed, config->churn_events, config->run_ms / 1000.0,
            100 * config->leave_fraction, config->write_rate, config->quiet_ms / 1000.0,
            config->repair_window_ms / 1000.0);
    printf ("churn     %llu crashes, %llu leaves, %llu joins, %llu restarts; %llu departures refused by "
            "the rule\n",
            (unsigned long long) result->crashes, (unsigned long long) result->leaves,
            (unsigned long long) result->joins, (unsigned long long) result->restarts,
            (unsigned long long) result->refused_departures);
    printf ("writes    %llu puts: %llu acknowledged, %llu maybe (refused or no answer); %llu keys, %llu "
            "with an acknowledged put\n",
            (unsigned long long) result->writes, (unsigned long long) result->writes_acked,
            (unsigned long long) result->writes_maybe, (unsigned long long) result->keys,
            (unsigned long long) result->keys_acked);
    printf ("reads     %llu right, %llu LOST (%llu not found, %llu another value, %llu unanswered)\n",
            (unsigned long long) result->reads_right, (unsigned long long) result->lost,
            (unsigned long long) result->lost_missing, (unsigned long long) result->lost_stale,
            (unsigned long long) result->lost_unanswered);
    printf ("copies    at the end %llu of %llu keys have fewer than %zu copies of their latest version "
            "(%llu copies short); %llu copies outside replica sets\n",
            (unsigned long long) result->under_replicated, (unsigned long long) result->keys_acked,
            local->replicas, (unsigned long long) result->copies_missing,
            (unsigned long long) result->copies_extra);
    printf ("repair    %llu crashes held acknowledged keys; %llu saw each key regain %zu copies",
            (unsigned long long) result->crashes_measured, (unsigned long long) result->crashes_repaired,
            local->replicas);
    if (result->crashes_repaired)
        printf (": mean %.1f s, p50 %.1f s, p90 %.1f s, max %.1f s", repair_s[0], repair_s[1],
                repair_s[2], repair_s[3]);
    printf ("\n");
    printf ("protocol  %llu sync rounds, %llu records shipped by sync, %llu replica items kept,\n"
            "          %llu read repairs, %llu writes short of quorum (live peers' counters)\n",
            (unsigned long long) replication->sync_rounds,
            (unsigned long long) replication->sync_items_sent,
            (unsigned long long) replication->replica_items_kept,
            (unsigned long long) replication->read_repairs,
            (unsigned long long) replication->writes_no_quorum);
    printf ("ring      %s after the quiet period, %zu members%s%s\n",
            result->ring_exact ? "exact" : "NOT exact", result->members, result->ring_exact ? "" : ": ",
            result->ring_exact ? "" : result->ring_why);
    printf ("trace     %s (%llu events, %llu messages, %.1f s virtual)\n", trace,
            (unsigned long long) stats->events, (unsigned long long) stats->sent,
            simnet_now (net) / 1000.0);
}

/* The run's configuration from the options. */
static void s_configure (const sim_options_t *opt, s_run_t *run)
{
    sim_options_t local = *opt;
    local.nodes = opt->nodes ? opt->nodes : 500;
    local.replicas = opt->replicas ? opt->replicas : 3;
    if (!opt->successors_given && local.successors < local.replicas)
        local.successors = local.replicas;
    uint32_t sync_ms = opt->sync_ms ? opt->sync_ms : 4 * opt->stabilize_ms;
    simdurable_config_t config = {
        .nodes = local.nodes,
        .replicas = local.replicas,
        .churn_events = opt->churn_events,
        .run_ms = (uint64_t) ((opt->duration_given ? opt->duration_s : (double) opt->churn_events) * 1000),
        .quiet_ms = (uint64_t) ((opt->quiet_given ? opt->quiet_s : 30) * 1000),
        .write_rate = opt->write_rate,
        .leave_fraction = opt->leave_given ? opt->leave_fraction : 0.3,
        .restart_fraction = 0.5,
        .loss = opt->loss,
        .dup = opt->dup,
        .repair_window_ms =
            opt->repair_window_s > 0 ? (uint64_t) (opt->repair_window_s * 1000) : 5 * (uint64_t) sync_ms,
        .check_ms = opt->check_ms > 0 ? (uint64_t) opt->check_ms : opt->stabilize_ms,
        .tmo_ms = opt->tmo_ms,
        .join_seeds = opt->join_seeds,
        .seed = opt->seed,
        .describe_lost = 5,
        .report = stderr,
    };
    run->opt = opt;
    run->local = local;
    run->config = config;
    run->sync_ms = sync_ms;
}

/* Fills in what failed, if anything, and the repair times. */
static void s_judge (s_run_t *run, int rc)
{
    const simdurable_result_t *result = &run->result;
    if (rc == 0 && result->lost)
        snprintf (run->what, sizeof run->what,
                  "%llu of %llu keys lost their last acknowledged write: %llu not found, %llu another value, "
                  "%llu unanswered",
                  (unsigned long long) result->lost, (unsigned long long) result->keys_acked,
                  (unsigned long long) result->lost_missing, (unsigned long long) result->lost_stale,
                  (unsigned long long) result->lost_unanswered);
    else if (rc == 0 && !result->ring_exact)
        snprintf (run->what, sizeof run->what, "the ring is not exact after the quiet period: %s",
                  result->ring_why);
    run->failed = rc != 0 || run->what[0];
    run->repair_s[0] = result->repair_mean_ms / 1000;
    run->repair_s[1] = result->repair_p50_ms / 1000.0;
    run->repair_s[2] = result->repair_p90_ms / 1000.0;
    run->repair_s[3] = result->repair_max_ms / 1000.0;
}

/*  Acknowledged writes through churn (simdurable): none may be lost, and
    after each crash every key it held must regain R copies.  */
int scenario_durability_run (const sim_options_t *opt, sim_table_t *table)
{
    double t0 = util_wall_s ();
    s_run_t run;
    memset (&run, 0, sizeof run);
    s_configure (opt, &run);
    simnet_config_t net_config;
    sim_net_config (&run.local, run.local.stabilize_ms, run.local.successors, &net_config);
    net_config.keep_crashed_stores = true;
    simnet_t *net = run.net = sim_net_from (&run.local, &net_config);
    if (!net) {
        sim_error ("cannot create the network (--successors %zu, --replicas %zu)", run.local.successors,
                   run.local.replicas);
        return -1;
    }
    sim_t sim;
    sim_result_t build;
    sim_init (&sim, &run.local, &build, net);
    sim.phase = SIM_PHASE_BUILD;
    int rc = run.local.build_join ? sim_build_join (&sim, run.local.nodes)
                                  : simnet_build_ring (net, run.local.nodes);
    run.build_ms = simnet_now (net);
    if (rc != 0)
        sim_error ("cannot build the ring: %s", build.violated ? build.what : "out of memory");
    else if ((rc = simdurable_run (net, &run.config, &run.result)) != 0)
        sim_error ("the durability run failed (out of memory?)");
    s_replication_stats (net, &run.replication);
    snprintf (run.trace, sizeof run.trace, "%016llx", (unsigned long long) simnet_trace_hash (net));
    run.wall_s = util_wall_s () - t0;
    s_judge (&run, rc);
    if (table->rows)
        s_print_json (&run, table);
    else
        s_print_text (&run);
    fflush (stdout);
    if (run.failed) {
        fprintf (stderr, "chord-sim: DURABILITY FAILED, seed %llu: %s\n", (unsigned long long) opt->seed,
                 run.what[0] ? run.what : "the run failed");
        fprintf (stderr, "chord-sim: replay with: %s\n", opt->replay);
    }
    free (build.after.hops);
    simnet_destroy (&net);
    return run.failed ? -1 : 0;
}
