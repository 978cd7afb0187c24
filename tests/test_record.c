/*  Tests for protocol/record.c: the record encoding (round trips, and every
    way a buffer can fail to be a record), version order, the hybrid logical
    clock, and put_if_newer over the in-memory store, ending with a seeded
    property test: replicas that see the same writes in different orders
    keep the same record.

    Run alone: make build/t/test_record.t && build/t/test_record.t
    Under valgrind: valgrind -q --leak-check=full --error-exitcode=9 build/t/test_record.t  */

#include "record.h"
#include "store.h"
#include "tap.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------------- */
/* Deterministic data. */

#define S_SEED 0x5eed0f1ec0dull                  /* the PRNG's fixed seed */

static uint64_t s_rng = S_SEED;                  /* xorshift64 state */

static uint64_t s_rand (void)
{
    s_rng ^= s_rng << 13;
    s_rng ^= s_rng >> 7;
    s_rng ^= s_rng << 17;
    return s_rng;
}

static uint8_t s_value[CHORD_VALUE_MAX + 1];                        /* value bytes */
static uint8_t s_buf[CHORD_RECORD_HEADER + CHORD_VALUE_MAX + 1];    /* an encoded record */

static void s_data_init (void)
{
    for (size_t i = 0; i < sizeof s_value; i++)
        s_value[i] = (uint8_t) (i * 7 + (i >> 8));
}

/* A record of value_len bytes of s_value, or a tombstone. */
static chord_record_t s_record (uint64_t hlc, uint64_t writer, bool tombstone, size_t value_len)
{
    chord_record_t rec = { { hlc, writer }, tombstone, tombstone ? NULL : s_value,
                           tombstone ? 0 : value_len };
    return rec;
}

/* Encodes rec into a malloc'd buffer of exactly its size. */
static uint8_t *s_encode (const chord_record_t *rec, size_t *size)
{
    *size = chord_record_size (rec);
    uint8_t *data = malloc (*size);
    if (data)
        chord_record_encode (rec, data);
    return data;
}

static int s_bytes_eq (const void *a, size_t a_len, const void *b, size_t b_len)
{
    return a_len == b_len && (a_len == 0 || memcmp (a, b, a_len) == 0);
}

/* True when the two records carry the same version, kind and value. */
static int s_record_eq (const chord_record_t *a, const chord_record_t *b)
{
    return chord_version_compare (&a->version, &b->version) == 0
           && a->tombstone == b->tombstone
           && s_bytes_eq (a->value, a->value_len, b->value, b->value_len);
}

/* Decodes exactly size bytes from a heap copy, so valgrind sees any over-read. */
static int s_decodes (const uint8_t *data, size_t size)
{
    uint8_t *copy = malloc (size ? size : 1);
    if (size)
        memcpy (copy, data, size);
    chord_record_t rec;
    int rc = chord_record_decode (&rec, copy, size);
    free (copy);
    return rc == 0;
}

/* ---------------------------------------------------------------------- */
/* Encoding. */

/* Encodes rec, checks the header bytes, decodes it and compares. */
static int s_round_trip (const chord_record_t *rec)
{
    size_t size;
    uint8_t *data = s_encode (rec, &size);
    if (!data)
        return 0;
    int ok = size == CHORD_RECORD_HEADER + (rec->tombstone ? 0 : rec->value_len)
             && data[0] == CHORD_RECORD_FORMAT
             && data[1] == (rec->tombstone ? CHORD_RECORD_TOMBSTONE : 0);
    for (int i = 0; i < 8 && ok; i++)
        ok = data[2 + i] == (uint8_t) (rec->version.hlc >> (56 - 8 * i))
             && data[10 + i] == (uint8_t) (rec->version.writer >> (56 - 8 * i));
    if (!ok)
        tap_diag ("encoded size or header wrong");
    chord_record_t back;
    if (ok && chord_record_decode (&back, data, size) != 0) {
        tap_diag ("decode failed");
        ok = 0;
    }
    if (ok && !(s_record_eq (rec, &back)
                && (back.value_len == 0 || back.value == data + CHORD_RECORD_HEADER))) {
        tap_diag ("decoded record differs, or its value is not borrowed from the buffer");
        ok = 0;
    }
    free (data);
    return ok;
}

