/*  ring share: how much of the id space each position owns, and how much
    each holds a copy of, on a ring seen whole (a walk of it, in id order).

    Pure arithmetic on ids, for /v1/ring and chordctl status. A position
    owns the arc from the position before it (exclusive) to itself
    (inclusive), as a fraction of 2^160. A key's copies are held by its
    owner position and, going on round the ring, by the first position of
    each of the next R-1 distinct processes (the rule of
    node_replica_peers, with the ring order standing in for the successor
    list): that position is credited with the arc too, so the effective
    shares of one process sum to the fraction of keys it keeps a copy of,
    and all of them sum to min(R, processes).
    Needs: id.h. Frees: nothing; it allocates a scratch array only.  */
#ifndef CHORD_RING_SHARE_H
#define CHORD_RING_SHARE_H

#include <stddef.h>

#include "id.h"

/* One position of the ring, for the share math. */
typedef struct {
    chord_id_t id;                  /* the position's id */
    size_t process;                 /* the process holding it: 0..process_count-1 */
} chord_share_position_t;

/* The fraction of the id space from a (exclusive) to b (inclusive)
   clockwise, in [0, 1); 0 when a == b. */
double chord_share_arc (const chord_id_t *a, const chord_id_t *b);

/*  For count positions in strictly ascending id order, held by
    process_count processes, each copied replicas (>= 1) times: sets
    owns[i], the arc position i owns, and effective[i], the arcs it keeps
    a copy of (its own and those it replicates). A ring of one position
    owns everything. Returns 0, or -1 (touching nothing) when count is 0,
    the ids are not strictly ascending, a process index is out of range,
    replicas is 0, or memory runs out.  */
int chord_share_compute (const chord_share_position_t *positions, size_t count, size_t process_count,
                         unsigned replicas, double *owns, double *effective);

#endif
