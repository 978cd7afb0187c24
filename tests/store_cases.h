/*  The checks every chord_store backend must pass, through the interface
    alone: included by tests/test_store.c (memory) and
    tests/test_store_lmdb.c (LMDB), which add their backends' own checks.

    Each test file opens its stores and calls the cases in turn; a durable
    backend closes and reopens its store between them, which is why they
    come in steps rather than as one call:

        store_cases_empty_range   on an empty store
        store_cases_basics        on an empty store; leaves the entries
                                  store_cases_basics_kept checks
        store_cases_bulk_fill     on an empty store: many_keys generated
                                  keys, every third deleted, some rewritten
        store_cases_bulk_check    on what bulk_fill left: read back, ranges
                                  against brute force, visitor stop
        store_cases_batch         on an empty store: the basics inside a
                                  batch, then commit; leaves what
                                  store_cases_basics_kept checks
        store_cases_destroy       destroy, twice

    Every assertion goes through tap_ok, named with the backend.  */
#ifndef CHORD_STORE_CASES_H
#define CHORD_STORE_CASES_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "id.h"
#include "store.h"
#include "tap.h"

#define STORE_CASES_KEY_MAX 32     //  bytes of a generated key or value
#define STORE_CASES_BASICS_COUNT 9 //  entries store_cases_basics leaves

typedef struct {
    size_t visited;         //  entries the visitor saw
    size_t bad;             //  entries that broke the visitor's checks
    const chord_id_t *from; //  interval the entries must lie in
    const chord_id_t *to;   //  its inclusive end
    size_t stop_after;      //  return stop_code after this many; 0 never
    int stop_code;          //  what to return to stop
} store_cases_visit_t;

//  The binary keys of the basics: NULs inside, keys differing only after a
//  NUL, a key that is a prefix of another, and a binary value.
static const uint8_t store_cases_k1[] = {'a', 0, 'b'};
static const uint8_t store_cases_k2[] = {'a', 0, 'c'};
static const uint8_t store_cases_k3[] = {'a'};
static const uint8_t store_cases_k4[] = {'a', 0};
static const uint8_t store_cases_k5[] = {0, 0, 0, 0, 0, 0, 0, 0, 0};
static const uint8_t store_cases_k6[] = {0, 0, 0, 0, 0, 0, 0, 0};
static const uint8_t store_cases_v_bin[] = {0, 0xff, 0, 0x80};

//  Generated key number i ("key-i") into out; returns its length.
static size_t store_cases_key (char out[STORE_CASES_KEY_MAX], size_t i)
{
    return (size_t) snprintf (out, STORE_CASES_KEY_MAX, "key-%zu", i);
}

//  The value generated key number i carries.
static size_t store_cases_value (char out[STORE_CASES_KEY_MAX], size_t i)
{
    return (size_t) snprintf (out, STORE_CASES_KEY_MAX, "value-%zu", i * 7919);
}

//  Checks one entry: its id is the hash of its key and lies in the interval,
//  and a generated key carries its generated value.
static int store_cases_visit (void *arg, const chord_id_t *key_id, const uint8_t *key, size_t key_len,
                              const uint8_t *value, size_t value_len)
{
    store_cases_visit_t *state = arg;
    state->visited++;
    chord_id_t id;
    chord_id_hash (&id, key, key_len);
    if (!chord_id_equal (&id, key_id) || !chord_id_in_half_open (key_id, state->from, state->to))
        state->bad++;
    size_t i;
    char expected[STORE_CASES_KEY_MAX];
    char text[STORE_CASES_KEY_MAX] = "";
    if (key_len < sizeof text)
        memcpy (text, key, key_len);
    if (sscanf (text, "key-%zu", &i) == 1) {
        size_t expected_len = store_cases_value (expected, i);
        if (value_len != expected_len || memcmp (value, expected, value_len) != 0)
            state->bad++;
    }
    if (state->stop_after && state->visited == state->stop_after)
        return state->stop_code;
    return 0;
}