static void s_test_encoding (void)
{
    chord_record_t rec = s_record (0x0102030405060708ull, 0xa1a2a3a4a5a6a7a8ull, false, 5);
    tap_ok (s_round_trip (&rec), "round trip: a 5-byte value, header big-endian");
    rec = s_record (UINT64_MAX, UINT64_MAX, false, 100);
    tap_ok (s_round_trip (&rec), "round trip: hlc and writer 2^64-1");
    rec = s_record (0, 0, false, 0);
    tap_ok (s_round_trip (&rec), "round trip: an empty value, version 0");
    rec.value = NULL;
    tap_ok (s_round_trip (&rec), "round trip: an empty value with a NULL pointer");
    rec = s_record (7ull << 16, 3, true, 0);
    tap_ok (s_round_trip (&rec), "round trip: a tombstone");
    rec = s_record (1ull << 40, 9, false, CHORD_VALUE_MAX);
    tap_ok (s_round_trip (&rec), "round trip: a 1 MiB value (CHORD_VALUE_MAX)");

    rec = s_record (5, 5, false, 0);
    rec.tombstone = true;
    rec.value = s_value;
    rec.value_len = 10;
    size_t size;
    uint8_t *data = s_encode (&rec, &size);
    chord_record_t back;
    tap_ok (size == CHORD_RECORD_HEADER && chord_record_decode (&back, data, size) == 0
                && back.tombstone && back.value_len == 0,
            "a tombstone given a value encodes without it");
    free (data);
}

static void s_test_decode_rejects (void)
{
    chord_record_t rec = s_record (1234, 5678, false, 3);
    chord_record_encode (&rec, s_buf);
    size_t size = chord_record_size (&rec);
    tap_ok (s_decodes (s_buf, size), "decode: control record");

    int all = 1;
    for (size_t len = 0; len < CHORD_RECORD_HEADER; len++)
        if (s_decodes (s_buf, len))
            all = 0;
    chord_record_t out;
    tap_ok (all && chord_record_decode (&out, NULL, 0) != 0,
            "decode rejects every buffer shorter than the header, and NULL, 0");

    const uint8_t formats[] = { 0x00, 0xc0, 0xc2, 0xc1 ^ 0x80, 0xff, CHORD_RECORD_TOMBSTONE };
    all = 1;
    for (size_t i = 0; i < sizeof formats; i++) {
        s_buf[0] = formats[i];
        if (s_decodes (s_buf, size))
            all = 0;
    }
    s_buf[0] = CHORD_RECORD_FORMAT;
    tap_ok (all, "decode rejects format bytes 0x00, 0xc0, 0xc2, 0x41, 0xff, 0x01");

    all = 1;
    for (int bit = 1; bit < 8; bit++) {
        s_buf[1] = (uint8_t) (1u << bit);
        if (s_decodes (s_buf, size))
            all = 0;
        s_buf[1] = (uint8_t) (1u << bit | CHORD_RECORD_TOMBSTONE);
        if (s_decodes (s_buf, CHORD_RECORD_HEADER))
            all = 0;
    }
    s_buf[1] = 0;
    tap_ok (all, "decode rejects each unknown flag bit, with and without the tombstone bit");
    tap_ok (s_decodes (s_buf, size), "decode: control after restoring the header");

    s_buf[1] = CHORD_RECORD_TOMBSTONE;
    tap_ok (s_decodes (s_buf, CHORD_RECORD_HEADER), "decode: a bare tombstone");
    tap_ok (!s_decodes (s_buf, CHORD_RECORD_HEADER + 1), "decode rejects a tombstone with one byte of value");
    tap_ok (!s_decodes (s_buf, size), "decode rejects a tombstone with a value");
    s_buf[1] = 0;

    rec = s_record (1, 1, false, CHORD_VALUE_MAX);
    chord_record_encode (&rec, s_buf);
    s_buf[CHORD_RECORD_HEADER + CHORD_VALUE_MAX] = 0x55;
    tap_ok (s_decodes (s_buf, CHORD_RECORD_HEADER + CHORD_VALUE_MAX),
            "decode: a value of CHORD_VALUE_MAX");
    tap_ok (!s_decodes (s_buf, CHORD_RECORD_HEADER + CHORD_VALUE_MAX + 1),
            "decode rejects a value of CHORD_VALUE_MAX + 1");
    tap_ok (CHORD_RECORD_HEADER + CHORD_VALUE_MAX <= CHORD_ITEM_VALUE_MAX,
            "the largest record fits in an item value");
}

