/*  chord placement: which ring positions a process takes, so that every
    process owns about the same share of the ring.

    A process may hold up to CHORD_POSITIONS_MAX positions, and position i
    must have the id BLAKE2b(endpoint#i) (id.h) so that anyone can check it;
    so a process cannot put a position anywhere, only pick among its 64
    candidate ids. Taking the first V of them, as random vnodes do, leaves
    rings lopsided unless V is large: with one position the most loaded of
    six peers owns a median 2.35 times the mean share. Picked to split the
    arcs of the most loaded processes, as Cassandra's token allocator does,
    a few positions are enough.

    A joining process looks where each candidate lands: in whose arc, and
    how much of that arc (from the arc's start to the candidate) it would
    take. It then picks the subset that brings every process it touches, and
    itself, closest to an even share: a greedy pick refined by swaps until
    no swap helps. Being under the even share is weighed more heavily than
    being over, since later joiners only ever take load away.

    The first process of a ring has nobody to take from; it spreads its
    positions as evenly as its candidates allow, so that later joiners find
    arcs of similar length to split.

    Pure: no clocks, no randomness; the same input gives the same choice.
    The caller owns every array.  */
#ifndef CHORD_PLACEMENT_H
#define CHORD_PLACEMENT_H

#include <stddef.h>
#include <stdint.h>

#include "id.h"

/* One position on the ring as the joiner sees it. */
typedef struct {
    chord_id_t id;
    uint32_t process;           /* the process holding it, 0..process_count-1 */
} chord_placement_position_t;

/* Where one candidate id lands on the ring. */
typedef struct {
    uint32_t arc;               /* the position whose arc it falls in: same arc, same number */
    uint32_t process;           /* the process owning that arc */
    double share;               /* fraction of the ring from the arc's start to the candidate */
} chord_placement_landing_t;

/*  Fills landing[i] for candidates[i], on a ring of ring_count >= 1
    positions sorted by id (arc = the index of the owning position). A
    candidate equal to a position's id takes nothing of its arc.  */
void chord_placement_land (const chord_placement_position_t *ring, size_t ring_count,
                           const chord_id_t *candidates, size_t count, chord_placement_landing_t *landing);

/*  Sets loads[p] to the share of the ring process p owns, for a ring of
    ring_count >= 1 positions sorted by id whose processes are below
    process_count.  */
void chord_placement_loads (const chord_placement_position_t *ring, size_t ring_count, double *loads,
                            size_t process_count);

/*  Picks want of the count candidates (want <= count <= CHORD_POSITIONS_MAX)
    for a process joining a ring whose processes own loads[] (indexed by
    landing[].process) and where an even share is target (1 / the number of
    processes once joined). Sets chosen[i] to 1 for the picked candidates, 0
    for the others. Returns the share of the ring the joiner takes.  */
double chord_placement_choose (const chord_placement_landing_t *landing, size_t count, const double *loads,
                               double target, size_t want, uint8_t *chosen);

/*  Picks want of the count candidate ids (want <= count <= CHORD_POSITIONS_MAX)
    for the first process of a ring: the subset whose arcs are the most
    even. Sets chosen[] as chord_placement_choose does.  */
void chord_placement_spread (const chord_id_t *candidates, size_t count, size_t want, uint8_t *chosen);

/* Sorts ring positions by id, as the functions above want them. */
void chord_placement_sort (chord_placement_position_t *ring, size_t ring_count);

/*  Picks want of a joining process's count candidate ids (want <= count <=
    CHORD_POSITIONS_MAX): spread (chord_placement_spread) when the ring is
    empty, else chosen (chord_placement_choose) against the loads of the
    process_count processes holding the ring's ring_count positions (sorted
    by id), aiming at an even share among them and the joiner. Sets
    chosen[] as chord_placement_choose does. Returns 0, or -1 when out of
    memory (chosen[] then all 0).  */
int chord_placement_pick (const chord_placement_position_t *ring, size_t ring_count, size_t process_count,
                          const chord_id_t *candidates, size_t count, size_t want, uint8_t *chosen);

#endif