//  True when key is present with exactly value; says what differs when not.
static bool store_cases_get_is (chord_store_t *store, const void *key, size_t key_len, const void *value,
                                size_t value_len)
{
    const uint8_t *got = NULL;
    size_t got_len = SIZE_MAX;
    int rc = chord_store_get (store, key, key_len, &got, &got_len);
    if (rc != 0) {
        tap_diag ("get returned %d", rc);
        return false;
    }
    if (got_len != value_len || (value_len && memcmp (got, value, value_len) != 0)) {
        tap_diag ("value of %zu bytes, expected %zu", got_len, value_len);
        return false;
    }
    return true;
}

//  True when get says key is absent (1).
static bool store_cases_absent (chord_store_t *store, const void *key, size_t key_len)
{
    const uint8_t *got = NULL;
    size_t got_len = 0;
    return chord_store_get (store, key, key_len, &got, &got_len) == 1;
}

//  Visits (from, to] with store_cases_visit, from a fresh *state that
//  never stops the walk.
static int store_cases_range (chord_store_t *store, const chord_id_t *from, const chord_id_t *to,
                              store_cases_visit_t *state)
{
    *state = (store_cases_visit_t){.from = from, .to = to};
    return chord_store_range (store, from, to, store_cases_visit, state);
}

//  Ranges over an empty store visit nothing, whole ring or not.
static void store_cases_empty_range (chord_store_t *store, const char *backend)
{
    chord_id_t a, b;
    chord_id_hash (&a, "x", 1);
    chord_id_hash (&b, "y", 1);
    store_cases_visit_t state = {0};
    size_t visited = 0;
    int rc = store_cases_range (store, &a, &a, &state);
    visited += state.visited;
    rc |= store_cases_range (store, &a, &b, &state);
    visited += state.visited;
    rc |= store_cases_range (store, &b, &a, &state);
    visited += state.visited;
    tap_ok (rc == 0 && visited == 0, "%s: range over an empty store visits nothing", backend);
}

//  True when the store holds just what store_cases_basics leaves.
static bool store_cases_basics_kept (chord_store_t *store)
{
    return chord_store_count (store) == STORE_CASES_BASICS_COUNT &&
           store_cases_get_is (store, "alpha", 5, "2", 1) &&
           store_cases_get_is (store, store_cases_k1, sizeof store_cases_k1, "again", 5) &&
           store_cases_get_is (store, store_cases_k2, sizeof store_cases_k2, "k2", 2) &&
           store_cases_get_is (store, store_cases_k3, sizeof store_cases_k3, "k3", 2) &&
           store_cases_get_is (store, store_cases_k4, sizeof store_cases_k4, "k4", 2) &&
           store_cases_get_is (store, store_cases_k5, sizeof store_cases_k5, store_cases_v_bin,
                               sizeof store_cases_v_bin) &&
           store_cases_get_is (store, store_cases_k6, sizeof store_cases_k6, "k6", 2) &&
           store_cases_get_is (store, "empty", 5, "", 0) && store_cases_get_is (store, "", 0, "nokey", 5) &&
           store_cases_absent (store, "alph", 4);
}

