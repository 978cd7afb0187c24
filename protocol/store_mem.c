/*  chord store, in-memory backend: an open-addressing hash table, sized for
    memory (issue #12: at most 64 bytes per key beyond its key and value).

    Linear probing with backward-shift deletion (no tombstones) over two
    parallel arrays: an 8-bit tag per slot (0: free), scanned by probes so
    that a miss touches only tags, and the entry pointer, read only on a
    tag match. The table grows by half at 7/8 load, so it stays between
    7/12 and 7/8 full: 9 bytes per slot cost 10 to 15 bytes per key. A
    probe reads a wrong entry once in 255 tags (a miss at 7/8 load scans
    32 tags: one read in eight). The home slot is mapped from the hash by
    multiplication, so any capacity works.

    Each entry is one allocation: a 10-byte header (the first 4 bytes of
    the key's ring id, the lengths) then the key and value bytes. The full
    ring id (20 bytes) is not kept: range scans filter on the 4-byte prefix
    and hash (BLAKE2b) only the entries they may visit, which costs them a
    hash per visited key; gets and puts of known keys never hash. Moving
    an entry (growth, deletion) rehashes its key with the table hash, which
    is cheap, rather than keeping it.

    The table hash is a fast non-cryptographic one, unkeyed because this
    constructor takes no seed and the core draws no randomness; that makes
    the table open to crafted-collision keys, which is acceptable for tests
    and the simulator but a reason for a durable backend to keep its own
    index.  */
#include "store.h"

#include <assert.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

//  Slots in a new table.
#define S_CAPACITY_MIN 16
//  Most slots a table may have: home slots are mapped from 32 hash bits.
#define S_CAPACITY_MAX UINT32_MAX
//  Free slot tag; a key whose tag would be this gets S_TAG_FREE + 1.
#define S_TAG_FREE 0

//  10 bytes before the key, so a 16-byte key with a 118-byte
//  record fits a 160-byte malloc chunk (8 of it malloc's own header).
typedef struct {
    uint32_t id_prefix;         //  first 4 bytes of the key's ring id, big-endian: range's filter
    uint32_t value_len;         //  bytes of value right after the key
    uint16_t key_len;           //  bytes of key at the start of bytes
    uint8_t bytes [];           //  key, then value
} s_entry_t;

#define S_ENTRY_HEADER offsetof (s_entry_t, bytes)
_Static_assert (S_ENTRY_HEADER == 10, "no padding before the key");

typedef struct {
    chord_store_t base;         //  the interface; first, so the two pointers convert
    uint8_t *tags;              //  capacity tags, S_TAG_FREE where the slot is free
    s_entry_t **entries;        //  capacity owned entries, NULL where the slot is free
    size_t capacity;            //  slots, S_CAPACITY_MIN .. S_CAPACITY_MAX
    size_t count;               //  slots in use
} s_mem_t;

//  A 64-bit finaliser (MurmurHash3's fmix64): every input bit reaches every
//  output bit, so any bits of the result are well spread.
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

//  The tag comes from the low bits and the home slot from the high ones,
//  so the two are independent.
static uint8_t
s_tag (uint64_t hash)
{
    uint8_t tag = (uint8_t) hash;
    return tag == S_TAG_FREE ? S_TAG_FREE + 1 : tag;
}

//  Maps the high 32 bits of hash onto 0 .. capacity-1 (Lemire's fastrange).
static size_t
s_home (size_t capacity, uint64_t hash)
{
    return (size_t) (((hash >> 32) * (uint64_t) capacity) >> 32);
}

static size_t
s_entry_home (const s_mem_t *self, const s_entry_t *entry)
{
    return s_home (self->capacity, s_key_hash (entry->bytes, entry->key_len));
}

static bool
s_entry_is (const s_entry_t *entry, const uint8_t *key, size_t key_len)
{
    return entry->key_len == key_len
        && (key_len == 0 || memcmp (entry->bytes, key, key_len) == 0);
}

