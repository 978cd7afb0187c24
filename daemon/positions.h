/*  chordd positions: which of its CHORD_POSITIONS_MAX candidate ids
    (BLAKE2b of ENDPOINT#i) this process takes on the ring.

    --placement first takes 0..V-1. balanced (the default) asks
    protocol/placement for the V candidates that even out the ring: spread
    as evenly as they allow for the first process of a ring, else picked
    against the ring as a walk through the seeds shows it (survey.h). A
    data directory that holds stores fixes the positions: they are its
    pos-<i> stores, so a restart serves the keys it kept.  */
#ifndef CHORDD_POSITIONS_H
#define CHORDD_POSITIONS_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>

#include "client.h"
#include "options.h"

/*  True when name is a position's store directory, "pos-<i>" written as
    chordd writes it, setting *index to i.  */
bool chordd_positions_store_name (const char *name, unsigned *index);

/*  Fills indices[0..*count) with the positions to take, ascending (room for
    CHORDD_VNODES_MAX). curve: NULL on an open ring. A joiner walks the ring
    through its seeds, a few tries at most, waiting between them unless
    *stop becomes nonzero (a signal); a ring it cannot walk gets positions
    spread as for a new one. Returns 0, or -1 after logging why.  */
int chordd_positions_choose (const chordd_options_t *options, const chord_client_curve_t *curve,
                             volatile sig_atomic_t *stop, unsigned *indices, size_t *count);

#endif
