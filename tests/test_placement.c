/*  Tests of protocol/placement: where candidates land and what they take,
    the loads of a ring, the spread of a first process, and the choice of a
    joiner, by hand on rings at known fractions; then rings of real
    candidate ids (BLAKE2b of endpoint#i) built by joins, which must come
    out balanced where the first V candidates do not.  */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "id.h"
#include "placement.h"
#include "tap.h"

#define S_EPSILON 1e-9

/* The id at fraction f of the ring (f in [0, 1), to 1/2^32). */
static chord_id_t s_at (double f)
{
    chord_id_t id = {{0}};
    uint64_t scaled = (uint64_t) (f * 4294967296.0);
    for (int i = 0; i < 4; i++)
        id.bytes[i] = (uint8_t) (scaled >> (24 - 8 * i));
    return id;
}

static int s_near (double a, double b)
{
    return a - b < S_EPSILON && b - a < S_EPSILON;
}


static void s_test_land_and_loads (void)
{
    //  Process 0 at 0.1 and 0.6, process 1 at 0.3.
    chord_placement_position_t ring[] = {
        {s_at (0.1), 0}, {s_at (0.3), 1}, {s_at (0.6), 0},
    };
    double loads[2];
    chord_placement_loads (ring, 3, loads, 2);
    tap_ok (s_near (loads[0], 0.8) && s_near (loads[1], 0.2),
            "loads: 0.8 and 0.2 for arcs (0.6, 0.1] + (0.3, 0.6] and (0.1, 0.3] (%.3f, %.3f)", loads[0], loads[1]);

    chord_id_t candidates[] = {s_at (0.2), s_at (0.95), s_at (0.05), s_at (0.3), s_at (0.5)};
    chord_placement_landing_t land[5];
    chord_placement_land (ring, 3, candidates, 5, land);
    tap_ok (land[0].arc == 1 && land[0].process == 1 && s_near (land[0].share, 0.1),
            "a candidate at 0.2 lands in process 1's arc and takes 0.1 (arc %u, share %.3f)", land[0].arc,
            land[0].share);
    tap_ok (land[1].arc == 0 && land[1].process == 0 && s_near (land[1].share, 0.35),
            "at 0.95 it lands in the arc that wraps past 0 and takes 0.35 (arc %u, share %.3f)", land[1].arc,
            land[1].share);
    tap_ok (land[2].arc == 0 && s_near (land[2].share, 0.45),
            "at 0.05, the same wrapping arc: 0.45 (arc %u, share %.3f)", land[2].arc, land[2].share);
    tap_ok (land[3].share == 0, "on a position's own id it takes nothing (%.3f)", land[3].share);
    tap_ok (land[4].arc == 2 && land[4].process == 0 && s_near (land[4].share, 0.2),
            "at 0.5 it takes 0.2 of process 0's arc (0.3, 0.6] (arc %u, share %.3f)", land[4].arc, land[4].share);

    chord_placement_position_t alone[] = {{s_at (0.4), 3}};
    double alone_loads[4];
    chord_placement_loads (alone, 1, alone_loads, 4);
    tap_ok (alone_loads[3] == 1 && alone_loads[0] == 0, "a ring of one position: its process owns it all");
    chord_placement_land (alone, 1, &candidates[4], 1, land);
    tap_ok (s_near (land[0].share, 0.1), "on it, a candidate at 0.5 takes (0.4, 0.5] (%.3f)", land[0].share);
}

