/*  simtrace: what each traced lookup cost, read off the wire. It watches
    the FIND_SUCC requests a lookup's origin sends for the lookup's key id
    and the FIND_SUCC_REPLYs that come back (simnet's send and deliver
    hooks, so it replaces any hook set before), and counts as a timeout
    every FIND_SUCC that got no reply by the time the lookup ended: an RPC
    that timed out (the network loses nothing unless told to).

    Per lookup it also tells where the timeouts went: a peer this lookup
    had already found silent (a repeat within the lookup), a peer its
    origin had found silent in an earlier lookup (the origin forgot or
    ignored what it knew), or one some other peer had found silent
    before (what a shared notion of failure would have spared).

    Lookups are named by their key id; only lookups between
    simtrace_begin and simtrace_end are traced, and only the first node
    sending a FIND_SUCC for the id counts as the origin.  */
#ifndef CHORD_SIMTRACE_H
#define CHORD_SIMTRACE_H

#include <stdint.h>

#include "id.h"
#include "simnet.h"

/* Totals over the lookups ended so far. */
typedef struct {
    uint64_t lookups;         /* ended */
    uint64_t finds;           /* FIND_SUCC requests the origins sent */
    uint64_t timeouts;        /* of them, unanswered */
    uint64_t with_timeouts;   /* lookups with at least one */
    uint64_t max_timeouts;    /* the most in one lookup */
    uint64_t looped;          /* lookups with more than 64 answered FIND_SUCCs: they went round */
    uint64_t repeat_in_lookup; /* timeouts at a peer the same lookup had timed out at already */
    uint64_t known_to_origin; /* timeouts at a peer the origin had timed out at in an earlier lookup */
    uint64_t known_elsewhere; /* timeouts at a peer another origin had timed out at before */
} simtrace_stats_t;

typedef struct simtrace simtrace_t;

/* A tracer on net (installs the send and deliver hooks); NULL when out of
   memory. The caller owns it and destroys it before net. */
simtrace_t *simtrace_new (simnet_t *net);

/* Removes the hooks, frees the tracer, sets *self_p to NULL; idempotent. */
void simtrace_destroy (simtrace_t **self_p);

/* Starts tracing the lookup of key id (a later begin of the same id restarts it). */
void simtrace_begin (simtrace_t *self, const chord_id_t *id);

/* Ends the lookup of id, adds what it cost to the totals and returns its
   timeouts; 0 for an id not being traced. */
uint64_t simtrace_end (simtrace_t *self, const chord_id_t *id);

/* The totals so far (borrowed). */
const simtrace_stats_t *simtrace_stats (const simtrace_t *self);

#endif
