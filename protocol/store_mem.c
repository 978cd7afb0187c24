/*  chord store, in-memory backend: an open-addressing hash table.

    Linear probing over a power-of-two table of slots, grown by doubling at
    3/4 load, with backward-shift deletion so no tombstones pile up. Each
    entry is one allocation holding the key and value bytes together with
    the key's ring id, which is hashed once when the key is first stored so
    range scans never rehash.

    The table index comes from a fast non-cryptographic hash of the key, not
    from BLAKE2b: gets and deletes are the hot path and need no ring id. The
    hash is unkeyed because this constructor takes no seed and the core
    draws no randomness; that makes the table open to crafted-collision
    keys, which is acceptable for tests and the simulator but a reason for a
    durable backend to keep its own index.  */
#include "store.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

//  Slots in a new table; a power of two.
#define S_CAPACITY_MIN 16

typedef struct {
    chord_id_t id;              //  BLAKE2b-160 of the key, for range
    size_t key_len;             //  bytes of key at the start of bytes
    size_t value_len;           //  bytes of value right after the key
    uint8_t bytes [];           //  key, then value
} s_entry_t;

typedef struct {
    uint64_t hash;              //  table hash of the entry's key, kept so growth and probes skip rehashing
    s_entry_t *entry;           //  owned entry, or NULL when the slot is free
} s_slot_t;

typedef struct {
    chord_store_t base;         //  the interface; first, so the two pointers convert
    s_slot_t *slots;            //  capacity slots
    size_t capacity;            //  a power of two, at least S_CAPACITY_MIN
    size_t count;               //  slots in use
} s_mem_t;

//  A 64-bit finaliser (MurmurHash3's fmix64): every input bit reaches every
//  output bit, so masking to the low bits gives a well-spread index.
static uint64_t
s_mix (uint64_t h)
{
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ULL;
    h ^= h >> 33;
    return h;
}

//  Hashes key bytes eight at a time. The length seeds the state so keys
//  that differ only by trailing zero bytes still differ.
static uint64_t
s_key_hash (const uint8_t *key, size_t key_len)
{
    uint64_t h = 0x9e3779b97f4a7c15ULL ^ s_mix ((uint64_t) key_len);
    while (key_len >= 8) {
        uint64_t word;
        memcpy (&word, key, 8);
        h = (h ^ s_mix (word)) * 0x9e3779b97f4a7c15ULL;
        h = (h << 31) | (h >> 33);
        key += 8;
        key_len -= 8;
    }
    if (key_len > 0) {
        uint64_t word = 0;
        memcpy (&word, key, key_len);
        h = (h ^ s_mix (word)) * 0x9e3779b97f4a7c15ULL;
    }
    return s_mix (h);
}

static bool
s_entry_matches (const s_slot_t *slot, uint64_t hash, const uint8_t *key, size_t key_len)
{
    return slot->hash == hash
        && slot->entry->key_len == key_len
        && (key_len == 0 || memcmp (slot->entry->bytes, key, key_len) == 0);
}

//  Returns the index of the slot holding key, or of the free slot where it
//  would go. Terminates because the load factor keeps a free slot.
static size_t
s_find (const s_mem_t *self, uint64_t hash, const uint8_t *key, size_t key_len)
{
    size_t mask = self->capacity - 1;
    size_t index = (size_t) hash & mask;
    while (self->slots [index].entry
       && !s_entry_matches (&self->slots [index], hash, key, key_len))
        index = (index + 1) & mask;
    return index;
}

//  Doubles the table. Returns 0, or -1 with the table unchanged.
static int
s_grow (s_mem_t *self)
{
    if (self->capacity > SIZE_MAX / 2 / sizeof (s_slot_t))
        return -1;
    size_t capacity = self->capacity * 2;
    s_slot_t *slots = calloc (capacity, sizeof (s_slot_t));
    if (!slots)
        return -1;
    size_t mask = capacity - 1;
    for (size_t i = 0; i < self->capacity; i++) {
        if (!self->slots [i].entry)
            continue;
        size_t index = (size_t) self->slots [i].hash & mask;
        while (slots [index].entry)
            index = (index + 1) & mask;
        slots [index] = self->slots [i];
    }
    free (self->slots);
    self->slots = slots;
    self->capacity = capacity;
    return 0;
}

//  Returns a new entry holding copies of key and value, without its id, or
//  NULL when out of memory or the sizes overflow.
static s_entry_t *
s_entry_new (const uint8_t *key, size_t key_len, const uint8_t *value, size_t value_len)
{
    if (key_len > SIZE_MAX - sizeof (s_entry_t)
    ||  value_len > SIZE_MAX - sizeof (s_entry_t) - key_len)
        return NULL;
    s_entry_t *entry = malloc (sizeof (s_entry_t) + key_len + value_len);
    if (!entry)
        return NULL;
    entry->key_len = key_len;
    entry->value_len = value_len;
    //  memcpy from NULL is undefined even for zero bytes, and empty keys
    //  and values may come with NULL pointers.
    if (key_len)
        memcpy (entry->bytes, key, key_len);
    if (value_len)
        memcpy (entry->bytes + key_len, value, value_len);
    return entry;
}

