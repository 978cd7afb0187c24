/*  chord-sim --scenario balance: how evenly random rings of 3, 6, 12 and
    48 processes share the ring, with one position per process (chordd's
    default before placement), with V random positions (endpoint#0..V-1, as
    random virtual nodes do, chordd --placement first), and with V positions
    picked at join by protocol/placement (chordd's default); then the maintenance traffic a process pays for V
    positions, beside one.  */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "id.h"
#include "node.h"
#include "placement.h"
#include "report.h"
#include "scenario.h"
#include "simrng.h"
#include "util.h"

#define S_LEAST 0.75            /* the share, against the mean, every process must own at least */
#define S_MOST 1.33             /* ... and at most */
#define S_PLACED_POSITIONS 4    /* positions per process picked by placement */

typedef enum { S_FIRST, S_PLACED } s_how_t;

/* One way of placing positions, as a table row. */
typedef struct {
    const char *name;
    s_how_t how;
    unsigned positions;         /* per process */
} s_placement_t;

static const s_placement_t s_placements[] = {
    {"one position", S_FIRST, 1},
    {"random vnodes", S_FIRST, 4},
    {"random vnodes", S_FIRST, 32},
    {"placed at join", S_PLACED, S_PLACED_POSITIONS},
};

/* Process p's candidate ids in ring number `ring` of a seed. */
static void s_candidates (chord_id_t candidates[CHORD_POSITIONS_MAX], uint64_t seed, size_t ring, size_t p)
{
    char endpoint[48];
    uint32_t host = (uint32_t) simrng_mix (seed ^ (0xba1aull << 32) ^ ring);
    snprintf (endpoint, sizeof endpoint, "tcp://10.%u.%u.%u:%zu", host >> 24, (host >> 16) & 0xff,
              (unsigned) ((host & 0xff) + p) & 0xff, 7000 + p);
    for (unsigned i = 0; i < CHORD_POSITIONS_MAX; i++)
        chord_id_of_position (&candidates[i], endpoint, i);
}

/*  Builds one ring of `processes` processes joining in turn, placed as
    placement says, into ring[] (room for processes x positions); sets
    ratio[p] to each process's share over the mean. Returns 0, or -1 when
    out of memory.  */
static int s_build (const s_placement_t *placement, uint64_t seed, size_t number, size_t processes,
                    chord_placement_position_t *ring, double *loads, double *ratio)
{
    size_t count = 0;
    for (size_t p = 0; p < processes; p++) {
        chord_id_t candidates[CHORD_POSITIONS_MAX];
        s_candidates (candidates, seed, number, p);
        uint8_t chosen[CHORD_POSITIONS_MAX] = {0};
        if (placement->how == S_FIRST)
            memset (chosen, 1, placement->positions);
        else if (chord_placement_pick (ring, count, p, candidates, CHORD_POSITIONS_MAX, placement->positions,
                                       chosen) != 0)
            return -1;
        for (unsigned i = 0; i < CHORD_POSITIONS_MAX; i++)
            if (chosen[i])
                ring[count++] = (chord_placement_position_t) {candidates[i], (uint32_t) p};
        chord_placement_sort (ring, count);
    }
    chord_placement_loads (ring, count, loads, processes);
    for (size_t p = 0; p < processes; p++)
        ratio[p] = loads[p] * (double) processes;
    return 0;
}

/* The figures of one row: rings within bounds, medians of the least and most loaded. */
typedef struct {
    size_t within;
    double least_median, most_median, least_worst, most_worst;
} s_figures_t;