/* ---------------------------------------------------------------------- */
/* Versions and the clock. */

static void s_test_versions (void)
{
    chord_version_t older = { 100, UINT64_MAX }, newer = { 101, 0 };
    tap_ok (chord_version_compare (&older, &newer) < 0
                && chord_version_compare (&newer, &older) > 0,
            "compare: hlc first, whatever the writers");
    chord_version_t low = { 500, 1 }, high = { 500, 2 };
    tap_ok (chord_version_compare (&low, &high) < 0 && chord_version_compare (&high, &low) > 0,
            "compare: the writer breaks a tie in hlc");
    chord_version_t same = { 500, 2 };
    tap_ok (chord_version_compare (&high, &same) == 0 && chord_version_compare (&same, &high) == 0
                && chord_version_compare (&high, &high) == 0,
            "compare: equal versions are equal");
    chord_version_t top = { UINT64_MAX, UINT64_MAX }, bottom = { 0, 0 };
    tap_ok (chord_version_compare (&bottom, &top) < 0 && chord_version_compare (&top, &bottom) > 0,
            "compare: unsigned, 0 below 2^64-1");

    int consistent = 1;
    for (int n = 0; n < 10000; n++) {
        chord_version_t a = { s_rand () % 4, s_rand () % 4 }, b = { s_rand () % 4, s_rand () % 4 };
        int ab = chord_version_compare (&a, &b), ba = chord_version_compare (&b, &a);
        int expect = a.hlc != b.hlc ? (a.hlc < b.hlc ? -1 : 1)
                     : a.writer != b.writer ? (a.writer < b.writer ? -1 : 1) : 0;
        if ((ab > 0) - (ab < 0) != expect || (ba > 0) - (ba < 0) != -expect)
            consistent = 0;
    }
    tap_ok (consistent, "compare: 10,000 random pairs are lexicographic and antisymmetric");

    chord_id_t id;
    for (unsigned i = 0; i < CHORD_ID_BYTES; i++)
        id.bytes[i] = (uint8_t) (0x10 + i);
    tap_ok (chord_version_writer (&id) == 0x1011121314151617ull,
            "writer: the id's first 8 bytes, big-endian");
}

