/*  chordd survey: the ring as a joining process sees it before it picks
    its positions (protocol/placement): every position and the endpoint of
    the process holding it, walked from successor to successor from a seed:
    one request per position, so a ring of thousands takes seconds.

    The walk is tools/ring_walk.c's, so what the ring answers is checked
    there: a position whose id is not BLAKE2b of its endpoint (or
    endpoint#i, i < CHORD_POSITIONS_MAX) is left out, repeats end the
    walk, and it is bounded in positions and time. The survey keeps the
    positions that answered.  */
#ifndef CHORDD_SURVEY_H
#define CHORDD_SURVEY_H

#include <stdbool.h>
#include <stddef.h>

#include "client.h"
#include "id.h"

#define CHORDD_SURVEY_POSITIONS_MAX 4096 /* a ring larger than this is seen in part */

/* One position of the ring, and the process (endpoint) holding it. */
typedef struct {
    chord_id_t id;
    char endpoint[CHORD_ENDPOINT_MAX + 1];
} chordd_survey_position_t;

typedef struct {
    chordd_survey_position_t *positions; /* malloc'd, in the order seen */
    size_t count;
    size_t requests;                     /* info requests answered: one per position kept */
    bool closed;                         /* the walk came back round to where it began */
} chordd_survey_t;

/*  Walks the ring from seed, asking each position for its successor list
    and going on to the first successor, until the walk comes back round.
    curve: NULL on an open ring. Each request waits at most timeout_ms; a
    silent successor is skipped for the next in the list (and the other
    positions of its endpoint are not asked again). Returns
    0 with *survey filled (free with chordd_survey_clear) once the walk
    closed, or -1 with why filled in (and nothing to free) when the seed
    did not answer or the ring could not be walked round.  */
int chordd_survey_walk (const char *seed, const chord_client_curve_t *curve, int timeout_ms,
                        chordd_survey_t *survey, char *why, size_t why_size);

void chordd_survey_clear (chordd_survey_t *survey);

#endif
