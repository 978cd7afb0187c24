/*  ring map: a client's picture of the ring, for sending each key straight
    to its owner. Every position (id and endpoint, in id order) and the
    copies each key has (R); the owner of a key is the first position
    clockwise from BLAKE2b-160 of the key, inclusive, wrapping after the
    largest id; its copy holders follow protocol/replica_set.h's rule, read
    off the map as if the owner's successor list were the positions after
    it. Pure: no I/O. Needs: id.h, replica_set.h. Frees: what
    ring_map_clear frees.  */
#ifndef CHORD_TOOLS_RING_MAP_H
#define CHORD_TOOLS_RING_MAP_H

#include <stddef.h>

#include "message.h"
#include "replica_set.h"

#define RING_MAP_POSITIONS_MAX 4096                 /* positions a map holds */
#define RING_MAP_HOLDERS_MAX (CHORD_REPLICA_SET_MAX + 1)  /* the owner and its copy holders */

typedef struct {
    chord_peer_t *positions;        /* malloc'd, sorted by id, each id once */
    size_t count;                   /* positions in the map; 0: none known */
    unsigned replicas;              /* R: copies of each key, 1..RING_MAP_HOLDERS_MAX */
} ring_map_t;

/*  Replaces the map's positions with a sorted copy of the count at
    positions (duplicates dropped; at most RING_MAP_POSITIONS_MAX) and its
    R with replicas (0 counts as 1; capped at RING_MAP_HOLDERS_MAX).
    Returns 0, or -1 (errno ENOMEM or EINVAL: none given or too many) with
    the map unchanged.  */
int ring_map_set (ring_map_t *map, const chord_peer_t *positions, size_t count, unsigned replicas);

/* Frees the positions and empties the map; idempotent. */
void ring_map_clear (ring_map_t *map);

/* The index of the position owning key_id. The map must not be empty. */
size_t ring_map_owner (const ring_map_t *map, const chord_id_t *key_id);

/*  Writes into out[RING_MAP_HOLDERS_MAX] the positions holding key_id's
    copies: the owner first, then up to R-1 others, each of another
    process (endpoint). Returns how many (at least 1; fewer than R when the
    ring has fewer processes). The map must not be empty.  */
size_t ring_map_holders (const ring_map_t *map, const chord_id_t *key_id, chord_peer_t *out);

#endif
