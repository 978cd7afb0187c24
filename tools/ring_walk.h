/*  ring walk: the ring seen from one peer, position by position, for
    chordctl ring and status and chordd's /v1/ring.

    From a start endpoint, CLIENT_INFO goes to each position (addressed by
    its id) and the walk follows the first successor it names, until it
    comes back to the start. A position that does not answer within the
    per-request timeout is recorded as down and the walk goes on with the
    next entry of the last answering position's successor list; once one
    position of an endpoint stayed silent, the others of that endpoint are
    recorded down without being asked, so a stalled process costs one
    timeout, not one per position. Every position is visited once at most;
    the walk stops at a step cap and a total deadline and then returns what
    it has, marked incomplete.

    What the ring answers is hostile: an id must be BLAKE2b of its endpoint
    (or endpoint#i), an answer must come from the position asked, and every
    count is bounded.
    Needs: client.h (one connection per endpoint, a few kept open), util.h
    (the clock). Frees: what ring_walk_clear frees.  */
#ifndef CHORD_TOOLS_RING_WALK_H
#define CHORD_TOOLS_RING_WALK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "client.h"
#include "message.h"

#define RING_WALK_STEPS_MAX 4096            /* positions one walk records */
#define RING_WALK_TIMEOUT_MS 500            /* default wait for one position's answer */
#define RING_WALK_DEADLINE_MS 5000          /* default budget of a whole walk */
#define RING_WALK_LINKS_MAX 16              /* connections a walk keeps open at once */

/* One position as the walk saw it. */
typedef struct {
    chord_peer_t self;              /* its id and endpoint */
    bool down;                      /* it did not answer; the fields below are unknown */
    uint32_t state;                 /* chord_node_state_t, when has_state */
    bool has_state;                 /* it said its state */
    bool has_pred;                  /* it named a predecessor */
    chord_id_t pred;                /* its predecessor */
    bool has_succ;                  /* it named a successor */
    chord_id_t succ;                /* its first successor */
    bool has_records;               /* it said how many records it stores */
    uint64_t records;               /* records in its store */
    bool has_census;                /* it sent a census */
    chord_census_t census;          /* its store by kind */
    uint32_t replicas;              /* its --replicas, 0 when not said */
} ring_walk_position_t;

/* What one walk asks for. */
typedef struct {
    const char *start;              /* endpoint to start at */
    const chord_client_curve_t *curve;  /* CURVE keys, NULL on an open ring */
    int request_timeout_ms;         /* wait per position; 0: RING_WALK_TIMEOUT_MS */
    int start_timeout_ms;           /* wait for the start; 0: the whole budget */
    int deadline_ms;                /* budget of the walk; 0: RING_WALK_DEADLINE_MS */
    size_t steps_max;               /* positions recorded at most; 0: RING_WALK_STEPS_MAX */
} ring_walk_config_t;

/* The result of a walk. */
typedef struct {
    ring_walk_position_t *positions;    /* malloc'd, in the order visited; [0] is the start */
    size_t count;                   /* positions recorded, down ones included */
    size_t requests;                /* INFO requests sent */
    bool complete;                  /* the walk came back round to the start */
    int64_t walked_ms;              /* how long it took */
    char why[512];                  /* why it is incomplete, or why the start failed */
} ring_walk_t;

/*  Walks the ring as config says. Returns 0 with *walk filled (complete
    or not; free with ring_walk_clear), or -1 when the start did not
    answer, with walk->why saying so, errno EACCES when it refused our
    keys, ETIMEDOUT when silent, EINVAL when it cannot be reached or
    answered nonsense; *walk then holds nothing to free.  */
int ring_walk_run (const ring_walk_config_t *config, ring_walk_t *walk);

/* Frees the positions; idempotent. */
void ring_walk_clear (ring_walk_t *walk);

/* "joining", "active", "leaving", "down" and the like, for a position. */
const char *ring_walk_state_name (const ring_walk_position_t *position);

#endif
