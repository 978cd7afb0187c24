/*  chordd store, LMDB backend.

    Layout of format "chord-store 1" (all integers big-endian):

    meta   "format"   -> "chord-store 1"
           "identity" -> the identity given when the store was made
    data   LMDB key   -> record

    The LMDB key starts with the key's 20-byte ring id, so entries sort by
    id. A key of up to S_DIRECT_KEY_MAX (490) bytes follows whole: the LMDB
    key is id ‖ key, 20..510 bytes. A longer key (chord keys reach 4096
    bytes; LMDB keys stop at 511) is stored as id ‖ its first
    S_LONG_PREFIX_BYTES bytes ‖ BLAKE2b-256 of the whole key, exactly 511
    bytes, with the whole key in the record. The two forms never share a
    length, so the LMDB key's length says which one a record uses, and the
    layout does not depend on how LMDB was built (it needs keys of 511
    bytes, LMDB's default, and open checks that).

    record  kind    1 byte: S_KIND_DIRECT or S_KIND_LONG
            sum     8 bytes: BLAKE2b-128, truncated, of the LMDB key, kind
                    and everything after sum
            key_len 4 bytes, S_KIND_LONG only
            key     key_len bytes, S_KIND_LONG only
            value   the rest

    The checksum is there because LMDB checks its page structure but not
    the bytes in it: a record damaged on disk (or left half-written by a
    power loss under MDB_NOSYNC) fails the sum and is reported, never
    served. A damaged B-tree page itself is LMDB's to detect
    (MDB_CORRUPTED, MDB_PAGE_NOTFOUND); LMDB does not defend against every
    crafted file.

    One process holds the directory: open takes flock on it. Within it,
    one read transaction (MDB_NOTLS, so it is not tied to a thread) serves
    get and range; it is reset before every write, so it never pins old
    pages while we write, and get's pointers stay valid exactly as long as
    store.h promises.

    A batch (begin .. commit) is one write transaction, opened by the
    batch's first put or del: until commit, get and range read through it
    (so they see the batch's writes) and the read transaction stays reset.
    Each put and del in the batch is a child transaction of it
    (mdb_txn_begin with a parent): LMDB gives up on a transaction that
    meets MDB_MAP_FULL and some other errors, and so only the failing
    write is dropped, never the writes before it. Outside a batch each
    write is a transaction of its own.

    A commit allocates pages of its own (LMDB's free list and the trees
    around it), so a transaction whose writes all fit can still meet
    MDB_MAP_FULL at commit; for a batch that would lose every write in it.
    So a write is refused unless its commit's reserve stays free after it:
    S_COMMIT_TREE_PAGES single pages and one run long enough for the list
    of the pages the uncommitted writes may have freed (pending_freed, an
    upper bound). That is certain when the pages they may have taken
    (pending_pages, an upper bound too) and the reserve fit above the last
    commit's high-water mark; else a child transaction tries to take the
    reserve and is dropped. A put keeps room for S_PUT_RESERVES reserves,
    so that deletes still go through in a store that puts have filled. The
    map is larger than the size asked for by what this keeps free.  */
#include "store_lmdb.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <lmdb.h>
#include <sodium.h>

#include "error.h"
#include "store_lmdb_internal.h"

/* One record, parsed and checked; the pointers are into the map. */
typedef struct {
    const uint8_t *key; /* the original key */
    size_t key_len;
    const uint8_t *value; /* the value */
    size_t value_len;
} s_record_t;


static void s_put_be32 (uint8_t *out, uint32_t n)
{
    out[0] = (uint8_t) (n >> 24);
    out[1] = (uint8_t) (n >> 16);
    out[2] = (uint8_t) (n >> 8);
    out[3] = (uint8_t) n;
}

static uint32_t s_get_be32 (const uint8_t *in)
{
    return (uint32_t) in[0] << 24 | (uint32_t) in[1] << 16 | (uint32_t) in[2] << 8 | in[3];
}