static void s_test_choose_by_hand (void)
{
    //  One process with four evenly spaced positions; the second to join
    //  should take half. Candidates at 0.24, 0.49, 0.74 and 0.99 take 0.24
    //  each, 0.12 takes 0.12, 0.01 and 0.26 take 0.01.
    chord_placement_position_t ring[] = {
        {s_at (0.0), 0}, {s_at (0.25), 0}, {s_at (0.5), 0}, {s_at (0.75), 0},
    };
    chord_id_t candidates[] = {
        s_at (0.01), s_at (0.24), s_at (0.49), s_at (0.74), s_at (0.99), s_at (0.26), s_at (0.12),
    };
    chord_placement_landing_t land[7];
    chord_placement_land (ring, 4, candidates, 7, land);
    double loads[1] = {1};
    uint8_t chosen[7];
    double taken = chord_placement_choose (land, 7, loads, 0.5, 2, chosen);
    tap_ok (s_near (taken, 0.48) && chosen[1] + chosen[2] + chosen[3] + chosen[4] == 2,
            "two picks of 7: two that take 0.24 each, 0.48 in all (%.3f)", taken);

    //  Three 0.24s would overshoot; a 0.01 beside a 0.24 in the same arc
    //  adds nothing (the arc is taken up to the furthest candidate), one in
    //  an arc of its own adds 0.01.
    taken = chord_placement_choose (land, 7, loads, 0.5, 3, chosen);
    tap_ok (s_near (taken, 0.49), "three picks: two 0.24s and a 0.01 in an arc of its own, 0.49 in all (%.3f)",
            taken);

    //  With one pick, the loaded process is taken from (the loads are the caller's view).
    chord_placement_position_t two[] = {{s_at (0.0), 0}, {s_at (0.5), 1}};
    chord_id_t pair[] = {s_at (0.75), s_at (0.25)};     //  in process 0's arc, in process 1's
    chord_placement_land (two, 2, pair, 2, land);
    double uneven[2] = {0.7, 0.3};
    chord_placement_choose (land, 2, uneven, 1.0 / 3, 1, chosen);
    tap_ok (chosen[0] == 1 && chosen[1] == 0, "one pick takes from the loaded process (%d %d)", chosen[0],
            chosen[1]);
}

static void s_test_spread (void)
{
    chord_id_t candidates[] = {
        s_at (0.0), s_at (0.01), s_at (0.02), s_at (0.33), s_at (0.34), s_at (0.66), s_at (0.5), s_at (0.9),
    };
    uint8_t chosen[8];
    chord_placement_spread (candidates, 8, 3, chosen);
    int thirds = chosen[0] + chosen[1] + chosen[2] == 1 && (chosen[3] + chosen[4] == 1) && chosen[5] == 1;
    tap_ok (thirds, "a first process picks one near 0, one near 1/3 and 0.66: thirds (%d%d%d%d%d%d%d%d)",
            chosen[0], chosen[1], chosen[2], chosen[3], chosen[4], chosen[5], chosen[6], chosen[7]);
    chord_placement_spread (candidates, 8, 8, chosen);
    int all = 1;
    for (int i = 0; i < 8; i++)
        all &= chosen[i];
    tap_ok (all, "asked for every candidate it picks every one");
}

/*  Builds a ring of `processes` processes joining one after the other, each
    with `positions` positions: picked by placement, or the first ones.
    Returns the least and most share against the mean.  */
static void s_ring_of (unsigned seed, size_t processes, size_t positions, int placed, double *least, double *most)
{
    chord_placement_position_t *ring = calloc (processes * positions, sizeof *ring);
    double *loads = calloc (processes, sizeof *loads);
    size_t count = 0;
    for (size_t p = 0; p < processes; p++) {
        char endpoint[64];
        snprintf (endpoint, sizeof endpoint, "tcp://10.%u.%u.%zu:%zu", seed % 251, seed / 251 % 251, p, 7000 + p);
        chord_id_t candidates[CHORD_POSITIONS_MAX];
        for (unsigned i = 0; i < CHORD_POSITIONS_MAX; i++)
            chord_id_of_position (&candidates[i], endpoint, i);
        uint8_t chosen[CHORD_POSITIONS_MAX] = {0};
        if (!placed)
            memset (chosen, 1, positions);
        else
            (void) chord_placement_pick (ring, count, p, candidates, CHORD_POSITIONS_MAX, positions, chosen);
        for (unsigned i = 0; i < CHORD_POSITIONS_MAX; i++)
            if (chosen[i])
                ring[count++] = (chord_placement_position_t) {candidates[i], (uint32_t) p};
        chord_placement_sort (ring, count);
    }
    chord_placement_loads (ring, count, loads, processes);
    *least = 2, *most = 0;
    for (size_t p = 0; p < processes; p++) {
        double ratio = loads[p] * (double) processes;
        *least = ratio < *least ? ratio : *least;
        *most = ratio > *most ? ratio : *most;
    }
    free (loads);
    free (ring);
}

