/*  Tests of the in-memory store (protocol/store_mem) through the
    chord_store interface: the same calls the node makes.  */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "id.h"
#include "store.h"
#include "tap.h"

#define S_MANY_KEYS 100000      //  keys in the bulk test
#define S_KEY_MAX   32          //  bytes of a generated key or value

typedef struct {
    size_t visited;             //  entries the visitor saw
    size_t bad;                 //  entries that broke the visitor's checks
    const chord_id_t *from;     //  interval the entries must lie in
    const chord_id_t *to;       //  its inclusive end
    size_t stop_after;          //  return stop_code after this many; 0 never
    int stop_code;              //  what to return to stop
} s_visit_t;

static size_t
s_key (char *out, size_t i)
{
    return (size_t) snprintf (out, S_KEY_MAX, "key-%zu", i);
}

static size_t
s_value (char *out, size_t i)
{
    return (size_t) snprintf (out, S_KEY_MAX, "value-%zu", i * 7919);
}

//  Checks one entry: its id is the hash of its key and lies in the interval,
//  and a generated key carries its generated value.
static int
s_visit (void *arg, const chord_id_t *key_id, const uint8_t *key, size_t key_len,
         const uint8_t *value, size_t value_len)
{
    s_visit_t *state = arg;
    state->visited++;
    chord_id_t id;
    chord_id_hash (&id, key, key_len);
    if (!chord_id_equal (&id, key_id) || !chord_id_in_half_open (key_id, state->from, state->to))
        state->bad++;
    size_t i;
    char expected [S_KEY_MAX];
    char text [S_KEY_MAX] = "";
    if (key_len < sizeof text)
        memcpy (text, key, key_len);
    if (sscanf (text, "key-%zu", &i) == 1) {
        size_t expected_len = s_value (expected, i);
        if (value_len != expected_len || memcmp (value, expected, value_len) != 0)
            state->bad++;
    }
    if (state->stop_after && state->visited == state->stop_after)
        return state->stop_code;
    return 0;
}

static bool
s_get_is (chord_store_t *store, const void *key, size_t key_len, const void *value, size_t value_len)
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

static bool
s_absent (chord_store_t *store, const void *key, size_t key_len)
{
    const uint8_t *got = NULL;
    size_t got_len = 0;
    return chord_store_get (store, key, key_len, &got, &got_len) == 1;
}