/* Writes the LMDB key of key into out and its ring id into *id; returns
   the LMDB key's length. key_len must be at most S_KEY_LEN_MAX. */
static size_t s_lmdb_key (uint8_t out[S_LMDB_KEY_MAX], chord_id_t *id, const uint8_t *key, size_t key_len)
{
    chord_id_hash (id, key, key_len);
    memcpy (out, id->bytes, CHORD_ID_BYTES);
    if (key_len <= S_DIRECT_KEY_MAX) {
        if (key_len)
            memcpy (out + CHORD_ID_BYTES, key, key_len);
        return CHORD_ID_BYTES + key_len;
    }
    memcpy (out + CHORD_ID_BYTES, key, S_LONG_PREFIX_BYTES);
    (void) crypto_generichash (out + CHORD_ID_BYTES + S_LONG_PREFIX_BYTES, S_KEY_HASH_BYTES, key, key_len,
                               NULL, 0);
    return S_LMDB_KEY_MAX;
}

/* The checksum of a record: over the LMDB key, the kind byte and then
   each of the parts that follow the sum, in order. */
static void s_sum (uint8_t out[S_SUM_BYTES], const uint8_t *lmdb_key, size_t lmdb_key_len, uint8_t kind,
                   const uint8_t *part1, size_t part1_len, const uint8_t *part2, size_t part2_len,
                   const uint8_t *part3, size_t part3_len)
{
    crypto_generichash_state state;
    uint8_t full[S_SUM_FULL_BYTES];
    (void) crypto_generichash_init (&state, NULL, 0, sizeof full);
    (void) crypto_generichash_update (&state, lmdb_key, lmdb_key_len);
    (void) crypto_generichash_update (&state, &kind, 1);
    if (part1_len)
        (void) crypto_generichash_update (&state, part1, part1_len);
    if (part2_len)
        (void) crypto_generichash_update (&state, part2, part2_len);
    if (part3_len)
        (void) crypto_generichash_update (&state, part3, part3_len);
    (void) crypto_generichash_final (&state, full, sizeof full);
    memcpy (out, full, S_SUM_BYTES);
}

/* Parses and checks the record under lmdb_key. Returns 0, or -1 when it
   is malformed or fails its checksum. */
static int s_record_parse (s_record_t *out, const MDB_val *lmdb_key, const MDB_val *data)
{
    const uint8_t *lkey = lmdb_key->mv_data;
    size_t lkey_len = lmdb_key->mv_size;
    const uint8_t *rec = data->mv_data;
    size_t rec_len = data->mv_size;
    if (lkey_len < CHORD_ID_BYTES || lkey_len > S_LMDB_KEY_MAX || rec_len < S_HEADER_BYTES)
        return -1;
    uint8_t kind = rec[0];
    if (lkey_len < S_LMDB_KEY_MAX) {
        if (kind != S_KIND_DIRECT)
            return -1;
        out->key = lkey + CHORD_ID_BYTES;
        out->key_len = lkey_len - CHORD_ID_BYTES;
        out->value = rec + S_HEADER_BYTES;
        out->value_len = rec_len - S_HEADER_BYTES;
    } else {
        if (kind != S_KIND_LONG || rec_len < S_LONG_HEADER_BYTES)
            return -1;
        size_t key_len = s_get_be32 (rec + S_HEADER_BYTES);
        if (key_len <= S_DIRECT_KEY_MAX || key_len > rec_len - S_LONG_HEADER_BYTES)
            return -1;
        out->key = rec + S_LONG_HEADER_BYTES;
        out->key_len = key_len;
        out->value = out->key + key_len;
        out->value_len = rec_len - S_LONG_HEADER_BYTES - key_len;
        if (memcmp (out->key, lkey + CHORD_ID_BYTES, S_LONG_PREFIX_BYTES) != 0)
            return -1;
    }
    uint8_t sum[S_SUM_BYTES];
    s_sum (sum, lkey, lkey_len, kind, rec + S_HEADER_BYTES, rec_len - S_HEADER_BYTES, NULL, 0, NULL, 0);
    return memcmp (sum, rec + 1, S_SUM_BYTES) == 0 ? 0 : -1;
}

