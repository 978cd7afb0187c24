/*  chord-sim --scenario movement.  */
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

/* Places key i straight into its owner's store, as if stored long ago. */
static void s_preload_keys (simnet_t *net, size_t keys)
{
    for (size_t i = 0; i < keys; i++) {
        char key[32], value[48];
        sim_key_name (key, sizeof key, i);
        sim_value_name (value, sizeof value, i);
        chord_id_t id;
        chord_id_hash (&id, key, strlen (key));
        chord_store_put (simnet_node_store (net, simnet_owner (net, &id)), (const uint8_t *) key,
                         strlen (key), (const uint8_t *) value, strlen (value));
    }
}

/* Every key sits in the store of its owner and nowhere else; returns misplaced ones. */
typedef struct {
    simnet_t *net;
    size_t node;
    size_t misplaced;
    size_t total;
} s_placement_t;

static int s_check_placement (void *arg, const chord_id_t *key_id, const uint8_t *key, size_t key_len,
                              const uint8_t *value, size_t value_len)
{
    (void) key;
    (void) key_len;
    (void) value;
    (void) value_len;
    s_placement_t *placement = arg;
    placement->total++;
    if (simnet_owner (placement->net, key_id) != placement->node)
        placement->misplaced++;
    return 0;
}

static uint64_t s_sum_stat (simnet_t *net, bool taken)
{
    uint64_t sum = 0;
    for (size_t i = 0; i < simnet_node_count (net); i++) {
        chord_node_t *node = simnet_node (net, i);
        if (node)
            sum +=
                taken ? chord_node_stats (node)->keys_taken_over : chord_node_stats (node)->keys_handed_off;
    }
    return sum;
}

/* One join: returns the keys it took over; *exact says whether they were
   exactly those of (pred, joiner] and all of them sit in its store. */
static uint64_t s_join_trial (sim_t *sim, size_t keys, bool *exact)
{
    simnet_t *net = sim->net;
    uint64_t taken0 = s_sum_stat (net, true);
    size_t joiner = sim_join_one (sim);
    uint64_t limit = simnet_now (net) + 60000;
    while (!simnet_is_member (net, joiner) && simnet_now (net) < limit)
        simnet_run_until (net, simnet_now (net) + 10);
    simnet_run_until (net, simnet_now (net) + 2000);
    uint64_t moved = s_sum_stat (net, true) - taken0;
    s_placement_t placement = {.net = net, .node = joiner};
    chord_id_t zero;
    memset (&zero, 0, sizeof zero);
    chord_store_range (simnet_node_store (net, joiner), &zero, &zero, s_check_placement, &placement);
    size_t owned = 0;
    for (size_t i = 0; i < keys; i++) {
        char key[32];
        sim_key_name (key, sizeof key, i);
        chord_id_t id;
        chord_id_hash (&id, key, strlen (key));
        owned += simnet_owner (net, &id) == joiner;
    }
    *exact = moved == owned && placement.misplaced == 0 && placement.total == owned;
    return moved;
}

/* One leave: returns the keys handed over; *exact says whether they were all it held. */
static uint64_t s_leave_trial (sim_t *sim, bool *exact)
{
    simnet_t *net = sim->net;
    size_t leaver = sim_random_member (sim, true);
    size_t held = chord_store_count (simnet_node_store (net, leaver));
    /* The leaver's own count leaves the sum with it. */
    uint64_t taken1 =
        s_sum_stat (net, true) - chord_node_stats (simnet_node (net, leaver))->keys_taken_over;
    simnet_leave (net, leaver);
    uint64_t limit = simnet_now (net) + 60000;
    while (simnet_node_status (net, leaver) == SIMNET_NODE_UP && simnet_now (net) < limit)
        simnet_run_until (net, simnet_now (net) + 10);
    simnet_run_until (net, simnet_now (net) + 2000);
    uint64_t moved = s_sum_stat (net, true) - taken1;
    *exact = moved == held;
    if (moved != held && sim->opt->log_level >= 0)
        fprintf (stderr, "%10.3f leave of node %zu: held %zu keys, %llu moved\n",
                 simnet_now (net) / 1000.0, leaver, held, (unsigned long long) moved);
    return moved;
}