//  Returns the index of the slot holding key, or of the free slot where it
//  would go. Terminates because the load factor keeps a free slot.
static size_t
s_find (const s_mem_t *self, uint64_t hash, const uint8_t *key, size_t key_len)
{
    uint8_t tag = s_tag (hash);
    size_t index = s_home (self->capacity, hash);
    while (self->tags [index] != S_TAG_FREE) {
        if (self->tags [index] == tag && s_entry_is (self->entries [index], key, key_len))
            break;
        if (++index == self->capacity)
            index = 0;
    }
    return index;
}

//  Allocates both arrays of a table of capacity slots, zeroed, in one
//  block: the entries first, as they need the stricter alignment.
static int
s_arrays_new (size_t capacity, uint8_t **tags_p, s_entry_t ***entries_p)
{
    s_entry_t **entries = calloc (capacity, sizeof (s_entry_t *) + sizeof (uint8_t));
    if (!entries)
        return -1;
    *entries_p = entries;
    *tags_p = (uint8_t *) (entries + capacity);
    return 0;
}

//  Puts entry, with tag, into the first free slot from its home; the table
//  must have one.
static void
s_place (uint8_t *tags, s_entry_t **entries, size_t capacity, size_t home, uint8_t tag, s_entry_t *entry)
{
    size_t index = home;
    while (tags [index] != S_TAG_FREE)
        if (++index == capacity)
            index = 0;
    tags [index] = tag;
    entries [index] = entry;
}

//  Grows the table by half. Returns 0, or -1 with the table unchanged.
static int
s_grow (s_mem_t *self)
{
    if (self->capacity > S_CAPACITY_MAX / 3 * 2)
        return -1;
    size_t capacity = self->capacity + self->capacity / 2;
    uint8_t *tags;
    s_entry_t **entries;
    if (s_arrays_new (capacity, &tags, &entries))
        return -1;
    for (size_t i = 0; i < self->capacity; i++) {
        s_entry_t *entry = self->entries [i];
        if (entry)
            s_place (tags, entries, capacity,
                     s_home (capacity, s_key_hash (entry->bytes, entry->key_len)), self->tags [i], entry);
    }
    free (self->entries);
    self->entries = entries;
    self->tags = tags;
    self->capacity = capacity;
    return 0;
}

//  Returns a new entry holding copies of key and value, without its id
//  prefix, or NULL when out of memory or a length does not fit its field.
static s_entry_t *
s_entry_new (const uint8_t *key, size_t key_len, const uint8_t *value, size_t value_len)
{
    if (key_len > UINT16_MAX || value_len > UINT32_MAX
    ||  value_len > SIZE_MAX - sizeof (s_entry_t) - key_len)
        return NULL;
    size_t size = S_ENTRY_HEADER + key_len + value_len;
    s_entry_t *entry = malloc (size < sizeof (s_entry_t) ? sizeof (s_entry_t) : size);
    if (!entry)
        return NULL;
    entry->key_len = (uint16_t) key_len;
    entry->value_len = (uint32_t) value_len;
    //  memcpy from NULL is undefined even for zero bytes, and empty keys
    //  and values may come with NULL pointers.
    if (key_len)
        memcpy (entry->bytes, key, key_len);
    if (value_len)
        memcpy (entry->bytes + key_len, value, value_len);
    return entry;
}

static uint32_t
s_id_prefix (const chord_id_t *id)
{
    return (uint32_t) id->bytes [0] << 24 | (uint32_t) id->bytes [1] << 16
         | (uint32_t) id->bytes [2] << 8 | id->bytes [3];
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
    s_entry_t *entry = self->entries [s_find (self, hash, key, key_len)];
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

    s_entry_t *old = self->entries [index];
    if (old) {
        //  Replacing: the key, and so its id, is unchanged.
        entry->id_prefix = old->id_prefix;
        free (old);
        self->entries [index] = entry;
        return 0;
    }
    //  A new key: make room first, so a failed growth leaves the store as
    //  it was. 64-bit arithmetic: capacity * 8 may not fit a 32-bit size_t.
    if (((uint64_t) self->count + 1) * 8 > (uint64_t) self->capacity * 7) {
        if (s_grow (self)) {
            free (entry);
            return -1;
        }
        index = s_find (self, hash, entry->bytes, key_len);
    }
    chord_id_t id;
    chord_id_hash (&id, entry->bytes, key_len);
    entry->id_prefix = s_id_prefix (&id);
    self->tags [index] = s_tag (hash);
    self->entries [index] = entry;
    self->count++;
    return 0;
}