static int s_measure (const s_placement_t *placement, uint64_t seed, size_t processes, size_t rings,
                      s_figures_t *figures)
{
    chord_placement_position_t *ring = calloc (processes * placement->positions, sizeof *ring);
    double *loads = calloc (processes, sizeof *loads), *ratio = calloc (processes, sizeof *ratio);
    double *least = calloc (rings, sizeof *least), *most = calloc (rings, sizeof *most);
    int rc = ring && loads && ratio && least && most ? 0 : -1;
    memset (figures, 0, sizeof *figures);
    for (size_t r = 0; rc == 0 && r < rings; r++) {
        if (s_build (placement, seed, r, processes, ring, loads, ratio) != 0) {
            rc = -1;
            break;
        }
        least[r] = most[r] = ratio[0];
        for (size_t p = 1; p < processes; p++) {
            least[r] = ratio[p] < least[r] ? ratio[p] : least[r];
            most[r] = ratio[p] > most[r] ? ratio[p] : most[r];
        }
        figures->within += least[r] >= S_LEAST && most[r] <= S_MOST;
    }
    if (rc == 0) {
        qsort (least, rings, sizeof *least, sim_cmp_double);
        qsort (most, rings, sizeof *most, sim_cmp_double);
        figures->least_median = sim_quantile_double (least, rings, 0.5);
        figures->most_median = sim_quantile_double (most, rings, 0.5);
        figures->least_worst = least[0];
        figures->most_worst = most[rings - 1];
    }
    free (ring), free (loads), free (ratio), free (least), free (most);
    return rc;
}

static int s_balance_table (const sim_options_t *opt, sim_table_t *table, size_t rings)
{
    static const size_t sizes[] = {3, 6, 12, 48};
    if (!table->rows) {
        printf ("Share of the ring per process over the mean, %zu random rings per size (processes join one\n"
                "after the other); seed %llu. Balanced: every process owns %.2f-%.2fx the mean. Positions\n"
                "are BLAKE2b-160 of endpoint#i, i < %d, so anyone can check them.\n\n",
                rings, (unsigned long long) opt->seed, S_LEAST, S_MOST, CHORD_POSITIONS_MAX);
        printf ("%-16s %3s %9s %9s %9s %9s %9s %9s\n", "placement", "V", "processes", "balanced", "least p50",
                "most p50", "least", "most");
    }
    for (size_t i = 0; i < sizeof s_placements / sizeof *s_placements; i++)
        for (size_t s = 0; s < sizeof sizes / sizeof *sizes; s++) {
            s_figures_t f;
            if (s_measure (&s_placements[i], opt->seed, sizes[s], rings, &f) != 0)
                return -1;
            double balanced = 100.0 * (double) f.within / (double) rings;
            if (!table->rows)
                printf ("%-16s %3u %9zu %8.1f%% %9.2f %9.2f %9.2f %9.2f\n", s_placements[i].name,
                        s_placements[i].positions, sizes[s], balanced, f.least_median, f.most_median,
                        f.least_worst, f.most_worst);
            json_t *row = json_object ();
            json_object_set_new (row, "placement", json_string (s_placements[i].name));
            json_object_set_new (row, "positions_per_process", sim_json_u64 (s_placements[i].positions));
            json_object_set_new (row, "processes", sim_json_u64 (sizes[s]));
            json_object_set_new (row, "rings", sim_json_u64 (rings));
            json_object_set_new (row, "balanced_percent", json_real (balanced));
            json_object_set_new (row, "least_over_mean_p50", json_real (f.least_median));
            json_object_set_new (row, "most_over_mean_p50", json_real (f.most_median));
            json_object_set_new (row, "least_over_mean_worst", json_real (f.least_worst));
            json_object_set_new (row, "most_over_mean_worst", json_real (f.most_worst));
            sim_table_row (table, row);
        }
    return 0;
}

/* Steady traffic of one ring: bytes per position-second, in all and by message type. */
typedef struct {
    double per_position;
    double by_type[SIMNET_TYPES_MAX];
} s_steady_t;

/*  Steady maintenance bytes per second of a ring of `nodes` positions at
    stabilize 500 ms with successor lists of `successors`, per position.  */
