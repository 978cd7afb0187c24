/*  The whole chord-sim run: build, keys, a run phase with faults and churn,
    a quiet period, then lookups and reads checked against the ring.  */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim.h"

/* Splits the ring: the lower half of the up nodes by id on side 1. */
static void s_partition_start (void *arg, simnet_t *net, uint64_t token)
{
    (void) token;
    sim_t *sim = arg;
    if (sim->phase != SIM_PHASE_RUN)
        return;
    const size_t *sorted;
    size_t count = simnet_members (net, &sorted);
    for (size_t i = 0; i < simnet_node_count (net); i++)
        simnet_set_side (net, i, 0);
    for (size_t k = 0; k < count / 2; k++)
        simnet_set_side (net, sorted[k], 1);
    simnet_partition (net, true);
    sim->tainted_until_ms = UINT64_MAX;
}

/* How long after a partition heals ring safety is void: suspicions of the
   far side lapse (max (3 stabilize, 2 rpc timeouts) each, twice over) and
   stabilization merges the two rings (ten rounds). */
static uint64_t s_heal_grace_ms (const sim_options_t *opt)
{
    uint64_t suspicion = 3 * (uint64_t) opt->stabilize_ms;
    if (suspicion < 2 * (uint64_t) opt->rpc_timeout_ms)
        suspicion = 2 * (uint64_t) opt->rpc_timeout_ms;
    return 4 * suspicion + 10 * (uint64_t) opt->stabilize_ms;
}

static void s_partition_end (void *arg, simnet_t *net, uint64_t token)
{
    (void) token;
    sim_t *sim = arg;
    simnet_partition (net, false);
    sim->tainted_until_ms = simnet_now (net) + s_heal_grace_ms (sim->opt);
}

static bool s_tainted (const sim_t *sim)
{
    return sim->tainted_until_ms && simnet_now (sim->net) < sim->tainted_until_ms;
}

static void s_traffic (simnet_t *net, uint64_t *messages, uint64_t *bytes)
{
    const simnet_stats_t *stats = simnet_stats (net);
    *messages = stats->sent;
    *bytes = stats->sent_bytes;
}

/* Builds the ring (directly or by joins) and checks it is exact; 0 or -1. */
static int s_build (sim_t *sim)
{
    const sim_options_t *opt = sim->opt;
    if (opt->build_join) {
        if (sim_build_join (sim, opt->nodes) != 0)
            return -1;
    } else if (simnet_build_ring (sim->net, opt->nodes) != 0) {
        sim_violation (sim, "cannot build a ring of %zu nodes", opt->nodes);
        return -1;
    }
    sim->result->build_ms = simnet_now (sim->net);
    return sim_check (sim, SIMCHECK_QUIET, "after the build");
}

/* Crashes --fail-fraction of the members at once; 0 or -1. */
static int s_fail_at_once (sim_t *sim)
{
    const size_t *sorted;
    size_t count = simnet_members (sim->net, &sorted);
    size_t *victims = malloc ((count ? count : 1) * sizeof *victims);
    if (!victims) {
        sim_violation (sim, "out of memory");
        return -1;
    }
    memcpy (victims, sorted, count * sizeof *victims);
    size_t crash = (size_t) (sim->opt->fail_fraction * (double) count + 0.5);
    for (size_t i = 0; i < crash && i < count; i++) {
        size_t j = i + simrng_below (&sim->rng, count - i);
        size_t victim = victims[j];
        victims[j] = victims[i];
        sim_crash (sim, victim);
    }
    sim->result->failed_at_once = crash;
    free (victims);
    return 0;
}