//  Put, get, overwrite, del and count on an empty store, with binary keys,
//  empty values, the empty key and sizes no store can hold.
static void store_cases_basics (chord_store_t *store, const char *backend)
{
    const uint8_t *k1 = store_cases_k1, *k2 = store_cases_k2, *k3 = store_cases_k3, *k4 = store_cases_k4,
                  *k5 = store_cases_k5, *k6 = store_cases_k6, *v_bin = store_cases_v_bin;
    const size_t k1_len = sizeof store_cases_k1, k2_len = sizeof store_cases_k2,
                 k3_len = sizeof store_cases_k3, k4_len = sizeof store_cases_k4,
                 k5_len = sizeof store_cases_k5, k6_len = sizeof store_cases_k6,
                 v_bin_len = sizeof store_cases_v_bin;

    tap_ok (chord_store_count (store) == 0, "%s: new store is empty", backend);
    tap_ok (store_cases_absent (store, "alpha", 5), "%s: get of an absent key returns 1", backend);
    tap_ok (chord_store_del (store, (const uint8_t *) "alpha", 5) == 1, "%s: del of an absent key returns 1",
            backend);

    char value[] = "one";
    tap_ok (chord_store_put (store, (const uint8_t *) "alpha", 5, (const uint8_t *) value, 3) == 0, "%s: put",
            backend);
    value[0] = 'X'; //  the store must have kept its own copy
    tap_ok (store_cases_get_is (store, "alpha", 5, "one", 3), "%s: get returns a copy of the value", backend);
    tap_ok (chord_store_count (store) == 1, "%s: count 1 after put", backend);
    tap_ok (store_cases_absent (store, "alph", 4) && store_cases_absent (store, "alphab", 6),
            "%s: prefix and extension of a key are other keys", backend);

    tap_ok (chord_store_put (store, (const uint8_t *) "alpha", 5, (const uint8_t *) "a much longer value",
                             19) == 0,
            "%s: overwrite", backend);
    tap_ok (store_cases_get_is (store, "alpha", 5, "a much longer value", 19), "%s: get sees the new value",
            backend);
    tap_ok (chord_store_count (store) == 1, "%s: overwrite keeps count 1", backend);
    tap_ok (chord_store_put (store, (const uint8_t *) "alpha", 5, (const uint8_t *) "2", 1) == 0 &&
                store_cases_get_is (store, "alpha", 5, "2", 1),
            "%s: overwrite with a shorter value", backend);

    int rc = chord_store_put (store, k1, k1_len, (const uint8_t *) "k1", 2) |
             chord_store_put (store, k2, k2_len, (const uint8_t *) "k2", 2) |
             chord_store_put (store, k3, k3_len, (const uint8_t *) "k3", 2) |
             chord_store_put (store, k4, k4_len, (const uint8_t *) "k4", 2) |
             chord_store_put (store, k5, k5_len, v_bin, v_bin_len) |
             chord_store_put (store, k6, k6_len, (const uint8_t *) "k6", 2);
    tap_ok (rc == 0, "%s: put binary keys", backend);
    tap_ok (chord_store_count (store) == 7, "%s: binary keys are all distinct (count 7)", backend);
    tap_ok (store_cases_get_is (store, k1, k1_len, "k1", 2) &&
                store_cases_get_is (store, k2, k2_len, "k2", 2) &&
                store_cases_get_is (store, k3, k3_len, "k3", 2) &&
                store_cases_get_is (store, k4, k4_len, "k4", 2) &&
                store_cases_get_is (store, k6, k6_len, "k6", 2),
            "%s: binary keys read back", backend);
    tap_ok (store_cases_get_is (store, k5, k5_len, v_bin, v_bin_len), "%s: binary value with NULs reads back",
            backend);

    //  Empty value, then empty key.
    tap_ok (chord_store_put (store, (const uint8_t *) "empty", 5, NULL, 0) == 0, "%s: put an empty value",
            backend);
    tap_ok (store_cases_get_is (store, "empty", 5, "", 0), "%s: get an empty value: present, 0 bytes",
            backend);
    tap_ok (chord_store_put (store, (const uint8_t *) "", 0, (const uint8_t *) "nokey", 5) == 0 &&
                store_cases_get_is (store, "", 0, "nokey", 5),
            "%s: the empty key is a key", backend);
    tap_ok (chord_store_count (store) == 9, "%s: count 9", backend);

    tap_ok (chord_store_del (store, k1, k1_len) == 0, "%s: del a binary key", backend);
    tap_ok (store_cases_absent (store, k1, k1_len), "%s: deleted key is gone", backend);
    tap_ok (store_cases_get_is (store, k2, k2_len, "k2", 2), "%s: its neighbour stays", backend);
    tap_ok (chord_store_del (store, k1, k1_len) == 1, "%s: second del returns 1", backend);
    tap_ok (chord_store_count (store) == 8, "%s: count 8 after del", backend);
    tap_ok (chord_store_put (store, k1, k1_len, (const uint8_t *) "again", 5) == 0 &&
                store_cases_get_is (store, k1, k1_len, "again", 5),
            "%s: a deleted key can be put again", backend);

    //  Sizes that overflow, or that no record can hold, are refused, not
    //  allocated or crashed on: the store must reject them before touching
    //  the bytes.
    tap_ok (chord_store_put (store, k1, SIZE_MAX / 2, v_bin, SIZE_MAX / 2 + 2) == -1,
            "%s: put with overflowing sizes returns -1", backend);
    tap_ok (chord_store_put (store, k1, k1_len, v_bin, SIZE_MAX - 4) == -1,
            "%s: put with a value too large for a record returns -1", backend);
    tap_ok (chord_store_count (store) == 9 && store_cases_get_is (store, k1, k1_len, "again", 5),
            "%s: failed put leaves the store as it was", backend);

    //  get's pointer stays valid across other gets, a range and a count.
    const uint8_t *held = NULL;
    size_t held_len = 0;
    chord_id_t a;
    chord_id_hash (&a, "a", 1);
    store_cases_visit_t state = {0};
    rc = chord_store_get (store, (const uint8_t *) "alpha", 5, &held, &held_len);
    bool others = store_cases_get_is (store, k2, k2_len, "k2", 2) &&
                  store_cases_range (store, &a, &a, &state) == 0 && state.visited == 9 && state.bad == 0 &&
                  chord_store_count (store) == 9;
    tap_ok (rc == 0 && others && held_len == 1 && held[0] == '2', "%s: get's value stays put across reads",
            backend);
    tap_ok (store_cases_basics_kept (store), "%s: the store holds the %d entries the basics leave", backend,
            STORE_CASES_BASICS_COUNT);
}