static void s_test_balance (void)
{
    const size_t sizes[] = {3, 6, 12, 48};
    const unsigned rings = 40;
    for (size_t s = 0; s < sizeof sizes / sizeof *sizes; s++) {
        unsigned placed_even = 0, first_even = 0;
        for (unsigned seed = 1; seed <= rings; seed++) {
            double least, most;
            s_ring_of (seed, sizes[s], 4, 1, &least, &most);
            placed_even += least >= 0.75 && most <= 1.33;
            s_ring_of (seed, sizes[s], 4, 0, &least, &most);
            first_even += least >= 0.75 && most <= 1.33;
        }
        tap_ok (placed_even >= rings * 9 / 10,
                "%zu processes, 4 positions each: %u of %u rings placed have every process within 0.75-1.33x "
                "the mean (the first 4 candidates: %u)",
                sizes[s], placed_even, rings, first_even);
    }
}

/*  pick is spread on an empty ring, and land + loads + choose against an
    even share among the ring's processes and the joiner otherwise.  */
static void s_test_pick (void)
{
    chord_id_t candidates[CHORD_POSITIONS_MAX], others[CHORD_POSITIONS_MAX];
    for (unsigned i = 0; i < CHORD_POSITIONS_MAX; i++) {
        chord_id_of_position (&candidates[i], "tcp://10.0.0.9:7000", i);
        chord_id_of_position (&others[i], "tcp://10.0.0.8:7000", i);
    }
    uint8_t picked[CHORD_POSITIONS_MAX], want[CHORD_POSITIONS_MAX] = {0};
    int rc = chord_placement_pick (NULL, 0, 0, candidates, CHORD_POSITIONS_MAX, 4, picked);
    chord_placement_spread (candidates, CHORD_POSITIONS_MAX, 4, want);
    tap_ok (rc == 0 && memcmp (picked, want, sizeof want) == 0, "pick on an empty ring: the spread");

    //  A ring of two processes: the other endpoint's first 4, and 3 more of theirs.
    chord_placement_position_t ring[7];
    for (unsigned i = 0; i < 7; i++)
        ring[i] = (chord_placement_position_t) {others[i], i < 4 ? 0u : 1u};
    chord_placement_sort (ring, 7);
    bool sorted = true;
    for (unsigned i = 1; i < 7; i++)
        sorted = sorted && chord_id_cmp (&ring[i - 1].id, &ring[i].id) < 0;
    tap_ok (sorted, "sort: the positions in id order");
    rc = chord_placement_pick (ring, 7, 2, candidates, CHORD_POSITIONS_MAX, 4, picked);
    chord_placement_landing_t land[CHORD_POSITIONS_MAX];
    double loads[2];
    chord_placement_land (ring, 7, candidates, CHORD_POSITIONS_MAX, land);
    chord_placement_loads (ring, 7, loads, 2);
    memset (want, 0, sizeof want);
    chord_placement_choose (land, CHORD_POSITIONS_MAX, loads, 1.0 / 3, 4, want);
    size_t count = 0;
    for (unsigned i = 0; i < CHORD_POSITIONS_MAX; i++)
        count += picked[i];
    tap_ok (rc == 0 && count == 4 && memcmp (picked, want, sizeof want) == 0,
            "pick on a ring of 2 processes: 4 candidates, those choose finds for a third of the ring");
}

int main (void)
{
    s_test_pick ();
    s_test_land_and_loads ();
    s_test_choose_by_hand ();
    s_test_spread ();
    s_test_balance ();
    return tap_done ();
}