/* Makes the read transaction live. Returns 0 or -1. */
static int s_reader_begin (s_lmdb_t *self)
{
    if (self->reading)
        return 0;
    if (mdb_txn_renew (self->reader) != 0)
        return -1;
    self->reading = true;
    return 0;
}

/* Ends the read transaction's snapshot before a write. */
static void s_reader_end (s_lmdb_t *self)
{
    if (self->reading) {
        mdb_txn_reset (self->reader);
        self->reading = false;
    }
}

/* The transaction reads go through: the batch's, so that they see its
   writes, else the read transaction, made live. NULL on error. */
static MDB_txn *s_read_txn (s_lmdb_t *self)
{
    if (self->batch)
        return self->batch;
    return s_reader_begin (self) == 0 ? self->reader : NULL;
}

/* Begins the transaction of one put or del: its own outside a batch, a
   child of the batch's inside one (opening that first). 0 or -1. */
static int s_write_begin (s_lmdb_t *self, MDB_txn **txn)
{
    s_reader_end (self);
    if (self->batching && !self->batch && mdb_txn_begin (self->env, NULL, 0, &self->batch) != 0) {
        self->batch = NULL;
        return -1;
    }
    return mdb_txn_begin (self->env, self->batch, 0, txn) == 0 ? 0 : -1;
}

/* Pages of an overflow value of value_bytes: an upper bound for any value. */
static size_t s_value_pages (s_lmdb_t *self, size_t value_bytes)
{
    return (S_PAGE_HEADER_BYTES + value_bytes + self->page_bytes - 1) / self->page_bytes;
}

/* Puts a value of pages pages (one page: a single page; more: one run)
   under a reserve key in txn's metadata. Returns LMDB's result. */
static int s_reserve_take (s_lmdb_t *self, MDB_txn *txn, unsigned index, size_t pages)
{
    char name[32];
    MDB_val key = {.mv_size = (size_t) snprintf (name, sizeof name, S_META_RESERVE " %u", index),
                   .mv_data = name};
    MDB_val data = {.mv_size = pages * self->page_bytes - S_PAGE_HEADER_BYTES, .mv_data = NULL};
    return mdb_put (txn, self->meta, &key, &data, MDB_RESERVE);
}

/* True when the commit of the write transaction txn belongs to is sure
   to find reserves times its reserve (see the top of this file). */
static bool s_reserve_free (s_lmdb_t *self, MDB_txn *txn, unsigned reserves)
{
    size_t list_pages = s_value_pages (self, S_PAGE_NUMBER_BYTES * (self->pending_freed + 2));
    size_t reserve_pages = reserves * (S_COMMIT_TREE_PAGES + list_pages);
    MDB_envinfo info;
    if (mdb_env_info (self->env, &info) == 0 &&
        info.me_last_pgno + 1 + self->pending_pages + reserve_pages < self->map_pages)
        return true;
    //  Near the end of the map: take the reserve in a child, then drop
    //  the child and all it took.
    MDB_txn *probe;
    if (mdb_txn_begin (self->env, txn, 0, &probe) != 0)
        return false;
    int rc = 0;
    unsigned index = 0;
    for (unsigned r = 0; r < reserves && rc == 0; r++) {
        rc = s_reserve_take (self, probe, index++, list_pages);
        for (unsigned i = 0; i < S_COMMIT_TREE_PAGES && rc == 0; i++)
            rc = s_reserve_take (self, probe, index++, 1);
    }
    mdb_txn_abort (probe);
    return rc == 0;
}

/* Commits the transaction of one put or del (into the batch, inside one),
   which may have taken up to taken_pages pages and freed up to
   freed_pages, once sure that reserves reserves stay free; records the
   new entry count. Returns 0 or -1; txn is gone either way, and a failed
   child leaves the batch as it was. */
