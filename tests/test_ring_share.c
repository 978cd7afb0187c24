/*  Tests of protocol/ring_share: the arcs positions own and the copies
    they keep, on rings built by hand, where the answers are known.  */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "ring_share.h"
#include "tap.h"

#define S_EPSILON 1e-9              /* doubles summed over a ring agree this closely */
#define S_RANDOM_POSITIONS 200      /* positions of the hashed ring */
#define S_RANDOM_PROCESSES 7        /* processes holding them */

/* An id whose top byte is top and the rest zero. */
static chord_id_t s_id (uint8_t top)
{
    chord_id_t id;
    memset (&id, 0, sizeof id);
    id.bytes[0] = top;
    return id;
}

static double s_sum (const double *values, size_t count)
{
    double sum = 0;
    for (size_t i = 0; i < count; i++)
        sum += values[i];
    return sum;
}

/* The effective share of process p: the sum over its positions. */
static double s_process (const chord_share_position_t *positions, const double *effective, size_t count, size_t p)
{
    double sum = 0;
    for (size_t i = 0; i < count; i++)
        if (positions[i].process == p)
            sum += effective[i];
    return sum;
}

static void s_test_arc (void)
{
    chord_id_t zero = s_id (0), half = s_id (0x80), quarter = s_id (0x40), three = s_id (0xC0);
    tap_ok (chord_share_arc (&zero, &half) == 0.5, "arc from 0 to 2^159 is one half");
    tap_ok (chord_share_arc (&three, &quarter) == 0.5, "arc across the wrap (3/4 to 1/4) is one half");
    tap_ok (chord_share_arc (&half, &half) == 0, "an empty arc is 0");
    chord_id_t one = s_id (0);
    one.bytes[CHORD_ID_BYTES - 1] = 1;
    double tiny = chord_share_arc (&zero, &one);
    tap_ok (tiny > 0 && tiny < 1e-47, "an arc of 1 is 2^-160, not 0 (%g)", tiny);
}

/* Four equal arcs, processes A B A B. */
static void s_test_quarters (void)
{
    chord_share_position_t ring[4] = {{s_id (0x00), 0}, {s_id (0x40), 1}, {s_id (0x80), 0}, {s_id (0xC0), 1}};
    double owns[4], effective[4];
    tap_ok (chord_share_compute (ring, 4, 2, 2, owns, effective) == 0, "quarters: computed");
    tap_ok (owns[0] == 0.25 && owns[1] == 0.25 && owns[2] == 0.25 && owns[3] == 0.25,
            "quarters: each position owns 1/4, the first across the wrap (%g %g %g %g)", owns[0], owns[1], owns[2],
            owns[3]);
    tap_ok (effective[0] == 0.5 && effective[1] == 0.5 && effective[2] == 0.5 && effective[3] == 0.5,
            "quarters at R=2: each keeps its arc and its predecessor's");
    tap_ok (s_process (ring, effective, 4, 0) == 1 && s_process (ring, effective, 4, 1) == 1,
            "quarters at R=2: each of the 2 processes holds a copy of everything");
    tap_ok (chord_share_compute (ring, 4, 2, 1, owns, effective) == 0 && effective[2] == 0.25 &&
                s_sum (effective, 4) == 1,
            "quarters at R=1: effective is what each owns, summing to 1");
    tap_ok (chord_share_compute (ring, 4, 2, 5, owns, effective) == 0 && s_sum (effective, 4) == 2 &&
                s_process (ring, effective, 4, 0) == 1,
            "R=5 with 2 processes: effective sums to 2 = min(R, processes), each process 1");
}

/* A A B: the arc of the first A is copied to B, skipping A's second position. */
static void s_test_same_process_runs (void)
{
    chord_share_position_t ring[3] = {{s_id (0x10), 0}, {s_id (0x20), 0}, {s_id (0x80), 1}};
    double owns[3], effective[3];
    tap_ok (chord_share_compute (ring, 3, 2, 2, owns, effective) == 0, "A A B: computed");
    double a1 = owns[0], a2 = owns[1], b = owns[2];
    tap_ok (fabs (a1 + a2 + b - 1) < S_EPSILON, "A A B: owns sums to 1");
    tap_ok (effective[2] == a1 + a2 + b && fabs (effective[0] - (a1 + b)) < S_EPSILON && effective[1] == a2,
            "A A B at R=2: B copies both A arcs; A's first position keeps B's arc, not its second");
}

