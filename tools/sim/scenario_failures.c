/*  chord-sim --scenario failures.  */
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

static void s_header (size_t n, size_t r, size_t lookups, uint64_t seed)
{
    printf (
        "Lookups right after a fraction p of %zu peers crash at once, before any repair (no "
        "stabilization\n"
        "runs); r = %zu%s; %zu lookups of random keys from random live peers; seed %llu.\n"
        "wrong: the answer is not successor(key) among the live peers. owner died: the key's owner "
        "before\n"
        "the crash is dead, its data lost without replication (the paper's failed lookups, about p).\n"
        "paper columns: ToN 2003 Table II as recalled (unverified).\n\n",
        n, r, r < 20 ? " (the paper: 20)" : "", lookups,
        (unsigned long long) seed);
    printf ("%5s %7s %9s %11s %12s %7s %5s %5s %11s %9s %10s\n", "p", "wrong", "no answer", "owner died",
            "failed, owner", "hops", "p1", "p99", "paper hops", "timeouts", "paper tmo");
    printf ("%5s %7s %9s %11s %12s %7s %5s %5s %11s %9s %10s\n", "", "", "", "", "alive", "", "", "", "",
            "/lookup", "/lookup");
}

static json_t *s_row_json (double p, size_t lookups, const sim_lookups_t *after, size_t owner_died,
                           const sim_hop_stats_t *hops, double tmo_per_lookup)
{
    json_t *row = json_object ();
    json_object_set_new (row, "fail_fraction", json_real (p));
    json_object_set_new (row, "lookups", sim_json_u64 (lookups));
    json_object_set_new (row, "wrong", sim_json_u64 (after->wrong));
    json_object_set_new (row, "unanswered", sim_json_u64 (after->unanswered + after->refused));
    json_object_set_new (row, "owner_died", sim_json_u64 (owner_died));
    json_object_set_new (row, "failed_owner_alive", sim_json_u64 (after->failed_owner_alive));
    json_object_set_new (row, "hops_mean", json_real (hops->mean));
    json_object_set_new (row, "hops_p1", sim_json_u64 (hops->p1));
    json_object_set_new (row, "hops_p99", sim_json_u64 (hops->p99));
    json_object_set_new (row, "timeouts_per_lookup", json_real (tmo_per_lookup));
    return row;
}

/* Lookups right after a fraction of the peers failed at once, before any repair. */
int scenario_failures_run (const sim_options_t *opt, sim_table_t *table)
{
    size_t n = opt->nodes ? opt->nodes : 1000;
    size_t lookups = opt->lookups ? opt->lookups : (opt->quick ? 2000 : 10000);
    size_t r = opt->successors_given ? opt->successors : CHORD_SUCCESSORS_MAX;
    static const double ps[] = {0, 0.1, 0.2, 0.3, 0.4, 0.5};
    /* The Chord paper (ToN 2003, Table II: 1,000 nodes, r = 20): mean path length and timeouts per
       lookup, as recalled, not checked against the paper's text. */
    static const char *paper_path[] = {"3.84", "4.03", "4.22", "4.44", "4.69", "5.09"};
    static const char *paper_tmo[] = {"0.00", "0.60", "1.17", "2.02", "3.23", "5.10"};
    sim_options_t local = *opt;
    local.tmo_ms = 120000;
    if (!table->rows)
        s_header (n, r, lookups, opt->seed);
    int rc = 0;
    for (size_t pi = 0; pi < sizeof ps / sizeof ps[0]; pi++) {
        simnet_t *net = sim_net_new (&local, 3600000, r);
        sim_t sim;
        sim_result_t result;
        sim_init (&sim, &local, &result, net);
        simnet_build_ring (net, n);
        /* Remember the owners of the keys to be looked up. */
        uint64_t *key_numbers = malloc (lookups * sizeof *key_numbers);
        size_t owner_died = 0;
        const size_t *sorted;
        size_t members = simnet_members (net, &sorted);
        size_t *victims = malloc (members * sizeof *victims);
        bool *dead = calloc (simnet_node_count (net), sizeof *dead);
        if (!key_numbers || !victims || !dead) {
            free (key_numbers);
            free (victims);
            free (dead);
            simnet_destroy (&net);
            return -1;
        }
        memcpy (victims, sorted, members * sizeof *victims);
        size_t crash = (size_t) (ps[pi] * (double) members + 0.5);
        for (size_t i = 0; i < crash; i++) {
            size_t j = i + simrng_below (&sim.rng, members - i);
            size_t victim = victims[j];
            victims[j] = victims[i];
            victims[i] = victim;
        }
        for (size_t i = 0; i < crash; i++)
            dead[victims[i]] = true;
        for (size_t i = 0; i < lookups; i++)
            key_numbers[i] = simrng_next (&sim.rng);
        bool *owner_dead = calloc (lookups, sizeof *owner_dead);
        for (size_t i = 0; owner_dead && i < lookups; i++) {
            char key[32];
            sim_key_name (key, sizeof key, key_numbers[i]);
            chord_id_t id;
            chord_id_hash (&id, key, strlen (key));
            owner_dead[i] = dead[simnet_owner (net, &id)];
            owner_died += owner_dead[i];
        }
        sim.owner_dead = owner_dead;
        for (size_t i = 0; i < crash; i++)
            simnet_crash (net, victims[i]);
        uint64_t timeouts0 = 0;
        for (size_t i = 0; i < simnet_node_count (net); i++)
            if (simnet_node (net, i))
                timeouts0 += chord_node_stats (simnet_node (net, i))->rpc_timeouts;
        sim_measure_lookups (&sim, &result.after, lookups, key_numbers);
        uint64_t timeouts = 0;
        for (size_t i = 0; i < simnet_node_count (net); i++)
            if (simnet_node (net, i))
                timeouts += chord_node_stats (simnet_node (net, i))->rpc_timeouts;
        timeouts -= timeouts0;
        sim_hop_stats_t hops = sim_hop_stats (&result.after);
        double tmo_per_lookup = (double) timeouts / (double) lookups;
        rc |= result.after.failed_owner_alive ? -1 : 0;
        if (!table->rows)
            printf ("%5.2f %6.2f%% %8.2f%% %10.2f%% %11.2f%% %7.2f %5u %5u %11s %9.2f %10s\n", ps[pi],
                    100.0 * result.after.wrong / lookups,
                    100.0 * (result.after.unanswered + result.after.refused) / lookups,
                    100.0 * owner_died / lookups, 100.0 * result.after.failed_owner_alive / lookups,
                    hops.mean, hops.p1, hops.p99, paper_path[pi], tmo_per_lookup, paper_tmo[pi]);
        sim_table_row (table, s_row_json (ps[pi], lookups, &result.after, owner_died, &hops, tmo_per_lookup));
        free (key_numbers);
        free (victims);
        free (dead);
        free (owner_dead);
        free (result.after.hops);
        simnet_destroy (&net);
        fflush (stdout);
    }
    sim_table_end (table, "failures", NULL);
    return rc;
}