/* Schedules the run phase's churn, sessions, lookups and partition. */
static void s_schedule (sim_t *sim, uint64_t run_start)
{
    const sim_options_t *opt = sim->opt;
    simnet_t *net = sim->net;
    if (opt->churn_rate > 0)
        simnet_at (net,
                   run_start + 1 +
                       (uint64_t) simrng_exponential (&sim->rng, opt->stabilize_ms / opt->churn_rate),
                   sim_on_churn_event, sim, 0);
    if (opt->session_median_s > 0) {
        const size_t *sorted;
        size_t count = simnet_members (net, &sorted);
        double mean_ms = opt->session_median_s * 1000 / simrng_ln (2);
        for (size_t k = 0; k < count; k++)
            simnet_at (net, run_start + (uint64_t) simrng_exponential (&sim->rng, mean_ms),
                       sim_on_session_end, sim, sorted[k]);
    }
    if (opt->lookup_rate > 0 && opt->duration_s > 0)
        simnet_at (net, run_start + (uint64_t) simrng_exponential (&sim->rng, 1000.0 / opt->lookup_rate),
                   sim_on_run_lookup, sim, 0);
    if (opt->partition && opt->duration_s > 0) {
        double length_s = opt->partition_s > 0 ? opt->partition_s : opt->duration_s / 2;
        if (length_s > opt->duration_s)
            length_s = opt->duration_s;
        uint64_t begin = run_start + (uint64_t) ((opt->duration_s - length_s) / 2 * 1000);
        simnet_at (net, begin, s_partition_start, sim, 0);
        simnet_at (net, begin + (uint64_t) (length_s * 1000), s_partition_end, sim, 0);
    }
}

/* The run phase: faults and churn, checked every check_ms (0: never); 0 or -1. */
static int s_run_phase (sim_t *sim, uint64_t check_ms)
{
    const sim_options_t *opt = sim->opt;
    sim_result_t *result = sim->result;
    simnet_t *net = sim->net;
    sim->phase = SIM_PHASE_RUN;
    uint64_t run_start = simnet_now (net);
    uint64_t run_end = run_start + (uint64_t) (opt->duration_s * 1000);
    result->run_s = opt->duration_s;
    simnet_set_faults (net, opt->loss, opt->dup);
    if (opt->fail_fraction > 0 && s_fail_at_once (sim) != 0)
        return -1;
    s_schedule (sim, run_start);
    uint64_t messages0, bytes0;
    s_traffic (net, &messages0, &bytes0);
    simnet_stats_t stats0 = *simnet_stats (net);
    uint64_t slice_ms = check_ms ? check_ms : 1000;
    while (simnet_now (net) < run_end) {
        uint64_t from = simnet_now (net);
        uint64_t to = from + slice_ms < run_end ? from + slice_ms : run_end;
        simnet_run_until (net, to);
        result->run_node_s += (double) sim_up_count (net) * (double) (to - from) / 1000.0;
        if (check_ms && !s_tainted (sim) &&
            sim_check (sim, opt->strict ? SIMCHECK_STRICT : SIMCHECK_SAFETY, "during the run") != 0)
            return -1;
    }
    uint64_t messages1, bytes1;
    s_traffic (net, &messages1, &bytes1);
    result->run_messages = messages1 - messages0;
    result->run_bytes = bytes1 - bytes0;
    const simnet_stats_t *stats1 = simnet_stats (net);
    for (size_t t = 0; t < SIMNET_TYPES_MAX; t++) {
        result->run_bytes_by_type[t] = stats1->sent_bytes_by_type[t] - stats0.sent_bytes_by_type[t];
        result->run_messages_by_type[t] = stats1->sent_by_type[t] - stats0.sent_by_type[t];
    }
    result->partition_dropped = simnet_stats (net)->dropped_partition;
    return 0;
}