static void
s_test_basics (void)
{
    chord_store_t *store = chord_store_mem_new ();
    if (!tap_ok (store != NULL, "mem_new"))
        return;
    tap_ok (chord_store_count (store) == 0, "new store is empty");
    tap_ok (s_absent (store, "alpha", 5), "get of an absent key returns 1");
    tap_ok (chord_store_del (store, (const uint8_t *) "alpha", 5) == 1, "del of an absent key returns 1");

    char value [] = "one";
    tap_ok (chord_store_put (store, (const uint8_t *) "alpha", 5, (const uint8_t *) value, 3) == 0, "put");
    value [0] = 'X';            //  the store must have kept its own copy
    tap_ok (s_get_is (store, "alpha", 5, "one", 3), "get returns a copy of the value");
    tap_ok (chord_store_count (store) == 1, "count 1 after put");
    tap_ok (s_absent (store, "alph", 4) && s_absent (store, "alphab", 6),
            "prefix and extension of a key are other keys");

    tap_ok (chord_store_put (store, (const uint8_t *) "alpha", 5,
                             (const uint8_t *) "a much longer value", 19) == 0, "overwrite");
    tap_ok (s_get_is (store, "alpha", 5, "a much longer value", 19), "get sees the new value");
    tap_ok (chord_store_count (store) == 1, "overwrite keeps count 1");
    tap_ok (chord_store_put (store, (const uint8_t *) "alpha", 5, (const uint8_t *) "2", 1) == 0
            && s_get_is (store, "alpha", 5, "2", 1), "overwrite with a shorter value");

    //  Binary keys: NULs inside, and keys differing only after a NUL.
    const uint8_t k1 [] = { 'a', 0, 'b' };
    const uint8_t k2 [] = { 'a', 0, 'c' };
    const uint8_t k3 [] = { 'a' };
    const uint8_t k4 [] = { 'a', 0 };
    const uint8_t k5 [] = { 0, 0, 0, 0, 0, 0, 0, 0, 0 };
    const uint8_t k6 [] = { 0, 0, 0, 0, 0, 0, 0, 0 };
    const uint8_t v_bin [] = { 0, 0xff, 0, 0x80 };
    int rc = chord_store_put (store, k1, sizeof k1, (const uint8_t *) "k1", 2)
           | chord_store_put (store, k2, sizeof k2, (const uint8_t *) "k2", 2)
           | chord_store_put (store, k3, sizeof k3, (const uint8_t *) "k3", 2)
           | chord_store_put (store, k4, sizeof k4, (const uint8_t *) "k4", 2)
           | chord_store_put (store, k5, sizeof k5, v_bin, sizeof v_bin)
           | chord_store_put (store, k6, sizeof k6, (const uint8_t *) "k6", 2);
    tap_ok (rc == 0, "put binary keys");
    tap_ok (chord_store_count (store) == 7, "binary keys are all distinct (count 7)");
    tap_ok (s_get_is (store, k1, sizeof k1, "k1", 2) && s_get_is (store, k2, sizeof k2, "k2", 2)
            && s_get_is (store, k3, sizeof k3, "k3", 2) && s_get_is (store, k4, sizeof k4, "k4", 2)
            && s_get_is (store, k6, sizeof k6, "k6", 2),
            "binary keys read back");
    tap_ok (s_get_is (store, k5, sizeof k5, v_bin, sizeof v_bin), "binary value with NULs reads back");

    //  Empty value, then empty key.
    tap_ok (chord_store_put (store, (const uint8_t *) "empty", 5, NULL, 0) == 0, "put an empty value");
    tap_ok (s_get_is (store, "empty", 5, "", 0), "get an empty value: present, 0 bytes");
    tap_ok (chord_store_put (store, (const uint8_t *) "", 0, (const uint8_t *) "nokey", 5) == 0
            && s_get_is (store, "", 0, "nokey", 5), "the empty key is a key");
    tap_ok (chord_store_count (store) == 9, "count 9");

    tap_ok (chord_store_del (store, k1, sizeof k1) == 0, "del a binary key");
    tap_ok (s_absent (store, k1, sizeof k1), "deleted key is gone");
    tap_ok (s_get_is (store, k2, sizeof k2, "k2", 2), "its neighbour stays");
    tap_ok (chord_store_del (store, k1, sizeof k1) == 1, "second del returns 1");
    tap_ok (chord_store_count (store) == 8, "count 8 after del");
    tap_ok (chord_store_put (store, k1, sizeof k1, (const uint8_t *) "again", 5) == 0
            && s_get_is (store, k1, sizeof k1, "again", 5), "a deleted key can be put again");

    //  Sizes that overflow are refused, not allocated or crashed on. The
    //  store must reject them before touching the bytes.
    tap_ok (chord_store_put (store, k1, SIZE_MAX / 2, v_bin, SIZE_MAX / 2 + 2) == -1,
            "put with overflowing sizes returns -1");
    tap_ok (chord_store_count (store) == 9 && s_get_is (store, k1, sizeof k1, "again", 5),
            "failed put leaves the store as it was");

    chord_store_destroy (&store);
    tap_ok (store == NULL, "destroy sets the pointer to NULL");
    chord_store_destroy (&store);
    tap_ok (store == NULL, "destroy again is harmless");
}