//  Fills an empty store with many_keys generated keys, deletes every third
//  (i % 3 == 0) and rewrites some of the rest with their same values.
static void store_cases_bulk_fill (chord_store_t *store, const char *backend, size_t many_keys)
{
    char key[STORE_CASES_KEY_MAX], value[STORE_CASES_KEY_MAX];
    size_t failed = 0;
    for (size_t i = 0; i < many_keys; i++) {
        size_t key_len = store_cases_key (key, i), value_len = store_cases_value (value, i);
        if (chord_store_put (store, (uint8_t *) key, key_len, (uint8_t *) value, value_len))
            failed++;
    }
    tap_ok (failed == 0, "%s: %zu puts succeed", backend, many_keys);
    tap_ok (chord_store_count (store) == many_keys, "%s: count is %zu", backend, many_keys);

    size_t wrong = 0;
    for (size_t i = 0; i < many_keys; i++) {
        size_t key_len = store_cases_key (key, i), value_len = store_cases_value (value, i);
        if (!store_cases_get_is (store, key, key_len, value, value_len) && ++wrong > 5)
            break;
    }
    tap_ok (wrong == 0, "%s: all %zu keys read back with their values", backend, many_keys);
    size_t next_len = store_cases_key (key, many_keys);
    tap_ok (store_cases_absent (store, key, next_len) && store_cases_absent (store, "key-", 4),
            "%s: keys never put stay absent", backend);

    //  Delete every third key: the rest must stay reachable.
    size_t deleted = 0;
    wrong = 0;
    for (size_t i = 0; i < many_keys; i += 3) {
        if (chord_store_del (store, (uint8_t *) key, store_cases_key (key, i)) != 0)
            wrong++;
        deleted++;
    }
    tap_ok (wrong == 0, "%s: every third key deleted", backend);
    tap_ok (chord_store_count (store) == many_keys - deleted, "%s: count after deletes", backend);

    //  Overwrite some keys with their same values: the entries are new
    //  records, and range must still see each key's own id.
    failed = 0;
    for (size_t i = 1; i < many_keys; i += 99) { //  never a multiple of 3
        size_t key_len = store_cases_key (key, i), value_len = store_cases_value (value, i);
        if (chord_store_put (store, (uint8_t *) key, key_len, (uint8_t *) value, value_len))
            failed++;
    }
    tap_ok (failed == 0 && chord_store_count (store) == many_keys - deleted,
            "%s: overwrites succeed and keep the count", backend);
}