static void s_test_one_process (void)
{
    chord_share_position_t one[1] = {{s_id (0x33), 0}};
    double owns[3], effective[3];
    tap_ok (chord_share_compute (one, 1, 1, 3, owns, effective) == 0 && owns[0] == 1 && effective[0] == 1,
            "one position: owns all, keeps all, at R=3");
    chord_share_position_t three[3] = {{s_id (0x01), 0}, {s_id (0x50), 0}, {s_id (0xF0), 0}};
    tap_ok (chord_share_compute (three, 3, 1, 3, owns, effective) == 0 &&
                fabs (s_sum (owns, 3) - 1) < S_EPSILON && fabs (s_sum (effective, 3) - 1) < S_EPSILON &&
                effective[1] == owns[1],
            "one process of 3 positions at R=3: owns and effective each sum to 1 (min(R, 1))");
}

/* A ring of hashed ids: the sums hold on ids nobody chose. */
static void s_test_hashed (void)
{
    chord_share_position_t ring[S_RANDOM_POSITIONS];
    for (size_t i = 0; i < S_RANDOM_POSITIONS; i++) {
        char endpoint[64];
        snprintf (endpoint, sizeof endpoint, "tcp://10.0.0.%zu:7000", i % S_RANDOM_PROCESSES);
        chord_id_of_position (&ring[i].id, endpoint, (unsigned) (i / S_RANDOM_PROCESSES));
        ring[i].process = i % S_RANDOM_PROCESSES;
    }
    //  Insertion sort by id: the ring is small.
    for (size_t i = 1; i < S_RANDOM_POSITIONS; i++)
        for (size_t j = i; j > 0 && chord_id_cmp (&ring[j - 1].id, &ring[j].id) > 0; j--) {
            chord_share_position_t swap = ring[j];
            ring[j] = ring[j - 1];
            ring[j - 1] = swap;
        }
    double owns[S_RANDOM_POSITIONS], effective[S_RANDOM_POSITIONS];
    for (unsigned r = 1; r <= 9; r += 4) {
        int rc = chord_share_compute (ring, S_RANDOM_POSITIONS, S_RANDOM_PROCESSES, r, owns, effective);
        double expect = r < S_RANDOM_PROCESSES ? r : S_RANDOM_PROCESSES;
        bool each_at_most_one = true;
        for (size_t p = 0; p < S_RANDOM_PROCESSES; p++)
            each_at_most_one &= s_process (ring, effective, S_RANDOM_POSITIONS, p) <= 1 + S_EPSILON;
        tap_ok (rc == 0 && fabs (s_sum (owns, S_RANDOM_POSITIONS) - 1) < S_EPSILON &&
                    fabs (s_sum (effective, S_RANDOM_POSITIONS) - expect) < S_EPSILON && each_at_most_one,
                "hashed ring of %d positions on %d processes at R=%u: owns sums to 1, effective to %g, "
                "no process above 1",
                S_RANDOM_POSITIONS, S_RANDOM_PROCESSES, r, expect);
    }
}

static void s_test_refusals (void)
{
    double owns[3] = {7, 7, 7}, effective[3] = {7, 7, 7};
    chord_share_position_t unsorted[3] = {{s_id (0x50), 0}, {s_id (0x10), 1}, {s_id (0x90), 0}};
    chord_share_position_t repeated[3] = {{s_id (0x10), 0}, {s_id (0x10), 1}, {s_id (0x90), 0}};
    chord_share_position_t stray[3] = {{s_id (0x10), 0}, {s_id (0x20), 2}, {s_id (0x90), 0}};
    tap_ok (chord_share_compute (unsorted, 3, 2, 2, owns, effective) == -1, "refused: ids out of order");
    tap_ok (chord_share_compute (repeated, 3, 2, 2, owns, effective) == -1, "refused: an id twice");
    tap_ok (chord_share_compute (stray, 3, 2, 2, owns, effective) == -1, "refused: a process index out of range");
    tap_ok (chord_share_compute (unsorted, 0, 2, 2, owns, effective) == -1, "refused: no positions");
    tap_ok (chord_share_compute (repeated + 1, 2, 2, 0, owns, effective) == -1, "refused: R = 0");
    tap_ok (owns[0] == 7 && effective[2] == 7, "a refusal leaves the outputs alone");
}

int main (void)
{
    s_test_arc ();
    s_test_quarters ();
    s_test_same_process_runs ();
    s_test_one_process ();
    s_test_hashed ();
    s_test_refusals ();
    return tap_done ();
}