/* The quiet period: no churn, no faults, until the ring is exact; 0 or -1. */
static int s_quiet (sim_t *sim, uint64_t check_ms)
{
    const sim_options_t *opt = sim->opt;
    sim_result_t *result = sim->result;
    simnet_t *net = sim->net;
    sim->phase = SIM_PHASE_QUIET;
    simnet_set_faults (net, 0, 0);
    simnet_partition (net, false);
    uint64_t quiet_start = simnet_now (net);
    uint64_t quiet_end = quiet_start + (uint64_t) (opt->quiet_s * 1000);
    /* Probe for exactness every check interval (every stabilize interval when
       continuous checks are off), to learn how long the ring took. */
    uint64_t probe_ms = check_ms ? check_ms : opt->stabilize_ms;
    for (;;) {
        if (result->converge_ms == UINT64_MAX) {
            result->checks++;
            if (simcheck_ring (net, SIMCHECK_QUIET, &result->report, NULL, 0) == 0)
                result->converge_ms = simnet_now (net) - quiet_start;
            else if (check_ms && !s_tainted (sim) &&
                     sim_check (sim, opt->strict ? SIMCHECK_STRICT : SIMCHECK_SAFETY,
                                "during the quiet period") != 0)
                return -1;
        }
        if (simnet_now (net) >= quiet_end)
            break;
        uint64_t to = simnet_now (net) + probe_ms;
        simnet_run_until (net, to < quiet_end ? to : quiet_end);
    }
    char when[64];
    snprintf (when, sizeof when, "after a quiet period of %.1f s", opt->quiet_s);
    if (sim_check (sim, SIMCHECK_QUIET, when) != 0)
        return -1;
    if (result->converge_ms == UINT64_MAX)
        result->converge_ms = simnet_now (net) - quiet_start;
    return 0;
}

/* Lookups and data, on the quiet ring. */
static void s_measure (sim_t *sim)
{
    sim_result_t *result = sim->result;
    sim->phase = SIM_PHASE_MEASURE;
    sim_measure_lookups (sim, &result->after, sim->opt->lookups, NULL);
    if (sim_failures (&result->after) > 0)
        sim_violation (
            sim,
            "%llu of %llu lookups after the quiet period did not name successor(key): %llu wrong, %llu "
            "unanswered, %llu refused",
            (unsigned long long) sim_failures (&result->after), (unsigned long long) result->after.issued,
            (unsigned long long) result->after.wrong, (unsigned long long) result->after.unanswered,
            (unsigned long long) result->after.refused);
    if (sim->opt->keys && sim->key_state)
        sim_data_ops (sim, CHORD_MSG_CLIENT_GET);
    sim_check (sim, SIMCHECK_QUIET, "at the end");
}

/* The whole run: build, keys, run phase, quiet period, lookups, data. */
void sim_simulate (const sim_options_t *opt, sim_result_t *result, simnet_t **net_p)
{
    sim_t sim_struct = {
        .opt = opt, .result = result, .phase = SIM_PHASE_BUILD, .leave_fraction = opt->leave_fraction};
    sim_t *sim = &sim_struct;
    result->converge_ms = UINT64_MAX;
    result->culprit = SIMNET_NONE;
    simnet_t *net = sim_net_new (opt, opt->stabilize_ms, opt->successors);
    *net_p = net;
    if (!net) {
        sim_violation (sim, "cannot create the network");
        return;
    }
    sim->net = net;
    simrng_t root;
    simrng_seed (&root, opt->seed);
    simrng_fork (&sim->rng, &root, SIM_SCENARIO_STREAM);
    simnet_on_reply (net, sim_on_reply, sim);
    if (opt->trace_lookups)
        sim->trace = simtrace_new (net);
    if (opt->keys)
        sim->key_state = calloc (opt->keys, 1);
    uint64_t check_ms = (uint64_t) (opt->check_ms < 0 ? opt->stabilize_ms : opt->check_ms);
    if (s_build (sim) == 0) {
        /* Keys, stored while the network is fault-free. */
        sim->phase = SIM_PHASE_KEYS;
        if (opt->keys && sim->key_state)
            sim_data_ops (sim, CHORD_MSG_CLIENT_PUT);
        if (s_run_phase (sim, check_ms) == 0 && s_quiet (sim, check_ms) == 0)
            s_measure (sim);
    }
    const size_t *sorted;
    result->members = simnet_members (net, &sorted);
    free (sim->runs);
    free (sim->key_state);
    simtrace_destroy (&sim->trace);
}