//  Entries store_cases_bulk_fill leaves of many_keys.
static size_t store_cases_bulk_count (size_t many_keys)
{
    return many_keys - (many_keys + 2) / 3;
}

//  Checks what store_cases_bulk_fill left (many_keys > 5): every key, the
//  whole ring, intervals against brute force, exact hits, visitor stops.
static void store_cases_bulk_check (chord_store_t *store, const char *backend, size_t many_keys)
{
    char key[STORE_CASES_KEY_MAX], value[STORE_CASES_KEY_MAX];
    size_t count = store_cases_bulk_count (many_keys);
    size_t wrong = 0;
    for (size_t i = 0; i < many_keys; i++) {
        size_t key_len = store_cases_key (key, i), value_len = store_cases_value (value, i);
        bool ok = i % 3 == 0 ? store_cases_absent (store, key, key_len)
                             : store_cases_get_is (store, key, key_len, value, value_len);
        if (!ok && ++wrong > 5)
            break;
    }
    tap_ok (wrong == 0, "%s: deleted keys absent, the others intact", backend);

    //  Whole ring: from == to visits every entry once.
    chord_id_t a;
    chord_id_hash (&a, "anywhere", 8);
    store_cases_visit_t state = {0};
    int rc = store_cases_range (store, &a, &a, &state);
    tap_ok (rc == 0 && state.visited == count && state.bad == 0,
            "%s: range (a, a] visits all %zu entries (saw %zu, %zu bad)", backend, count, state.visited,
            state.bad);

    //  Interval ends, each against a brute-force count: wrapping, not
    //  wrapping, and ends at 0 and at the top of the ring. The first two
    //  are each other's complement.
    static const char *ends[][2] = {
        {"d000000000000000000000000000000000000000", "3000000000000000000000000000000000000000"},
        {"3000000000000000000000000000000000000000", "d000000000000000000000000000000000000000"},
        {"0000000000000000000000000000000000000000", "8000000000000000000000000000000000000000"},
        {"ffffffffffffffffffffffffffffffffffffffff", "0000000000000000000000000000000000000000"},
        {"8000000000000000000000000000000000000000", "ffffffffffffffffffffffffffffffffffffffff"},
        {"fff0000000000000000000000000000000000000", "0010000000000000000000000000000000000000"},
    };
    size_t visited[sizeof ends / sizeof ends[0]];
    for (size_t e = 0; e < sizeof ends / sizeof ends[0]; e++) {
        chord_id_t from, to;
        chord_id_from_hex (&from, ends[e][0]);
        chord_id_from_hex (&to, ends[e][1]);
        size_t expected = 0;
        for (size_t i = 0; i < many_keys; i++) {
            if (i % 3 == 0)
                continue;
            chord_id_t id;
            chord_id_hash (&id, key, store_cases_key (key, i));
            if (chord_id_in_half_open (&id, &from, &to))
                expected++;
        }
        rc = store_cases_range (store, &from, &to, &state);
        visited[e] = state.visited;
        tap_ok (rc == 0 && state.visited == expected && state.bad == 0 && (e > 0 || expected > 0),
                "%s: range (%.4s.., %.4s..]: %zu visited, %zu expected, %zu bad", backend, ends[e][0],
                ends[e][1], state.visited, expected, state.bad);
    }
    tap_ok (visited[0] + visited[1] == count,
            "%s: range (3000.., d000..] is the complement of (d000.., 3000..]", backend);

    //  An exact hit: (id - 1, id] holds just that key; (id, id + 1] not it;
    //  (id + 1, id] and (id, id] hold everything.
    chord_id_t id, one, before, after;
    chord_id_hash (&id, key, store_cases_key (key, 5));
    chord_id_from_hex (&one, "0000000000000000000000000000000000000001");
    chord_id_distance (&before, &one, &id); //  id - 1
    chord_id_add_pow2 (&after, &id, 0);     //  id + 1
    rc = store_cases_range (store, &before, &id, &state);
    tap_ok (rc == 0 && state.visited == 1 && state.bad == 0, "%s: range (id - 1, id] holds the key", backend);
    rc = store_cases_range (store, &id, &after, &state);
    tap_ok (rc == 0 && state.visited == 0, "%s: range (id, id + 1] does not", backend);
    rc = store_cases_range (store, &after, &id, &state);
    tap_ok (rc == 0 && state.visited == count && state.bad == 0,
            "%s: range (id + 1, id] wraps to all the rest", backend);
    rc = store_cases_range (store, &id, &id, &state);
    tap_ok (rc == 0 && state.visited == count && state.bad == 0,
            "%s: range (id, id] is the whole ring, id included", backend);

    //  The visitor stops the walk and its code comes back.
    state = (store_cases_visit_t){.from = &a, .to = &a, .stop_after = 3, .stop_code = 42};
    rc = chord_store_range (store, &a, &a, store_cases_visit, &state);
    tap_ok (rc == 42 && state.visited == 3, "%s: visitor stop: returns 42 after 3 visits", backend);
    chord_id_t from, to;
    chord_id_from_hex (&from, ends[0][0]);
    chord_id_from_hex (&to, ends[0][1]);
    state = (store_cases_visit_t){.from = &from, .to = &to, .stop_after = 1, .stop_code = 7};
    rc = chord_store_range (store, &from, &to, store_cases_visit, &state);
    tap_ok (rc == 7 && state.visited == 1, "%s: visitor stop in the first segment of a wrapping range",
            backend);
}