static void s_test_hlc (void)
{
    uint64_t last = 0;
    uint64_t first = chord_hlc_next (&last, 1000);
    tap_ok (first == 1000ull << 16 && last == first && chord_hlc_ms (first) == 1000,
            "next: wall time in the high bits (ms << 16), counter 0");
    uint64_t same = chord_hlc_next (&last, 1000);
    tap_ok (same == first + 1 && chord_hlc_ms (same) == 1000,
            "next: the same ms counts up by one");
    uint64_t back = chord_hlc_next (&last, 400);
    tap_ok (back == same + 1, "next: wall time going back still counts up");
    uint64_t zero = chord_hlc_next (&last, 0);
    tap_ok (zero == back + 1, "next: wall time 0 still counts up");
    uint64_t forward = chord_hlc_next (&last, 1001);
    tap_ok (forward == 1001ull << 16, "next: follows wall time forward, counter reset");

    int increasing = 1;
    uint64_t prev = forward;
    for (int i = 0; i < 70000; i++) {     /* more than 2^16 writes in one ms */
        uint64_t hlc = chord_hlc_next (&last, 1001);
        if (hlc <= prev)
            increasing = 0;
        prev = hlc;
    }
    tap_ok (increasing && chord_hlc_ms (prev) == 1002,
            "next: 70,000 writes in one ms stay increasing (the counter carries into ms)");

    last = 0;
    prev = 0;
    increasing = 1;
    uint64_t wall = 1700000000000ull, wall_max = 0;
    for (int i = 0; i < 100000; i++) {
        wall += (uint64_t) (s_rand () % 7) - 3;     /* jitter: back, still or forward */
        if (wall > wall_max)
            wall_max = wall;
        uint64_t hlc = chord_hlc_next (&last, wall);
        if (hlc <= prev || chord_hlc_ms (hlc) < wall)
            increasing = 0;
        prev = hlc;
    }
    tap_ok (increasing, "next: 100,000 writes under a jittering clock: increasing, never behind it");
    tap_ok (chord_hlc_ms (prev) <= wall_max + 100000 / 65536 + 1,
            "next: and never further ahead of the clock than its counter carried");

    last = 1000ull << 16;
    uint64_t seen = (5000ull << 16) + 7;
    chord_hlc_observe (&last, seen);
    uint64_t after = chord_hlc_next (&last, 1000);
    tap_ok (last == after && after > seen && after == seen + 1,
            "observe then next: orders after what was observed");
    chord_hlc_observe (&last, 3);
    tap_ok (last == after, "observe: an older hlc changes nothing");
    uint64_t later = chord_hlc_next (&last, 6000);
    tap_ok (later == 6000ull << 16, "observe then next: wall time past it wins again");
}

/* ---------------------------------------------------------------------- */
/* put_if_newer. */

/* True when the store holds exactly size bytes of data at key. */
static int s_holds (chord_store_t *store, const char *key, const uint8_t *data, size_t size)
{
    const uint8_t *value;
    size_t value_len;
    return chord_store_get (store, (const uint8_t *) key, strlen (key), &value, &value_len) == 0
           && s_bytes_eq (value, value_len, data, size);
}

static int s_put (chord_store_t *store, const char *key, const uint8_t *data, size_t size)
{
    return chord_record_put_if_newer (store, (const uint8_t *) key, strlen (key), data, size);
}