static int s_commit (s_lmdb_t *self, MDB_txn *txn, size_t taken_pages, size_t freed_pages, unsigned reserves)
{
    self->pending_pages += taken_pages;
    self->pending_freed += freed_pages;
    MDB_stat stat;
    int rc = mdb_stat (txn, self->data, &stat);
    if (rc == 0 && !s_reserve_free (self, txn, reserves))
        rc = MDB_MAP_FULL;
    if (rc == 0)
        rc = mdb_txn_commit (txn);
    else {
        mdb_txn_abort (txn);
        self->pending_pages -= taken_pages;
        self->pending_freed -= freed_pages;
    }
    if (!self->batch)
        self->pending_pages = self->pending_freed = 0;
    if (rc != 0)
        return -1;
    self->count = stat.ms_entries;
    self->depth = stat.ms_depth;
    if (!self->batch)
        self->count_committed = self->count;
    return 0;
}

static int s_lmdb_get (chord_store_t *base, const uint8_t *key, size_t key_len, const uint8_t **value,
                       size_t *value_len)
{
    s_lmdb_t *self = (s_lmdb_t *) base;
    assert (self);
    assert (key || key_len == 0);
    assert (value);
    assert (value_len);
    if (key_len > S_KEY_LEN_MAX)
        return 1; //  no put could have stored it
    uint8_t lkey[S_LMDB_KEY_MAX];
    chord_id_t id;
    MDB_val lmdb_key = {.mv_size = s_lmdb_key (lkey, &id, key, key_len), .mv_data = lkey};
    MDB_val data;
    MDB_txn *txn = s_read_txn (self);
    if (!txn)
        return -1;
    int rc = mdb_get (txn, self->data, &lmdb_key, &data);
    if (rc == MDB_NOTFOUND)
        return 1;
    s_record_t record;
    if (rc != 0 || s_record_parse (&record, &lmdb_key, &data) != 0)
        return -1;
    //  A long key's LMDB key is a digest; the record holds the key itself.
    //  Another key here means a BLAKE2b-256 collision: an error, not a hit.
    if (record.key_len != key_len || (key_len && memcmp (record.key, key, key_len) != 0))
        return -1;
    *value = record.value;
    *value_len = record.value_len;
    return 0;
}

static int s_lmdb_put (chord_store_t *base, const uint8_t *key, size_t key_len, const uint8_t *value,
                       size_t value_len)
{
    s_lmdb_t *self = (s_lmdb_t *) base;
    assert (self);
    assert (key || key_len == 0);
    assert (value || value_len == 0);
    //  Check the sizes before reading a byte of key or value.
    if (key_len > S_KEY_LEN_MAX)
        return -1;
    bool is_long = key_len > S_DIRECT_KEY_MAX;
    size_t fixed_len = is_long ? S_LONG_HEADER_BYTES + key_len : S_HEADER_BYTES;
    if (value_len > S_RECORD_MAX - fixed_len)
        return -1;
    size_t record_len = fixed_len + value_len;

    uint8_t lkey[S_LMDB_KEY_MAX];
    chord_id_t id;
    MDB_val lmdb_key = {.mv_size = s_lmdb_key (lkey, &id, key, key_len), .mv_data = lkey};
    uint8_t kind = is_long ? S_KIND_LONG : S_KIND_DIRECT;
    uint8_t key_len_be[S_KEY_LEN_BYTES];
    s_put_be32 (key_len_be, (uint32_t) key_len);
    uint8_t sum[S_SUM_BYTES];
    if (is_long)
        s_sum (sum, lkey, lmdb_key.mv_size, kind, key_len_be, sizeof key_len_be, key, key_len, value,
               value_len);
    else
        s_sum (sum, lkey, lmdb_key.mv_size, kind, value, value_len, NULL, 0, NULL, 0);

    MDB_txn *txn;
    if (s_write_begin (self, &txn) != 0)
        return -1;
    //  The old record's pages are freed: count them for the reserve.
    MDB_val old;
    size_t old_pages =
        mdb_get (txn, self->data, &lmdb_key, &old) == 0 ? s_value_pages (self, old.mv_size) : 0;
    //  Reserve the record in the map and write it in place: no copy in
    //  between. A full map mostly shows here (MDB_MAP_FULL), else at the
    //  commit; either way the transaction (in a batch, the child) is
    //  dropped whole.
    MDB_val data = {.mv_size = record_len, .mv_data = NULL};
    if (mdb_put (txn, self->data, &lmdb_key, &data, MDB_RESERVE) != 0) {
        mdb_txn_abort (txn);
        return -1;
    }
    uint8_t *out = data.mv_data;
    out[0] = kind;
    memcpy (out + 1, sum, S_SUM_BYTES);
    out += S_HEADER_BYTES;
    if (is_long) {
        memcpy (out, key_len_be, S_KEY_LEN_BYTES);
        memcpy (out + S_KEY_LEN_BYTES, key, key_len);
        out += S_KEY_LEN_BYTES + key_len;
    }
    if (value_len)
        memcpy (out, value, value_len);
    //  A failed commit (a full disk, an I/O error) leaves the last
    //  committed state, the old value included.
    size_t tree_pages = S_WRITE_TREE_PAGES (self->depth);
    return s_commit (self, txn, s_value_pages (self, record_len) + tree_pages, old_pages + tree_pages,
                     S_PUT_RESERVES);
}