//  The basics inside one batch: every check holds there and sees the
//  batch's own writes, a failing put (the overflowing sizes) among them;
//  then commit keeps them all. A backend without batches passes the same
//  way, begin and commit doing nothing. Then an empty batch and one that
//  only reads. (Unused is allowed: test_store_lmdb.c runs it on both
//  backends, test_store.c does not.)
static void store_cases_batch (chord_store_t *store, const char *backend)
{
    tap_ok (chord_store_begin (store) == 0, "%s: begin a batch", backend);
    store_cases_basics (store, backend);
    chord_id_t a;
    chord_id_hash (&a, "a", 1);
    store_cases_visit_t state = {0};
    int rc = store_cases_range (store, &a, &a, &state);
    tap_ok (rc == 0 && state.visited == STORE_CASES_BASICS_COUNT && state.bad == 0,
            "%s: range in the batch visits its %d entries", backend, STORE_CASES_BASICS_COUNT);
    tap_ok (chord_store_commit (store) == 0, "%s: commit the batch", backend);
    tap_ok (store_cases_basics_kept (store), "%s: after commit the store holds the batch's writes", backend);
    tap_ok (chord_store_begin (store) == 0 && chord_store_commit (store) == 0, "%s: an empty batch commits",
            backend);
    tap_ok (chord_store_begin (store) == 0 && store_cases_basics_kept (store) &&
                chord_store_commit (store) == 0,
            "%s: a batch that only reads commits", backend);
}

//  Destroys *store_p (what is a name for the assertions), then again.
static void store_cases_destroy (chord_store_t **store_p, const char *backend, const char *what)
{
    chord_store_destroy (store_p);
    tap_ok (*store_p == NULL, "%s: destroy %s sets the pointer to NULL", backend, what);
    chord_store_destroy (store_p);
    tap_ok (*store_p == NULL, "%s: destroy %s again is harmless", backend, what);
}

#endif
