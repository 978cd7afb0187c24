/*  ring view: a walked ring (ring_walk.h) in id order, with the share of
    the id space each position and each process owns and keeps copies of
    (protocol/ring_share.h), grouped by process, and as the JSON document
    of GET /v1/ring and chordctl status --json.

    Down positions keep their arcs: they are members until the ring routes
    around them. Needs: ring_walk.h, ring_share.h, jansson. Frees: what
    ring_view_clear frees; the view borrows the walk's positions.  */
#ifndef CHORD_TOOLS_RING_VIEW_H
#define CHORD_TOOLS_RING_VIEW_H

#include <jansson.h>

#include "ring_walk.h"

/* One position in id order. */
typedef struct {
    const ring_walk_position_t *at;     /* borrowed from the walk */
    size_t process;                     /* index into the view's processes */
    double owns;                        /* fraction of the id space it owns */
    double owns_effective;              /* fraction it keeps a copy of at R */
} ring_view_position_t;

/* One process (endpoint) and the sums over its positions. */
typedef struct {
    const char *endpoint;               /* borrowed from the walk */
    size_t positions;                   /* how many it holds */
    size_t down;                        /* of which did not answer */
    size_t joining;                     /* of which are joining */
    size_t leaving;                     /* of which are leaving */
    double owns;                        /* sum of its positions' owns */
    double owns_effective;              /* sum of their owns_effective */
    size_t census_count;                /* positions that sent a census */
    chord_census_t census;              /* the sum of those censuses */
    uint64_t records;                   /* records its answering positions store */
} ring_view_process_t;

typedef struct {
    ring_view_position_t *positions;    /* malloc'd, in id order */
    size_t count;
    ring_view_process_t *processes;     /* malloc'd, in order of endpoint */
    size_t process_count;
    unsigned replicas;                  /* R: the start's rf (1 when it did not say) */
    bool complete;                      /* the walk closed */
    int64_t walked_ms;                  /* how long the walk took */
} ring_view_t;

/* Builds the view of walk (which must outlive it). Returns 0, or -1 when
   memory runs out or the walk recorded nothing. */
int ring_view_build (const ring_walk_t *walk, ring_view_t *view);

/* Frees what the view allocated; idempotent. */
void ring_view_clear (ring_view_t *view);

/* "active", "joining", "leaving" or "down" for a process. */
const char *ring_view_process_state (const ring_view_process_t *process);

/* The /v1/ring document (a new reference), or NULL when memory runs out. */
json_t *ring_view_json (const ring_view_t *view);

#endif
