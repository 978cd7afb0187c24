/*  Tests of the in-memory store (protocol/store_mem) through the
    chord_store interface: the same calls the node makes. The checks every
    backend must pass are in tests/store_cases.h; this file runs them with
    100,000 keys in the bulk test, enough to make the table grow many times
    and to exercise its backward-shifting deletes.  */
#include <stdint.h>

#include "id.h"
#include "store.h"
#include "store_cases.h"
#include "tap.h"

#define S_BACKEND   "mem"       //  names the assertions
#define S_MANY_KEYS 100000      //  keys in the bulk test

static void
s_test_basics (void)
{
    chord_store_t *store = chord_store_mem_new ();
    if (!tap_ok (store != NULL, "mem_new"))
        return;
    store_cases_basics (store, S_BACKEND);
    store_cases_destroy (&store, S_BACKEND, "a store");
}

static void
s_test_many (void)
{
    chord_store_t *store = chord_store_mem_new ();
    if (!tap_ok (store != NULL, "mem_new for the bulk test"))
        return;
    store_cases_bulk_fill (store, S_BACKEND, S_MANY_KEYS);
    store_cases_bulk_check (store, S_BACKEND, S_MANY_KEYS);
    store_cases_destroy (&store, S_BACKEND, "a full store");
}

static void
s_test_empty_range (void)
{
    chord_store_t *store = chord_store_mem_new ();
    if (!tap_ok (store != NULL, "mem_new for the empty range"))
        return;
    store_cases_empty_range (store, S_BACKEND);
    chord_store_destroy (&store);
}

/* Batches are no-ops here: everything behaves as outside one. */
static void
s_test_batch (void)
{
    chord_store_t *store = chord_store_mem_new ();
    if (!tap_ok (store != NULL, "mem_new for a batch"))
        return;
    store_cases_batch (store, S_BACKEND);
    tap_ok (chord_store_begin (store) == 0 && chord_store_put (store, (const uint8_t *) "open", 4,
                                                               (const uint8_t *) "x", 1) == 0,
            "%s: a batch left open at destroy", S_BACKEND);
    store_cases_destroy (&store, S_BACKEND, "a store in a batch");
}

int
main (void)
{
    s_test_basics ();
    s_test_many ();
    s_test_empty_range ();
    s_test_batch ();
    return tap_done ();
}