static int s_lmdb_del (chord_store_t *base, const uint8_t *key, size_t key_len)
{
    s_lmdb_t *self = (s_lmdb_t *) base;
    assert (self);
    assert (key || key_len == 0);
    if (key_len > S_KEY_LEN_MAX)
        return 1;
    uint8_t lkey[S_LMDB_KEY_MAX];
    chord_id_t id;
    MDB_val lmdb_key = {.mv_size = s_lmdb_key (lkey, &id, key, key_len), .mv_data = lkey};

    MDB_txn *txn;
    if (s_write_begin (self, &txn) != 0)
        return -1;
    MDB_val data;
    int rc = mdb_get (txn, self->data, &lmdb_key, &data);
    if (rc == 0 && key_len > S_DIRECT_KEY_MAX) {
        //  Make sure the record is this key's before removing it. A damaged
        //  record is removed: that is how it gets repaired.
        s_record_t record;
        if (s_record_parse (&record, &lmdb_key, &data) == 0 &&
            (record.key_len != key_len || memcmp (record.key, key, key_len) != 0))
            rc = -1;
    }
    size_t old_pages = rc == 0 ? s_value_pages (self, data.mv_size) : 0;
    if (rc == 0)
        rc = mdb_del (txn, self->data, &lmdb_key, NULL);
    if (rc != 0) {
        mdb_txn_abort (txn);
        return rc == MDB_NOTFOUND ? 1 : -1;
    }
    size_t tree_pages = S_WRITE_TREE_PAGES (self->depth);
    return s_commit (self, txn, tree_pages, old_pages + tree_pages, 1);
}

/* Visits the entries from just after id `after` (from the first entry
   when NULL) up to id `upto` inclusive (to the last entry when NULL).
   Skips damaged records, setting *damaged. Returns 0 at the end, the
   visitor's non-zero value, or -1 on an LMDB error. */
static int s_scan (MDB_cursor *cursor, const chord_id_t *after, const chord_id_t *upto,
                   chord_store_visit_fn *visit, void *arg, bool *damaged)
{
    MDB_val lmdb_key = {0}, data;
    MDB_cursor_op op = MDB_FIRST;
    if (after) {
        //  The smallest LMDB key at or past the bare id.
        lmdb_key.mv_size = CHORD_ID_BYTES;
        lmdb_key.mv_data = (void *) after->bytes;
        op = MDB_SET_RANGE;
    }
    while (true) {
        int rc = mdb_cursor_get (cursor, &lmdb_key, &data, op);
        op = MDB_NEXT;
        if (rc == MDB_NOTFOUND)
            return 0;
        if (rc != 0)
            return -1;
        if (lmdb_key.mv_size < CHORD_ID_BYTES) {
            *damaged = true;
            continue;
        }
        if (after && memcmp (lmdb_key.mv_data, after->bytes, CHORD_ID_BYTES) == 0)
            continue; //  the interval is open at its start
        if (upto && memcmp (lmdb_key.mv_data, upto->bytes, CHORD_ID_BYTES) > 0)
            return 0;
        s_record_t record;
        if (s_record_parse (&record, &lmdb_key, &data) != 0) {
            *damaged = true;
            continue;
        }
        chord_id_t id;
        memcpy (id.bytes, lmdb_key.mv_data, CHORD_ID_BYTES);
        rc = visit (arg, &id, record.key, record.key_len, record.value, record.value_len);
        if (rc)
            return rc;
    }
}