static void s_test_put_if_newer (void)
{
    chord_store_t *store = chord_store_mem_new ();
    if (!tap_ok (store != NULL, "mem_new"))
        return;
    const char *key = "k";
    size_t old_size, new_size, twin_size, dead_size, stale_size;
    chord_record_t rec = s_record (10ull << 16, 2, false, 30);
    uint8_t *old_rec = s_encode (&rec, &old_size);
    rec = s_record (10ull << 16, 3, false, 40);     /* same hlc, higher writer */
    uint8_t *new_rec = s_encode (&rec, &new_size);
    rec = s_record (10ull << 16, 3, false, 7);      /* new_rec's version, another value */
    uint8_t *twin = s_encode (&rec, &twin_size);
    rec = s_record (11ull << 16, 1, true, 0);
    uint8_t *dead = s_encode (&rec, &dead_size);
    rec = s_record (9ull << 16, 9, false, 1);
    uint8_t *stale = s_encode (&rec, &stale_size);

    chord_record_t got;
    tap_ok (chord_record_get (store, (const uint8_t *) key, 1, &got) == 1,
            "get: absent key is 1");
    tap_ok (s_put (store, key, old_rec, old_size) == 1 && s_holds (store, key, old_rec, old_size),
            "put_if_newer: stores into an empty store");
    tap_ok (chord_record_get (store, (const uint8_t *) key, 1, &got) == 0
                && got.version.hlc == 10ull << 16 && got.version.writer == 2
                && !got.tombstone && s_bytes_eq (got.value, got.value_len, s_value, 30),
            "get: the stored record");
    tap_ok (s_put (store, key, new_rec, new_size) == 1 && s_holds (store, key, new_rec, new_size),
            "put_if_newer: a newer version replaces an older one");
    tap_ok (s_put (store, key, old_rec, old_size) == 0 && s_holds (store, key, new_rec, new_size),
            "put_if_newer: an older version arriving later is refused (0)");
    tap_ok (s_put (store, key, new_rec, new_size) == 0 && s_holds (store, key, new_rec, new_size),
            "put_if_newer: the same record again is a no-op (0)");
    tap_ok (s_put (store, key, twin, twin_size) == 0 && s_holds (store, key, new_rec, new_size),
            "put_if_newer: an equal version with another value is a no-op (0)");

    chord_store_t *other = chord_store_mem_new ();
    tap_ok (other && s_put (other, key, new_rec, new_size) == 1
                && s_put (other, key, old_rec, old_size) == 0
                && s_holds (other, key, new_rec, new_size),
            "put_if_newer: newer first, then older: the newer stays");
    chord_store_destroy (&other);

    tap_ok (s_put (store, key, dead, dead_size) == 1 && s_holds (store, key, dead, dead_size),
            "put_if_newer: a newer tombstone replaces a value");
    tap_ok (chord_record_get (store, (const uint8_t *) key, 1, &got) == 0 && got.tombstone
                && got.value_len == 0,
            "get: the tombstone");
    tap_ok (s_put (store, key, new_rec, new_size) == 0 && s_put (store, key, stale, stale_size) == 0
                && s_holds (store, key, dead, dead_size),
            "put_if_newer: older values do not bring a deleted key back");

    /* Garbage in: -1, and the store unchanged. */
    size_t count = chord_store_count (store);
    uint8_t bad[CHORD_RECORD_HEADER + 4];
    memcpy (bad, new_rec, sizeof bad);
    bad[0] = 0xc0;
    int refused = s_put (store, key, bad, sizeof bad) == -1;
    memcpy (bad, new_rec, sizeof bad);
    bad[1] = 0x80;
    refused &= s_put (store, key, bad, sizeof bad) == -1;
    bad[1] = CHORD_RECORD_TOMBSTONE;
    refused &= s_put (store, key, bad, sizeof bad) == -1;
    refused &= s_put (store, key, new_rec, CHORD_RECORD_HEADER - 1) == -1;
    refused &= s_put (store, key, NULL, 0) == -1;
    refused &= s_put (store, "fresh", bad, sizeof bad) == -1;
    tap_ok (refused && chord_store_count (store) == count && s_holds (store, key, dead, dead_size),
            "put_if_newer: garbage returns -1 and changes nothing (nor adds a key)");

    /* A stored value that is not a record is replaced by any record. */
    const char *plain = "not a record";
    chord_store_put (store, (const uint8_t *) "p", 1, (const uint8_t *) plain, strlen (plain));
    tap_ok (chord_record_get (store, (const uint8_t *) "p", 1, &got) == -1,
            "get: a stored non-record is -1");
    tap_ok (s_put (store, "p", stale, stale_size) == 1 && s_holds (store, "p", stale, stale_size),
            "put_if_newer: a stored non-record value is replaced");
    chord_store_put (store, (const uint8_t *) "e", 1, (const uint8_t *) "", 0);
    tap_ok (s_put (store, "e", stale, stale_size) == 1 && s_holds (store, "e", stale, stale_size),
            "put_if_newer: a stored empty (non-record) value is replaced");

    rec = s_record (20ull << 16, 1, false, CHORD_VALUE_MAX);
    size_t big_size;
    uint8_t *big = s_encode (&rec, &big_size);
    tap_ok (s_put (store, key, big, big_size) == 1 && s_holds (store, key, big, big_size),
            "put_if_newer: a 1 MiB value replaces a tombstone");
    free (big);

    free (old_rec);
    free (new_rec);
    free (twin);
    free (dead);
    free (stale);
    chord_store_destroy (&store);
    tap_ok (store == NULL, "destroy");
}