//  Steps from a to b forward around the table.
static size_t
s_distance (size_t capacity, size_t a, size_t b)
{
    return b >= a ? b - a : b + capacity - a;
}

static int
s_mem_del (chord_store_t *base, const uint8_t *key, size_t key_len)
{
    s_mem_t *self = (s_mem_t *) base;
    assert (self);
    assert (key || key_len == 0);
    uint64_t hash = s_key_hash (key, key_len);
    size_t hole = s_find (self, hash, key, key_len);
    if (!self->entries [hole])
        return 1;
    free (self->entries [hole]);
    self->count--;

    //  Backward-shift deletion: pull each later entry of the probe run into
    //  the hole when its home slot is not after the hole, so every entry
    //  stays reachable from its home without tombstones.
    size_t index = hole;
    while (true) {
        if (++index == self->capacity)
            index = 0;
        if (self->tags [index] == S_TAG_FREE)
            break;
        size_t home = s_entry_home (self, self->entries [index]);
        if (s_distance (self->capacity, home, index) >= s_distance (self->capacity, hole, index)) {
            self->tags [hole] = self->tags [index];
            self->entries [hole] = self->entries [index];
            hole = index;
        }
    }
    self->tags [hole] = S_TAG_FREE;
    self->entries [hole] = NULL;
    return 0;
}

//  What the first 4 bytes of an id tell of its place in a ring interval.
typedef struct {
    bool whole;                 //  the interval is the whole ring: every id is in
    bool sliver_out;            //  low == high: the prefixes other than low are out, else in
    uint32_t low;               //  prefix of the interval's start
    uint32_t high;              //  prefix of its end
} s_prefix_filter_t;

static void
s_prefix_filter_init (s_prefix_filter_t *filter, const chord_id_t *from, const chord_id_t *to)
{
    filter->whole = chord_id_equal (from, to);
    filter->low = s_id_prefix (from);
    filter->high = s_id_prefix (to);
    //  With equal prefixes, (from, to] is a sliver of one prefix when
    //  from < to, and all but a sliver of it when it wraps.
    filter->sliver_out = chord_id_cmp (from, to) < 0;
}

//  1 when every id starting with prefix lies in the interval, 0 when none
//  does, -1 when the prefix alone cannot tell.
static int
s_prefix_in (const s_prefix_filter_t *filter, uint32_t prefix)
{
    if (filter->whole)
        return 1;
    if (prefix == filter->low || prefix == filter->high)
        return -1;
    if (filter->low == filter->high)
        return !filter->sliver_out;
    if (filter->low < filter->high)
        return filter->low < prefix && prefix < filter->high;
    return prefix > filter->low || prefix < filter->high;
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
    s_prefix_filter_t filter;
    s_prefix_filter_init (&filter, from, to);
    for (size_t i = 0; i < self->capacity; i++) {
        if (self->tags [i] == S_TAG_FREE)
            continue;
        const s_entry_t *entry = self->entries [i];
        int inside = s_prefix_in (&filter, entry->id_prefix);
        if (inside == 0)
            continue;
        chord_id_t id;
        chord_id_hash (&id, entry->bytes, entry->key_len);
        if (inside < 0 && !chord_id_in_half_open (&id, from, to))
            continue;
        int rc = visit (arg, &id, entry->bytes, entry->key_len,
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
        free (self->entries [i]);
    free (self->entries);
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
    if (s_arrays_new (self->capacity, &self->tags, &self->entries)) {
        free (self);
        return NULL;
    }
    return &self->base;
}
