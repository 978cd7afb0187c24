/*  node owners: the owner cache, a module of the node (see
    node_internal.h).

    Owns (node_owner_cache_t, inside struct chord_node): arcs remembered
    with their owners, so a data operation can go straight to its owner.
    Entries are only hints: the owner checks every operation against its
    own arc and answers WRONG_OWNER. Only node_owners.c writes them.
    Needs: the ring's suspicions (node_ring_is_suspect).
    Frees: the entries (allocated at the first put, doubled as used up to
    config.owner_cache_size), in node_owner_cache_destroy.  */
#ifndef CHORD_NODE_OWNERS_H
#define CHORD_NODE_OWNERS_H

#include "node.h"

/* A remembered arc: owner served (lower, owner] when we last looked. */
typedef struct {
    chord_id_t lower;
    chord_peer_t owner;
    uint64_t last_used; /* the cache's clock at the last hit, for replacement */
} node_owner_entry_t;

typedef struct {
    node_owner_entry_t *entries; /* alloc of them, grown as used up to config.owner_cache_size */
    size_t count;                /* entries in use */
    size_t alloc;                /* entries allocated */
    uint64_t clock;              /* ticks at every hit, for replacement */
} node_owner_cache_t;

/* An empty cache, allocated at the first put. Returns 0. */
int node_owner_cache_init (chord_node_t *self);

/* Frees what node_owner_cache_init allocated. */
void node_owner_cache_destroy (chord_node_t *self);

/* The remembered owner of id, or NULL. Entries are only hints: the owner
   checks every operation against its own arc and answers WRONG_OWNER. */
const chord_peer_t *node_owner_cache_find (chord_node_t *self, const chord_id_t *id, uint64_t now_ms);

void node_owner_cache_forget (chord_node_t *self, const chord_id_t *owner);

void node_owner_cache_put (chord_node_t *self, const chord_id_t *lower, const chord_peer_t *owner);

#endif