/* Keys moved by one join and by one leave, against K/N. */
int scenario_movement_run (const sim_options_t *opt, sim_table_t *table)
{
    size_t n = opt->nodes ? opt->nodes : 1000;
    size_t keys = opt->keys ? opt->keys : 100000;
    size_t trials = opt->quick ? 10 : 100;
    simnet_t *net = sim_net_new (opt, 30000, opt->successors);
    sim_t sim;
    sim_result_t result;
    sim_init (&sim, opt, &result, net);
    if (simnet_build_ring (net, n) != 0)
        return -1;
    s_preload_keys (net, keys);
    double ideal = (double) keys / (double) n;
    double join_sum = 0, leave_sum = 0, join_max = 0, leave_max = 0;
    size_t join_exact = 0, leave_exact = 0;
    for (size_t t = 0; t < trials; t++) {
        /* A join: it must take exactly the keys of (pred, joiner]. */
        bool exact;
        uint64_t moved = s_join_trial (&sim, keys, &exact);
        join_exact += exact;
        join_sum += moved / ideal;
        if (moved / ideal > join_max)
            join_max = moved / ideal;

        /* A leave: it must hand over exactly what it holds. */
        moved = s_leave_trial (&sim, &exact);
        leave_exact += exact;
        leave_sum += moved / ideal;
        if (moved / ideal > leave_max)
            leave_max = moved / ideal;
    }
    /* At the end every key must sit with its owner. */
    size_t misplaced = 0, total = 0;
    for (size_t i = 0; i < simnet_node_count (net); i++) {
        chord_store_t *store = simnet_node_store (net, i);
        if (!store)
            continue;
        s_placement_t placement = {.net = net, .node = i};
        chord_id_t zero;
        memset (&zero, 0, sizeof zero);
        chord_store_range (store, &zero, &zero, s_check_placement, &placement);
        misplaced += placement.misplaced;
        total += placement.total;
    }
    if (!table->rows) {
        printf ("Keys moved by one join and by one leave, relative to K/N = %.0f (%zu peers, %zu keys, %zu "
                "joins and\n"
                "%zu leaves, alternating); seed %llu. Ideal (and the paper): 1.0 on average, and only the "
                "keys of\n"
                "the arc that changes hands.\n\n",
                ideal, n, keys, trials, trials, (unsigned long long) opt->seed);
        printf ("%-6s %12s %12s %28s\n", "event", "mean moved", "max moved", "moved exactly the arc");
        printf ("%-6s %11.2fx %11.2fx %21zu of %zu\n", "join", join_sum / trials, join_max, join_exact,
                trials);
        printf ("%-6s %11.2fx %11.2fx %21zu of %zu\n", "leave", leave_sum / trials, leave_max, leave_exact,
                trials);
        printf ("\nafterwards: %zu keys stored, %zu of them away from their owner\n", total, misplaced);
    }
    json_t *row = json_object ();
    json_object_set_new (row, "event", json_string ("join"));
    json_object_set_new (row, "mean_over_ideal", json_real (join_sum / trials));
    json_object_set_new (row, "max_over_ideal", json_real (join_max));
    json_object_set_new (row, "exact", sim_json_u64 (join_exact));
    json_object_set_new (row, "trials", sim_json_u64 (trials));
    sim_table_row (table, row);
    row = json_object ();
    json_object_set_new (row, "event", json_string ("leave"));
    json_object_set_new (row, "mean_over_ideal", json_real (leave_sum / trials));
    json_object_set_new (row, "max_over_ideal", json_real (leave_max));
    json_object_set_new (row, "exact", sim_json_u64 (leave_exact));
    json_object_set_new (row, "trials", sim_json_u64 (trials));
    sim_table_row (table, row);
    json_t *extra = json_object ();
    json_object_set_new (extra, "keys_misplaced", sim_json_u64 (misplaced));
    sim_table_end (table, "movement", extra);
    simnet_destroy (&net);
    return misplaced || join_exact < trials || leave_exact < trials ? -1 : 0;
}