static int
s_mem_get (chord_store_t *base, const uint8_t *key, size_t key_len,
           const uint8_t **value, size_t *value_len)
{
    s_mem_t *self = (s_mem_t *) base;
    assert (self);
    assert (key || key_len == 0);
    assert (value);
    assert (value_len);
    uint64_t hash = s_key_hash (key, key_len);
    s_entry_t *entry = self->slots [s_find (self, hash, key, key_len)].entry;
    if (!entry)
        return 1;
    *value = entry->bytes + entry->key_len;
    *value_len = entry->value_len;
    return 0;
}

static int
s_mem_put (chord_store_t *base, const uint8_t *key, size_t key_len,
           const uint8_t *value, size_t value_len)
{
    s_mem_t *self = (s_mem_t *) base;
    assert (self);
    assert (key || key_len == 0);
    assert (value || value_len == 0);
    //  Copy first: it checks the sizes before anything reads the key.
    s_entry_t *entry = s_entry_new (key, key_len, value, value_len);
    if (!entry)
        return -1;
    uint64_t hash = s_key_hash (entry->bytes, key_len);
    size_t index = s_find (self, hash, entry->bytes, key_len);

    s_entry_t *old = self->slots [index].entry;
    if (old) {
        //  Replacing: the key, and so its id, is unchanged.
        entry->id = old->id;
        free (old);
        self->slots [index].entry = entry;
        return 0;
    }
    //  A new key: make room first, so a failed growth leaves the store as
    //  it was.
    if ((self->count + 1) * 4 > self->capacity * 3) {
        if (s_grow (self)) {
            free (entry);
            return -1;
        }
        index = s_find (self, hash, key, key_len);
    }
    chord_id_hash (&entry->id, key, key_len);
    self->slots [index].hash = hash;
    self->slots [index].entry = entry;
    self->count++;
    return 0;
}

static int
s_mem_del (chord_store_t *base, const uint8_t *key, size_t key_len)
{
    s_mem_t *self = (s_mem_t *) base;
    assert (self);
    assert (key || key_len == 0);
    uint64_t hash = s_key_hash (key, key_len);
    size_t hole = s_find (self, hash, key, key_len);
    if (!self->slots [hole].entry)
        return 1;
    free (self->slots [hole].entry);
    self->count--;

    //  Backward-shift deletion: pull each later entry of the probe run into
    //  the hole when its home slot is not after the hole, so every entry
    //  stays reachable from its home without tombstones.
    size_t mask = self->capacity - 1;
    size_t index = hole;
    while (true) {
        index = (index + 1) & mask;
        if (!self->slots [index].entry)
            break;
        size_t home = (size_t) self->slots [index].hash & mask;
        size_t probe_len = (index - home) & mask;
        size_t hole_dist = (index - hole) & mask;
        if (probe_len >= hole_dist) {
            self->slots [hole] = self->slots [index];
            hole = index;
        }
    }
    self->slots [hole].entry = NULL;
    return 0;
}

static int
s_mem_range (chord_store_t *base, const chord_id_t *from, const chord_id_t *to,
             chord_store_visit_fn *visit, void *arg)
{
    s_mem_t *self = (s_mem_t *) base;
    assert (self);
    assert (from);
    assert (to);
    assert (visit);
    //  A full scan: the table has no order by id. Fine for handoff-sized
    //  work in tests and the simulator; a durable backend can index by id.
    for (size_t i = 0; i < self->capacity; i++) {
        const s_entry_t *entry = self->slots [i].entry;
        if (!entry || !chord_id_in_half_open (&entry->id, from, to))
            continue;
        int rc = visit (arg, &entry->id, entry->bytes, entry->key_len,
                        entry->bytes + entry->key_len, entry->value_len);
        if (rc)
            return rc;
    }
    return 0;
}

static size_t
s_mem_count (chord_store_t *base)
{
    s_mem_t *self = (s_mem_t *) base;
    assert (self);
    return self->count;
}

static void
s_mem_destroy (chord_store_t **self_p)
{
    assert (self_p);
    s_mem_t *self = (s_mem_t *) *self_p;
    if (!self)
        return;
    for (size_t i = 0; i < self->capacity; i++)
        free (self->slots [i].entry);
    free (self->slots);
    free (self);
    *self_p = NULL;
}

static const chord_store_ops_t s_mem_ops = {
    .get = s_mem_get,
    .put = s_mem_put,
    .del = s_mem_del,
    .range = s_mem_range,
    .count = s_mem_count,
    .destroy = s_mem_destroy,
};

chord_store_t *
chord_store_mem_new (void)
{
    s_mem_t *self = calloc (1, sizeof (s_mem_t));
    if (!self)
        return NULL;
    self->base.ops = &s_mem_ops;
    self->capacity = S_CAPACITY_MIN;
    self->slots = calloc (self->capacity, sizeof (s_slot_t));
    if (!self->slots) {
        free (self);
        return NULL;
    }
    return &self->base;
}
