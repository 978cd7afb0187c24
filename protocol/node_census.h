/*  node census: what a position's store holds, by kind, a module of the
    node (see node_internal.h).

    Owns (node_census_t, inside struct chord_node): the last completed
    census of the store (live records owned, live copies kept for other
    owners, tombstones, bytes) and the sweep in progress. Only
    node_census.c writes them.

    Why a sweep: the store can hold 100k keys and more, and the node's
    loop must never stall counting them. A sweep counts one slice of the
    id space per run (the store's range over it), a pause between slices,
    and starts over every CHORD_CENSUS_INTERVAL_MS; the slices are as
    many as keep each near CHORD_CENSUS_SLICE_RECORDS records. Past
    CHORD_CENSUS_SLICES_CALM slices (32k records) the interval stretches
    in proportion, so a big store's census costs the loop no more than a
    32k one's (a backend without an order by id, like the in-memory one,
    scans the whole store for each slice). The census is therefore up to
    one interval old; a sweep during which our arc
    (predecessor) changes starts over, so "owned" is always counted
    against one arc.
    Needs: the ring (node_owns and its predecessor), the store, records'
    format (record.h).
    Frees: nothing; it allocates nothing.  */
#ifndef CHORD_NODE_CENSUS_H
#define CHORD_NODE_CENSUS_H

#include <stdbool.h>
#include <stdint.h>

#include "id.h"
#include "message.h"

typedef struct chord_node chord_node_t;

#define CHORD_CENSUS_INTERVAL_MS 5000     /* from one sweep's start to the next's */
#define CHORD_CENSUS_SLICE_GAP_MS 5       /* pause between two slices of a sweep */
#define CHORD_CENSUS_SLICE_RECORDS 2048   /* records a slice should hold, about */
#define CHORD_CENSUS_SLICES_MAX 256       /* slices a sweep may have: a power of two */
#define CHORD_CENSUS_SLICES_CALM 16       /* beyond this many slices, the interval stretches */

/* The arc a sweep counts "owned" against. */
typedef struct {
    bool active;                /* the node was ACTIVE (else it owns nothing) */
    bool alone;                 /* it was alone: it owns the whole ring */
    bool has_pred;              /* it knew its predecessor: it owns (pred, self] */
    chord_id_t pred;            /* that predecessor's id */
} node_census_arc_t;

typedef struct {
    bool done;                  /* result holds a completed census */
    chord_census_t result;      /* the last completed census */
    uint64_t result_visited;    /* entries the last completed sweep visited */
    bool sweeping;              /* a sweep is in progress */
    chord_census_t partial;     /* its counts so far */
    uint64_t partial_visited;   /* its entries visited so far */
    node_census_arc_t arc;      /* the arc it counts against */
    unsigned slices;            /* its slices of the id space, a power of two */
    unsigned next_slice;        /* the next slice it counts */
    uint64_t sweep_started_ms;  /* when it started */
    uint64_t next_ms;           /* when node_census_run next has work */
} node_census_t;

/* Schedules the first sweep at now_ms, when the node starts. */
void node_census_start (chord_node_t *self, uint64_t now_ms);

/* Counts the next slice of the sweep, or starts a sweep, when due. */
void node_census_run (chord_node_t *self, uint64_t now_ms);

/* When node_census_run next has work. */
uint64_t node_census_next_ms (const chord_node_t *self);

/* Copies the last completed census into *out; false (and *out zeroed) when none completed yet. */
bool node_census_get (const chord_node_t *self, chord_census_t *out);

#endif
