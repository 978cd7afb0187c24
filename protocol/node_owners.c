/*  node owners: the owner cache, a module of the node (see node_owners.h).  */

#include "node_internal.h"

#include <assert.h>
#include <stdlib.h>

#define S_OWNERS_FIRST 8   /* entries of a cache's first allocation */

int node_owner_cache_init (chord_node_t *self)
{
    assert (self);
    node_owner_cache_t *cache = &self->owners;
    cache->count = 0;
    cache->alloc = 0;
    cache->clock = 0;
    cache->entries = NULL;
    return 0;
}

void node_owner_cache_destroy (chord_node_t *self)
{
    assert (self);
    free (self->owners.entries);
    self->owners.entries = NULL;
    self->owners.count = 0;
    self->owners.alloc = 0;
}

/*  Room for one more entry: the table doubles as owners are learnt, up to
    config.owner_cache_size, so a position that talks to few owners (an
    idle one, a small ring) holds a few entries rather than all 256.
    Returns false when there is no room (full, or out of memory).  */
static bool s_room_for_one_more (chord_node_t *self)
{
    node_owner_cache_t *cache = &self->owners;
    if (cache->count < cache->alloc)
        return true;
    size_t limit = self->config.owner_cache_size;
    if (cache->alloc >= limit)
        return false;
    size_t alloc = cache->alloc ? cache->alloc * 2 : S_OWNERS_FIRST;
    if (alloc > limit)
        alloc = limit;
    node_owner_entry_t *grown = realloc (cache->entries, alloc * sizeof *grown);
    if (!grown)
        return false;
    cache->entries = grown;
    cache->alloc = alloc;
    return true;
}

/* The remembered owner of id, or NULL. Entries are only hints: the owner
   checks every operation against its own arc and answers WRONG_OWNER. */
const chord_peer_t *node_owner_cache_find (chord_node_t *self, const chord_id_t *id, uint64_t now_ms)
{
    assert (self);
    assert (id);
    node_owner_cache_t *cache = &self->owners;
    for (size_t i = 0; i < cache->count; i++) {
        node_owner_entry_t *entry = &cache->entries[i];
        if (chord_id_in_half_open (id, &entry->lower, &entry->owner.id) &&
            !node_ring_is_suspect (self, &entry->owner.id, now_ms)) {
            entry->last_used = ++cache->clock;
            return &entry->owner;
        }
    }
    return NULL;
}

void node_owner_cache_forget (chord_node_t *self, const chord_id_t *owner)
{
    assert (self);
    assert (owner);
    node_owner_cache_t *cache = &self->owners;
    for (size_t i = 0; i < cache->count;)
        if (chord_id_equal (&cache->entries[i].owner.id, owner))
            cache->entries[i] = cache->entries[--cache->count];
        else
            i++;
}

void node_owner_cache_put (chord_node_t *self, const chord_id_t *lower, const chord_peer_t *owner)
{
    assert (self);
    assert (owner);
    node_owner_cache_t *cache = &self->owners;
    if (self->config.owner_cache_size == 0 || node_is_self (self, owner))
        return;
    node_owner_cache_forget (self, &owner->id);
    size_t slot = cache->count;
    if (!s_room_for_one_more (self)) {
        /* Full, or out of memory to grow: replace the least recently used,
           if there is one at all (a hint lost is a hop more, no harm). */
        if (cache->count == 0)
            return;
        slot = 0;
        for (size_t i = 1; i < cache->count; i++)
            if (cache->entries[i].last_used < cache->entries[slot].last_used)
                slot = i;
    } else
        cache->count++;
    cache->entries[slot].lower = *lower;
    cache->entries[slot].owner = *owner;
    cache->entries[slot].last_used = ++cache->clock;
}