static int s_lmdb_range (chord_store_t *base, const chord_id_t *from, const chord_id_t *to,
                         chord_store_visit_fn *visit, void *arg)
{
    s_lmdb_t *self = (s_lmdb_t *) base;
    assert (self);
    assert (from);
    assert (to);
    assert (visit);
    MDB_cursor *cursor;
    MDB_txn *txn = s_read_txn (self);
    if (!txn || mdb_cursor_open (txn, self->data, &cursor) != 0)
        return -1;
    bool damaged = false;
    int rc;
    int order = chord_id_cmp (from, to);
    if (order == 0) //  the whole ring
        rc = s_scan (cursor, NULL, NULL, visit, arg, &damaged);
    else if (order < 0) //  one segment, (from, to]
        rc = s_scan (cursor, from, to, visit, arg, &damaged);
    else { //  it wraps: (from, top], then [0, to]
        rc = s_scan (cursor, from, NULL, visit, arg, &damaged);
        if (rc == 0)
            rc = s_scan (cursor, NULL, to, visit, arg, &damaged);
    }
    mdb_cursor_close (cursor);
    return rc == 0 && damaged ? -1 : rc;
}

static size_t s_lmdb_count (chord_store_t *base)
{
    s_lmdb_t *self = (s_lmdb_t *) base;
    assert (self);
    return self->count;
}

static int s_lmdb_begin (chord_store_t *base)
{
    s_lmdb_t *self = (s_lmdb_t *) base;
    assert (self);
    assert (!self->batching);
    //  The write transaction waits for the first write: a batch that only
    //  reads costs nothing and commits nothing.
    self->batching = true;
    return 0;
}

static int s_lmdb_commit (chord_store_t *base)
{
    s_lmdb_t *self = (s_lmdb_t *) base;
    assert (self);
    assert (self->batching);
    self->batching = false;
    if (!self->batch)
        return 0;
    //  One commit, one fsync (none when fast) for the whole batch. On
    //  failure LMDB keeps the last committed state: the batch is gone.
    int rc = mdb_txn_commit (self->batch);
    self->batch = NULL;
    self->pending_pages = self->pending_freed = 0;
    if (rc != 0) {
        self->count = self->count_committed;
        return -1;
    }
    self->count_committed = self->count;
    return 0;
}

static void s_lmdb_destroy (chord_store_t **self_p)
{
    assert (self_p);
    s_lmdb_t *self = (s_lmdb_t *) *self_p;
    if (!self)
        return;
    if (self->batch)
        mdb_txn_abort (self->batch); //  never committed, so never acknowledged
    if (self->reader)
        mdb_txn_abort (self->reader);
    if (self->env) {
        if (self->fast)
            (void) mdb_env_sync (self->env, 1);
        mdb_env_close (self->env);
    }
    if (self->dir_fd >= 0)
        close (self->dir_fd); //  and with it the flock
    free (self);
    *self_p = NULL;
}

const chord_store_ops_t chordd_store_lmdb_ops = {
    .get = s_lmdb_get,
    .put = s_lmdb_put,
    .del = s_lmdb_del,
    .range = s_lmdb_range,
    .count = s_lmdb_count,
    .destroy = s_lmdb_destroy,
    .begin = s_lmdb_begin,
    .commit = s_lmdb_commit,
};