static int s_steady_bytes (const sim_options_t *opt, size_t nodes, size_t successors, s_steady_t *steady)
{
    sim_options_t local = *opt;
    local.nodes = nodes;
    local.successors = successors;
    local.lookups = 0;
    local.keys = 0;
    local.check_ms = 0;
    local.json = false;
    local.stabilize_ms = 500;
    local.session_median_s = 0;
    local.lookup_rate = 0;
    local.duration_s = 60;
    local.quiet_s = 5;
    sim_result_t result;
    memset (&result, 0, sizeof result);
    simnet_t *net = NULL;
    sim_simulate (&local, &result, &net);
    simnet_destroy (&net);
    free (result.after.hops);
    double node_s = result.run_node_s;
    steady->per_position = node_s > 0 ? (double) result.run_bytes / node_s : 0;
    for (size_t t = 0; t < SIMNET_TYPES_MAX; t++)
        steady->by_type[t] = node_s > 0 ? (double) result.run_bytes_by_type[t] / node_s : 0;
    return result.violated ? -1 : 0;
}

/* Where the bytes go: B/s per position by message type, the types that carry any. */
static void s_print_breakdown (const char *name, const s_steady_t *steady)
{
    printf ("  %-13s B/s per position:", name);
    for (size_t t = 0; t < SIMNET_TYPES_MAX; t++)
        if (steady->by_type[t] >= 0.5)
            printf (" %s %.0f", chord_msg_type_name ((chord_msg_type_t) t), steady->by_type[t]);
    printf ("\n");
}

/*  One position per process cost this much in this measure before the
    traffic work (commit 6dcbc28): the fixed yardstick of the 2x bound.  */
#define S_ONE_POSITION_BEFORE 2162.0

static int s_traffic_row (const sim_options_t *opt, sim_table_t *table, size_t processes)
{
    //  Successor lists as chordd sizes them for R = 3: R x V, at least 3.
    size_t placed_successors = 3 * S_PLACED_POSITIONS < CHORD_SUCCESSORS_MAX ? 3 * S_PLACED_POSITIONS
                                                                           : CHORD_SUCCESSORS_MAX;
    s_steady_t one, placed;
    if (s_steady_bytes (opt, processes, 3, &one) != 0 ||
        s_steady_bytes (opt, processes * S_PLACED_POSITIONS, placed_successors, &placed) != 0)
        return -1;
    double per_process = placed.per_position * S_PLACED_POSITIONS;
    if (!table->rows) {
        printf ("\nMaintenance traffic by message type, %zu processes, stabilize 500 ms, steady:\n", processes);
        s_print_breakdown ("one position", &one);
        s_print_breakdown ("placed", &placed);
        printf ("Maintenance traffic per process: one position %.0f B/s (r = 3);\n%u positions %.0f B/s (%.0f "
                "B/s each, r = %zu), %.2fx one position, %.2fx one position before the traffic work\n(%.0f "
                "B/s; the bound: under 2x).\n",
                one.per_position, S_PLACED_POSITIONS, per_process, placed.per_position, placed_successors,
                per_process / one.per_position, per_process / S_ONE_POSITION_BEFORE, S_ONE_POSITION_BEFORE);
    }
    json_t *row = json_object ();
    json_object_set_new (row, "traffic_processes", sim_json_u64 (processes));
    json_object_set_new (row, "one_position_bytes_per_process_s", json_real (one.per_position));
    json_object_set_new (row, "placed_bytes_per_process_s", json_real (per_process));
    json_object_set_new (row, "placed_over_one", json_real (per_process / one.per_position));
    json_object_set_new (row, "placed_over_one_before", json_real (per_process / S_ONE_POSITION_BEFORE));
    sim_table_row (table, row);
    return 0;
}

int scenario_balance_run (const sim_options_t *opt, sim_table_t *table)
{
    size_t rings = opt->quick ? 100 : 1000;
    size_t processes = opt->nodes_given ? opt->nodes : (opt->quick ? 64 : 250);
    int rc = s_balance_table (opt, table, rings);
    if (rc == 0)
        rc = s_traffic_row (opt, table, processes);
    sim_table_end (table, "balance", NULL);
    return rc;
}