/* ---------------------------------------------------------------------- */
/* The property: order of arrival does not matter. */

enum { S_SEQUENCES = 1000, S_PUTS_MAX = 12 };

/*  The record for a version: its kind and value follow from the version,
    as they do in a real cluster, where one version is one write.  */
static uint8_t *s_write (chord_version_t version, size_t *size)
{
    uint64_t mix = version.hlc * 0x9e3779b97f4a7c15ull ^ version.writer * 0xc2b2ae3d27d4eb4full;
    bool tombstone = mix % 5 == 0;
    chord_record_t rec = s_record (version.hlc, version.writer, tombstone,
                                   (size_t) (mix >> 8) % 64);
    rec.value = s_value + (mix >> 20) % 1024;
    return s_encode (&rec, size);
}

static void s_test_order_free (void)
{
    tap_diag ("property test seed 0x%" PRIx64, (uint64_t) S_SEED);
    chord_store_t *a = chord_store_mem_new ();
    chord_store_t *b = chord_store_mem_new ();
    if (!tap_ok (a && b, "two stores for the property test")) {
        chord_store_destroy (&a);
        chord_store_destroy (&b);
        return;
    }
    uint8_t *writes[S_PUTS_MAX];
    size_t sizes[S_PUTS_MAX];
    size_t order[S_PUTS_MAX];
    int same = 1, newest = 1, errors = 0;
    for (int seq = 0; seq < S_SEQUENCES; seq++) {
        char key[16];
        snprintf (key, sizeof key, "key-%d", seq);
        size_t puts = 1 + (size_t) (s_rand () % S_PUTS_MAX);
        chord_version_t best = { 0, 0 };
        size_t best_at = 0;
        for (size_t i = 0; i < puts; i++) {
            /* Narrow ranges, so equal hlcs and equal versions are common. */
            chord_version_t version = { (1700000000000ull << 16) + s_rand () % 6,
                                        s_rand () % 3 };
            writes[i] = s_write (version, &sizes[i]);
            if (i == 0 || chord_version_compare (&version, &best) > 0) {
                best = version;
                best_at = i;
            }
            order[i] = i;
        }
        for (size_t i = puts - 1; i > 0; i--) {     /* Fisher-Yates */
            size_t j = (size_t) (s_rand () % (i + 1));
            size_t swap = order[i];
            order[i] = order[j];
            order[j] = swap;
        }
        for (size_t i = 0; i < puts; i++) {
            if (s_put (a, key, writes[i], sizes[i]) < 0)
                errors++;
            if (s_put (b, key, writes[order[i]], sizes[order[i]]) < 0)
                errors++;
        }
        const uint8_t *va, *vb;
        size_t la, lb;
        if (chord_store_get (a, (const uint8_t *) key, strlen (key), &va, &la) != 0
            || chord_store_get (b, (const uint8_t *) key, strlen (key), &vb, &lb) != 0
            || !s_bytes_eq (va, la, vb, lb)) {
            if (same)
                tap_diag ("sequence %d: the stores differ", seq);
            same = 0;
        } else if (!s_bytes_eq (va, la, writes[best_at], sizes[best_at])) {
            if (newest)
                tap_diag ("sequence %d: the stores hold not the newest write", seq);
            newest = 0;
        }
        for (size_t i = 0; i < puts; i++)
            free (writes[i]);
    }
    tap_ok (errors == 0, "property: no put_if_newer failed");
    tap_ok (same && chord_store_count (a) == S_SEQUENCES && chord_store_count (b) == S_SEQUENCES,
            "property: %d sequences of puts in two orders leave both stores the same",
            S_SEQUENCES);
    tap_ok (newest, "property: and what both hold is the newest write");
    chord_store_destroy (&a);
    chord_store_destroy (&b);
}

int main (void)
{
    s_data_init ();
    s_test_encoding ();
    s_test_decode_rejects ();
    s_test_versions ();
    s_test_hlc ();
    s_test_put_if_newer ();
    s_test_order_free ();
    return tap_done ();
}