static void
s_test_many (void)
{
    chord_store_t *store = chord_store_mem_new ();
    if (!tap_ok (store != NULL, "mem_new for the bulk test"))
        return;
    char key [S_KEY_MAX], value [S_KEY_MAX];
    size_t failed = 0;
    for (size_t i = 0; i < S_MANY_KEYS; i++) {
        size_t key_len = s_key (key, i), value_len = s_value (value, i);
        if (chord_store_put (store, (uint8_t *) key, key_len, (uint8_t *) value, value_len))
            failed++;
    }
    tap_ok (failed == 0, "%d puts succeed", S_MANY_KEYS);
    tap_ok (chord_store_count (store) == S_MANY_KEYS, "count is %d", S_MANY_KEYS);

    size_t wrong = 0;
    for (size_t i = 0; i < S_MANY_KEYS; i++) {
        size_t key_len = s_key (key, i), value_len = s_value (value, i);
        if (!s_get_is (store, key, key_len, value, value_len) && ++wrong > 5)
            break;
    }
    tap_ok (wrong == 0, "all %d keys read back with their values", S_MANY_KEYS);
    tap_ok (s_absent (store, "key-100000", 10) && s_absent (store, "key-", 4),
            "keys never put stay absent");

    //  Delete every third key: backward shifting must keep the rest
    //  reachable.
    size_t deleted = 0;
    wrong = 0;
    for (size_t i = 0; i < S_MANY_KEYS; i += 3) {
        if (chord_store_del (store, (uint8_t *) key, s_key (key, i)) != 0)
            wrong++;
        deleted++;
    }
    tap_ok (wrong == 0, "every third key deleted");
    tap_ok (chord_store_count (store) == S_MANY_KEYS - deleted, "count after deletes");
    wrong = 0;
    for (size_t i = 0; i < S_MANY_KEYS; i++) {
        size_t key_len = s_key (key, i), value_len = s_value (value, i);
        bool ok = i % 3 == 0 ? s_absent (store, key, key_len)
                             : s_get_is (store, key, key_len, value, value_len);
        if (!ok && ++wrong > 5)
            break;
    }
    tap_ok (wrong == 0, "deleted keys absent, the others intact");

    //  Overwrite some keys with their same values: the entries are new
    //  allocations, and range must still see each key's own id.
    failed = 0;
    for (size_t i = 1; i < S_MANY_KEYS; i += 99) {     //  never a multiple of 3
        size_t key_len = s_key (key, i), value_len = s_value (value, i);
        if (chord_store_put (store, (uint8_t *) key, key_len, (uint8_t *) value, value_len))
            failed++;
    }
    tap_ok (failed == 0 && chord_store_count (store) == S_MANY_KEYS - deleted,
            "overwrites succeed and keep the count");

    //  Whole ring: from == to visits every entry once.
    chord_id_t a;
    chord_id_hash (&a, "anywhere", 8);
    s_visit_t state = { .from = &a, .to = &a };
    int rc = chord_store_range (store, &a, &a, s_visit, &state);
    tap_ok (rc == 0 && state.visited == chord_store_count (store) && state.bad == 0,
            "range (a, a] visits all %zu entries (saw %zu, %zu bad)",
            chord_store_count (store), state.visited, state.bad);

    //  A wrap-around interval, against a brute-force count.
    chord_id_t from, to;
    chord_id_from_hex (&from, "d000000000000000000000000000000000000000");
    chord_id_from_hex (&to, "3000000000000000000000000000000000000000");
    size_t expected = 0;
    for (size_t i = 0; i < S_MANY_KEYS; i++) {
        if (i % 3 == 0)
            continue;
        chord_id_t id;
        chord_id_hash (&id, key, s_key (key, i));
        if (chord_id_in_half_open (&id, &from, &to))
            expected++;
    }
    state = (s_visit_t) { .from = &from, .to = &to };
    rc = chord_store_range (store, &from, &to, s_visit, &state);
    tap_ok (rc == 0 && state.visited == expected && state.bad == 0 && expected > 0,
            "range (d0.., 30..] wraps: %zu visited, %zu expected, %zu bad",
            state.visited, expected, state.bad);

    //  The same interval reversed is the complement.
    s_visit_t other = { .from = &to, .to = &from };
    rc = chord_store_range (store, &to, &from, s_visit, &other);
    tap_ok (rc == 0 && other.visited + state.visited == chord_store_count (store) && other.bad == 0,
            "range (30.., d0..] is the complement");

    //  An exact hit: (id - 1, id] holds just that key; (id, id + 1] not it.
    chord_id_t id, one, before, after;
    chord_id_hash (&id, key, s_key (key, 5));
    chord_id_from_hex (&one, "0000000000000000000000000000000000000001");
    chord_id_distance (&before, &one, &id);         //  id - 1
    chord_id_add_pow2 (&after, &id, 0);             //  id + 1
    state = (s_visit_t) { .from = &before, .to = &id };
    rc = chord_store_range (store, &before, &id, s_visit, &state);
    tap_ok (rc == 0 && state.visited == 1 && state.bad == 0, "range (id - 1, id] holds the key");
    state = (s_visit_t) { .from = &id, .to = &after };
    rc = chord_store_range (store, &id, &after, s_visit, &state);
    tap_ok (rc == 0 && state.visited == 0, "range (id, id + 1] does not");

    //  The visitor stops the walk and its code comes back.
    state = (s_visit_t) { .from = &a, .to = &a, .stop_after = 3, .stop_code = 42 };
    rc = chord_store_range (store, &a, &a, s_visit, &state);
    tap_ok (rc == 42 && state.visited == 3, "visitor stop: returns 42 after 3 visits");

    chord_store_destroy (&store);
    tap_ok (store == NULL, "destroy a full store");
}

static void
s_test_empty_range (void)
{
    chord_store_t *store = chord_store_mem_new ();
    if (!tap_ok (store != NULL, "mem_new for the empty range"))
        return;
    chord_id_t a;
    chord_id_hash (&a, "x", 1);
    s_visit_t state = { .from = &a, .to = &a };
    tap_ok (chord_store_range (store, &a, &a, s_visit, &state) == 0 && state.visited == 0,
            "range over an empty store visits nothing");
    chord_store_destroy (&store);
}

int
main (void)
{
    s_test_basics ();
    s_test_many ();
    s_test_empty_range ();
    return tap_done ();
}
